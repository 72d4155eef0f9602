// SPDX-License-Identifier: Apache-2.0
/*
 * apply_record across snapshots and events: what a new complete state keeps
 * from the old model (the recovered agents' tasks and their deadline), what
 * framework events change, through the real parser and rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vipd/apply.h"
#include "vipd/mesos_parse.h"
#include "vipd/named_vip.h"
#include "vipd/rules.h"

static uint64_t now_ms;

static void on_rec(struct mesos_record *rec, void *arg)
{
	apply_record(arg, rec, now_ms, 60000);
}

static void feed(struct model **m, const char *json)
{
	struct mesos_parser *p = mesos_parser_new(on_rec, m);

	assert_non_null(p);
	assert_int_equal(mesos_parser_feed(p, json, strlen(json)), 0);
	assert_int_equal(mesos_parser_finish(p), 0);
	mesos_parser_free(p);
}

#define FRAMEWORKS \
	"\"get_frameworks\":{\"frameworks\":[{\"framework_info\":{\"id\":{\"value\":\"f1\"}," \
	"\"name\":\"marathon\"}}]}"
/* a1 with one VIP task */
#define WITH_TASK \
	"{\"type\":\"GET_STATE\",\"get_state\":{\"get_agents\":{\"agents\":[{\"agent_info\":" \
	"{\"id\":{\"value\":\"a1\"},\"hostname\":\"10.0.0.1\"}}]}," FRAMEWORKS "," \
	"\"get_tasks\":{\"tasks\":[{\"task_id\":{\"value\":\"t1\"},\"framework_id\":" \
	"{\"value\":\"f1\"},\"agent_id\":{\"value\":\"a1\"},\"state\":\"TASK_RUNNING\"," \
	"\"discovery\":{\"ports\":{\"ports\":[{\"number\":31000,\"protocol\":\"tcp\"," \
	"\"labels\":{\"labels\":[{\"key\":\"VIP_0\",\"value\":\"/app:80\"}]}}]}}}]}}}"
/* a new leader that knows a1 only as recovered (what every poll returns
 * until a1 re-registers) */
#define RECOVERED \
	"{\"type\":\"GET_STATE\",\"get_state\":{\"get_agents\":{\"recovered_agents\":[{\"id\":" \
	"{\"value\":\"a1\"},\"hostname\":\"10.0.0.1\"}]}," FRAMEWORKS "}}"

/* Polling (or a reconnected stream) repeats the failover state every few
 * seconds: the grace counts from the first, not from the latest. */
static void test_grace_spans_snapshots(void **state)
{
	struct model *m = model_new();

	(void)state;
	assert_non_null(m);
	now_ms = 1000;
	feed(&m, WITH_TASK);
	feed(&m, RECOVERED);
	assert_int_equal(m->tasks.n, 1);
	for (now_ms = 3000; now_ms <= 59000; now_ms += 2000) {
		feed(&m, RECOVERED);
		assert_int_equal(model_expire_carried(m, now_ms), 0);
		assert_int_equal(m->tasks.n, 1);
	}
	now_ms = 61001;
	feed(&m, RECOVERED);
	assert_int_equal(model_expire_carried(m, now_ms), 1);
	assert_int_equal(m->tasks.n, 0);
	/* and the next snapshot does not bring it back */
	feed(&m, RECOVERED);
	assert_int_equal(m->tasks.n, 0);
	model_free(m);
}

/* Whether the table of m has a VIP named `name`. */
static int has_name(struct model *m, const char *name)
{
	struct vip_table *t = rules_build(m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);
	char *buf = NULL, want[300];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int found;

	assert_non_null(t);
	vip_table_print_json(t, f);
	fclose(f);
	vip_table_free(t);
	snprintf(want, sizeof(want), "\"name\":\"%s\"", name);
	found = strstr(buf, want) != NULL;
	free(buf);
	return found;
}

#define EV_FW(type, key, id, name) \
	"{\"type\":\"" type "\",\"" key "\":{\"framework\":{\"framework_info\":{\"id\":" \
	"{\"value\":\"" id "\"},\"name\":\"" name "\"}}}}\n"

/* A renamed framework (FRAMEWORK_UPDATED) renames its tasks' named VIPs. */
static void test_framework_updated_renames(void **state)
{
	struct model *m = model_new();

	(void)state;
	now_ms = 1000;
	feed(&m, WITH_TASK);
	assert_true(has_name(m, "app.marathon"));
	feed(&m, EV_FW("FRAMEWORK_UPDATED", "framework_updated", "f1", "marathon-user"));
	assert_false(has_name(m, "app.marathon"));
	assert_true(has_name(m, "app.marathon-user"));
	model_free(m);
}

/* A task of a framework vipd does not know yet is held (its VIP name needs
 * the framework's name) and published once FRAMEWORK_ADDED names it. */
static void test_unknown_framework_held_then_released(void **state)
{
	struct model *m = model_new();
	struct rules_stats st;
	struct vip_table *t;

	(void)state;
	now_ms = 1000;
	feed(&m, WITH_TASK);
	feed(&m, "{\"type\":\"TASK_ADDED\",\"task_added\":{\"task\":{\"task_id\":{\"value\":"
	     "\"t2\"},\"framework_id\":{\"value\":\"f2\"},\"agent_id\":{\"value\":\"a1\"},"
	     "\"state\":\"TASK_RUNNING\",\"discovery\":{\"ports\":{\"ports\":[{\"number\":"
	     "31002,\"protocol\":\"tcp\",\"labels\":{\"labels\":[{\"key\":\"VIP_0\","
	     "\"value\":\"/db:5432\"}]}}]}}}}}\n");
	t = rules_build(m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, &st);
	assert_non_null(t);
	assert_int_equal(st.held, 1);
	vip_table_free(t);
	assert_false(has_name(m, "db.metronome"));
	feed(&m, EV_FW("FRAMEWORK_ADDED", "framework_added", "f2", "metronome"));
	t = rules_build(m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, &st);
	assert_non_null(t);
	assert_int_equal(st.held, 0);
	vip_table_free(t);
	assert_true(has_name(m, "db.metronome"));
	assert_true(has_name(m, "app.marathon"));
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grace_spans_snapshots),
		cmocka_unit_test(test_framework_updated_renames),
		cmocka_unit_test(test_unknown_framework_held_then_released),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
