// SPDX-License-Identifier: Apache-2.0
/*
 * vipd's documented bounds on master input (docs/limits.md), each hit
 * through the real parser, model and rules: JSON nesting depth, VIP ports
 * per task (counted as task_too_many_vips), many labels per port, task IPs.
 * A bound hit never crashes and never lets the table grow past it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/counters.h"
#include "common/log.h"
#include "vipd/apply.h"
#include "vipd/mesos_parse.h"
#include "vipd/named_vip.h"
#include "vipd/rules.h"

struct buf {
	char *s;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = (b->cap + (size_t)n) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	b->len += (size_t)n;
}

static void head(struct buf *b)
{
	b->cap = 4096;
	b->len = 0;
	b->s = malloc(b->cap);
	assert_non_null(b->s);
	put(b, "{\"type\":\"GET_STATE\",\"get_state\":{\"get_agents\":{\"agents\":[{\"agent_info\":"
	       "{\"id\":{\"value\":\"a1\"},\"hostname\":\"10.0.0.1\"}}]},\"get_frameworks\":"
	       "{\"frameworks\":[{\"framework_info\":{\"id\":{\"value\":\"f1\"},\"name\":\"m\"}}]},"
	       "\"get_tasks\":{\"tasks\":[{\"task_id\":{\"value\":\"t1\"},\"framework_id\":"
	       "{\"value\":\"f1\"},\"agent_id\":{\"value\":\"a1\"},\"state\":\"TASK_RUNNING\",");
}

static void tail(struct buf *b)
{
	put(b, "}]}}}");
}

static void on_rec(struct mesos_record *rec, void *arg)
{
	apply_record(arg, rec, 1000, 1000);
}

/* Parses b into a table; returns the feed's result, the table in *out. */
static int table_of(struct buf *b, struct vip_table **out)
{
	struct model *m = model_new();
	struct mesos_parser *p = mesos_parser_new(on_rec, &m);
	int rc = mesos_parser_feed(p, b->s, b->len);

	if (rc == 0)
		rc = mesos_parser_finish(p);
	*out = rules_build(m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);
	assert_non_null(*out);
	mesos_parser_free(p);
	model_free(m);
	free(b->s);
	return rc;
}

static void port(struct buf *b, int i, int nlabels, int vip_at)
{
	put(b, "%s{\"number\":%d,\"protocol\":\"tcp\",\"labels\":{\"labels\":[", i ? "," : "",
	    31000 + i);
	for (int l = 0; l < nlabels; l++)
		put(b, "%s{\"key\":\"%s%d\",\"value\":\"/v%d:80\"}", l ? "," : "",
		    l == vip_at ? "VIP_" : "other", l, i);
	put(b, "]}}");
}

/* 70 VIP ports on one task: 64 (MAX_VIP_PORTS) are used, the rest are
 * counted and dropped. */
static void test_vip_ports_per_task(void **state)
{
	struct buf b;
	struct vip_table *t;
	uint64_t c0 = counter_value("task_too_many_vips");

	(void)state;
	head(&b);
	put(&b, "\"discovery\":{\"ports\":{\"ports\":[");
	for (int i = 0; i < 70; i++)
		port(&b, i, 1, 0);
	put(&b, "]}}");
	tail(&b);
	assert_int_equal(table_of(&b, &t), 0);
	assert_int_equal(t->n, 64);
	assert_true(counter_value("task_too_many_vips") > c0);
	vip_table_free(t);
}

/* Ports with 70 labels each: a VIP label is found wherever it is (port
 * labels are not stored, only VIP ports, bounded per task above). */
static void test_labels_per_port(void **state)
{
	struct buf b;
	struct vip_table *t;

	(void)state;
	head(&b);
	put(&b, "\"discovery\":{\"ports\":{\"ports\":[");
	port(&b, 0, 70, 0);
	port(&b, 1, 70, 69);
	put(&b, "]}}");
	tail(&b);
	assert_int_equal(table_of(&b, &t), 0);
	assert_int_equal(t->n, 2);
	vip_table_free(t);
}

/* 70 VIP labels on one port, 300 port ranges on one task: the rest past
 * MAX_LABELS and MAX_RANGES is dropped and counted, the task still used. */
static void test_labels_and_ranges_counted(void **state)
{
	struct buf b;
	struct vip_table *t;
	uint64_t l0 = counter_value("task_too_many_labels");
	uint64_t r0 = counter_value("task_too_many_ranges");

	(void)state;
	head(&b);
	put(&b, "\"discovery\":{\"ports\":{\"ports\":[{\"number\":31000,\"protocol\":\"tcp\","
		"\"labels\":{\"labels\":[");
	for (int l = 0; l < 70; l++)
		put(&b, "%s{\"key\":\"VIP_%d\",\"value\":\"/l%d:80\"}", l ? "," : "", l, l);
	put(&b, "]}}]}},\"resources\":[{\"name\":\"ports\",\"ranges\":{\"range\":[");
	for (int r = 0; r < 300; r++)
		put(&b, "%s{\"begin\":%d,\"end\":%d}", r ? "," : "", 31000 + r, 31000 + r);
	put(&b, "]}}]");
	tail(&b);
	assert_int_equal(table_of(&b, &t), 0);
	assert_int_equal(t->n, 64); /* MAX_LABELS VIP labels, one VIP each */
	assert_int_equal(counter_value("task_too_many_labels"), l0 + 6);
	assert_int_equal(counter_value("task_too_many_ranges"), r0 + 300 - 256);
	vip_table_free(t);
}

/* More tasks with VIPs in one reply than the parser's bound: the reply is
 * refused as a whole (never a partial table), counted. */
static void test_tasks_per_reply(void **state)
{
	struct buf b;
	struct model *m = model_new();
	struct mesos_parser *p = mesos_parser_new(on_rec, &m);
	uint64_t c0 = counter_value("master_too_many_tasks");
	int rc;

	(void)state;
	head(&b);
	put(&b, "\"discovery\":{\"ports\":{\"ports\":[");
	port(&b, 0, 1, 0);
	put(&b, "]}}");
	for (int i = 2; i <= 3; i++)
		put(&b, "},{\"task_id\":{\"value\":\"t%d\"},\"framework_id\":{\"value\":\"f1\"},"
		       "\"agent_id\":{\"value\":\"a1\"},\"state\":\"TASK_RUNNING\","
		       "\"discovery\":{\"ports\":{\"ports\":[{\"number\":80,\"protocol\":\"tcp\","
		       "\"labels\":{\"labels\":[{\"key\":\"VIP_0\",\"value\":\"/w%d:80\"}]}}]}}",
		    i, i);
	tail(&b);
	mesos_parser_set_max_tasks(p, 2);
	rc = mesos_parser_feed(p, b.s, b.len);
	if (rc == 0)
		rc = mesos_parser_finish(p);
	assert_int_equal(rc, -EBADMSG);
	assert_non_null(strstr(mesos_parser_error(p), "max-tasks"));
	assert_true(counter_value("master_too_many_tasks") == c0 + 1);
	assert_int_equal(mesos_parser_records(p), 0);
	mesos_parser_free(p);

	/* The same reply within the bound applies all three tasks. */
	p = mesos_parser_new(on_rec, &m);
	mesos_parser_set_max_tasks(p, 3);
	assert_int_equal(mesos_parser_feed(p, b.s, b.len), 0);
	assert_int_equal(mesos_parser_finish(p), 0);
	assert_int_equal(mesos_parser_records(p), 1);
	mesos_parser_free(p);
	model_free(m);
	free(b.s);
}

/* 70 docker port mappings on one task: 64 (MAX_MAPS) are kept, the rest
 * counted and dropped; the task's VIP still applies. */
static void test_port_mappings_per_task(void **state)
{
	struct buf b;
	struct vip_table *t;
	uint64_t c0 = counter_value("task_too_many_mappings");

	(void)state;
	head(&b);
	put(&b, "\"container\":{\"type\":\"DOCKER\",\"docker\":{\"network\":\"BRIDGE\","
		"\"port_mappings\":[");
	for (int i = 0; i < 70; i++)
		put(&b, "%s{\"host_port\":%d,\"container_port\":%d,\"protocol\":\"tcp\"}",
		    i ? "," : "", 32000 + i, 8000 + i);
	put(&b, "]}},\"discovery\":{\"ports\":{\"ports\":[");
	port(&b, 0, 1, 0);
	put(&b, "]}}");
	tail(&b);
	assert_int_equal(table_of(&b, &t), 0);
	assert_int_equal(t->n, 1);
	assert_true(counter_value("task_too_many_mappings") > c0);
	vip_table_free(t);
}

/* JSON nested deeper than the parser's stack: refused, nothing applied. */
static void test_nesting_depth(void **state)
{
	struct buf b;
	struct vip_table *t;

	(void)state;
	head(&b);
	put(&b, "\"x\":");
	for (int i = 0; i < 10000; i++)
		put(&b, "[");
	for (int i = 0; i < 10000; i++)
		put(&b, "]");
	put(&b, ",\"discovery\":{\"ports\":{\"ports\":[");
	port(&b, 0, 1, 0);
	put(&b, "]}}");
	tail(&b);
	assert_int_equal(table_of(&b, &t), -EBADMSG);
	assert_int_equal(t->n, 0);
	vip_table_free(t);
}

/* 40 IP addresses in a task status: no crash, the task still has its VIP. */
static void test_task_ips(void **state)
{
	struct buf b;
	struct vip_table *t;
	uint64_t c0 = counter_value("task_too_many_ips");

	(void)state;
	head(&b);
	put(&b, "\"statuses\":[{\"state\":\"TASK_RUNNING\",\"timestamp\":1,\"container_status\":"
		"{\"network_infos\":[{\"ip_addresses\":[");
	for (int i = 0; i < 40; i++)
		put(&b, "%s{\"ip_address\":\"10.9.0.%d\"}", i ? "," : "", i + 1);
	put(&b, "]}]}}],\"discovery\":{\"ports\":{\"ports\":[");
	port(&b, 0, 1, 0);
	put(&b, "]}}");
	tail(&b);
	assert_int_equal(table_of(&b, &t), 0);
	assert_int_equal(t->n, 1);
	assert_true(t->v[0].nb >= 1);
	assert_true(counter_value("task_too_many_ips") > c0);
	vip_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vip_ports_per_task),
		cmocka_unit_test(test_tasks_per_reply),
		cmocka_unit_test(test_port_mappings_per_task),
		cmocka_unit_test(test_labels_per_port),
		cmocka_unit_test(test_labels_and_ranges_counted),
		cmocka_unit_test(test_nesting_depth),
		cmocka_unit_test(test_task_ips),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
