// SPDX-License-Identifier: Apache-2.0
/*
 * The core between master and publisher: the generation only increases on
 * a change, bursts coalesce into one rebuild, nothing is published before a
 * complete master snapshot; the protobuf snapshot round-trips; backoff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/counters.h"
#include "vipd/core.h"
#include "vipd/delta.h"
#include "vipd/named_set.h"
#include "vipd/named_vip.h"
#include "vipd/master.h"
#include "vipd/mesos_parse.h"
#include "vipd/publish.h"
#include "vipd/rules.h"
#include "vipd/strmap.h"

static void feed(struct core *c, const char *text)
{
	struct mesos_parser *p = mesos_parser_new(core_record, c);

	assert_int_equal(mesos_parser_feed(p, text, strlen(text)), 0);
	assert_int_equal(mesos_parser_finish(p), 0);
	mesos_parser_free(p);
}

#define SUB \
	"{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"get_state\":{\"get_agents\":{\"agents\":[{" \
	"\"agent_info\":{\"id\":{\"value\":\"a1\"},\"hostname\":\"10.0.0.1\"}}]},\"get_frameworks\":" \
	"{\"frameworks\":[{\"framework_info\":{\"id\":{\"value\":\"f1\"},\"name\":\"m\"}}]}}}}\n"
#define ADD(id, port) \
	"{\"type\":\"TASK_ADDED\",\"task_added\":{\"task\":{\"task_id\":{\"value\":\"" id "\"}," \
	"\"framework_id\":{\"value\":\"f1\"},\"agent_id\":{\"value\":\"a1\"},\"state\":" \
	"\"TASK_RUNNING\",\"discovery\":{\"ports\":{\"ports\":[{\"number\":" port ",\"protocol\":" \
	"\"tcp\",\"labels\":{\"labels\":[{\"key\":\"VIP_0\",\"value\":\"/a:80\"}]}}]}}}}}\n"
/* A task with its own VIP label. */
#define ADDV(id, port, label) \
	"{\"type\":\"TASK_ADDED\",\"task_added\":{\"task\":{\"task_id\":{\"value\":\"" id "\"}," \
	"\"framework_id\":{\"value\":\"f1\"},\"agent_id\":{\"value\":\"a1\"},\"state\":" \
	"\"TASK_RUNNING\",\"discovery\":{\"ports\":{\"ports\":[{\"number\":" port ",\"protocol\":" \
	"\"tcp\",\"labels\":{\"labels\":[{\"key\":\"VIP_0\",\"value\":\"" label "\"}]}}]}}}}}\n"

static void run_loop(struct event_base *b)
{
	struct timeval tv = { 0, 50000 };

	event_base_loopexit(b, &tv);
	event_base_dispatch(b);
}

static void test_generation_and_coalescing(void **state)
{
	struct event_base *b = event_base_new();
	struct vipd_options o;
	struct core *c;

	(void)state;
	vipd_options_defaults(&o);
	o.nmasters = 1;
	o.masters[0] = "http://127.0.0.1:1";
	c = core_new(b, &o, NULL, NULL);
	assert_non_null(c);
	/* events before any snapshot: fail static, nothing published */
	feed(c, ADD("t0", "1000"));
	run_loop(b);
	assert_int_equal(c->generation, 0);
	assert_null(c->table);
	/* a snapshot and a burst of three events: one publication */
	feed(c, SUB ADD("t1", "1001") ADD("t2", "1002") ADD("t3", "1003"));
	run_loop(b);
	assert_int_equal(c->generation, 1);
	assert_int_equal(vip_table_backends(c->table), 3);
	/* the same task again: no change, no new generation */
	feed(c, ADD("t1", "1001"));
	run_loop(b);
	assert_int_equal(c->generation, 1);
	feed(c, ADD("t4", "1004"));
	run_loop(b);
	assert_int_equal(c->generation, 2);
	assert_int_equal(vip_table_backends(c->table), 4);
	assert_true(c->synced);
	assert_int_equal(c->events, 6); /* t0 too, replaced by the snapshot */
	core_free(c);
	event_base_free(b);
}

/* Leading edge: a change after a quiet window is published on the next
 * loop turn, not after --coalesce; what follows within the window waits for
 * its end, all of it in one publication. */
static void test_coalesce_leading_edge(void **state)
{
	struct event_base *b = event_base_new();
	struct vipd_options o;
	struct core *c;
	struct timeval tick = { 0, 10000 };
	int turns = 0;

	(void)state;
	vipd_options_defaults(&o);
	o.nmasters = 1;
	o.masters[0] = "http://127.0.0.1:1";
	o.coalesce_ms = 1000;
	c = core_new(b, &o, NULL, NULL);
	assert_non_null(c);
	feed(c, SUB ADD("t1", "1001"));
	event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(c->generation, 1);
	/* within the window: held */
	feed(c, ADD("t2", "1002"));
	feed(c, ADD("t3", "1003"));
	event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(c->generation, 1);
	/* at the window's end (10 s at most even on a loaded machine), both */
	while (c->generation == 1 && turns++ < 1000) {
		event_base_loopexit(b, &tick);
		event_base_dispatch(b);
	}
	assert_int_equal(c->generation, 2);
	assert_int_equal(vip_table_backends(c->table), 3);
	core_free(c);
	event_base_free(b);
}

#define UPD(id, st, ts) \
	"{\"type\":\"TASK_UPDATED\",\"task_updated\":{\"framework_id\":{\"value\":\"f1\"}," \
	"\"state\":\"" st "\",\"status\":{\"task_id\":{\"value\":\"" id "\"},\"state\":\"" st \
	"\",\"timestamp\":" ts "}}}\n"

/* The table vipd holds equals a full rebuild of its model. */
static void assert_table_is_full(struct core *c)
{
	struct vip_table *t = rules_build(c->m, c->statics, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);

	assert_non_null(t);
	assert_true(vip_table_equal(c->table, t));
	/* and so do the named VIPs' names and addresses kept with it */
	assert_int_equal(c->table->names->n, t->names->n);
	for (size_t i = 0; i < t->names->n; i++) {
		assert_string_equal(c->table->names->e[i].name, t->names->e[i].name);
		assert_int_equal(c->table->names->e[i].addr4, t->names->e[i].addr4);
		assert_int_equal(c->table->names->e[i].addr6, t->names->e[i].addr6);
	}
	vip_table_free(t);
}

/* TASK_UPDATED and TASK_ADDED patch the table in place, VIPs and names
 * coming and going included. */
static void test_task_updated_patches(void **state)
{
	struct event_base *b = event_base_new();
	struct vipd_options o;
	struct core *c;
	uint64_t patches, fallbacks;

	(void)state;
	vipd_options_defaults(&o);
	o.nmasters = 1;
	o.masters[0] = "http://127.0.0.1:1";
	c = core_new(b, &o, NULL, NULL);
	assert_non_null(c);
	feed(c, SUB ADD("t1", "1001") ADD("t2", "1002"));
	run_loop(b);
	assert_int_equal(c->generation, 1);
	patches = counter_value("table_patches");
	fallbacks = counter_value("table_patch_fallbacks");
	feed(c, UPD("t1", "TASK_KILLING", "5"));
	run_loop(b);
	assert_int_equal(c->generation, 2);
	assert_int_equal(counter_value("table_patches"), patches + 1);
	assert_int_equal(c->table->v[0].b[0].weight, 0);
	assert_int_equal(c->table->v[0].b[1].weight, 1);
	assert_table_is_full(c);
	/* no change: no new generation */
	feed(c, UPD("t1", "TASK_KILLING", "6"));
	run_loop(b);
	assert_int_equal(c->generation, 2);
	feed(c, UPD("t1", "TASK_RUNNING", "7"));
	run_loop(b);
	assert_int_equal(c->generation, 3);
	assert_int_equal(c->table->v[0].b[0].weight, 1);
	assert_table_is_full(c);
	assert_int_equal(counter_value("table_patch_fallbacks"), fallbacks);
	/* a finished task leaves its VIP */
	feed(c, UPD("t1", "TASK_FINISHED", "8"));
	run_loop(b);
	assert_int_equal(c->generation, 4);
	assert_int_equal(vip_table_backends(c->table), 1);
	assert_table_is_full(c);
	/* a task with a new name: a new VIP and a new name */
	feed(c, ADDV("t9", "1009", "/b:81"));
	run_loop(b);
	assert_int_equal(c->generation, 5);
	assert_int_equal(c->table->n, 2);
	assert_int_equal(c->table->names->n, 2);
	assert_table_is_full(c);
	/* its end takes both away again */
	feed(c, UPD("t9", "TASK_KILLED", "9"));
	run_loop(b);
	assert_int_equal(c->generation, 6);
	assert_int_equal(c->table->n, 1);
	assert_int_equal(c->table->names->n, 1);
	assert_table_is_full(c);
	assert_int_equal(counter_value("table_patches"), patches + 6);
	assert_int_equal(counter_value("table_patch_fallbacks"), fallbacks);
	core_free(c);
	event_base_free(b);
}

/* A snapshot with tasks (agent a1 at `host`). */
#define SNAP(host, tasks) \
	"{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"get_state\":{\"get_agents\":{\"agents\":[{" \
	"\"agent_info\":{\"id\":{\"value\":\"a1\"},\"hostname\":\"" host "\"}}]},\"get_frameworks\":" \
	"{\"frameworks\":[{\"framework_info\":{\"id\":{\"value\":\"f1\"},\"name\":\"m\"}}]}," \
	"\"get_tasks\":{\"tasks\":[" tasks "]}}}}\n"
#define STASK(id, port, label) \
	"{\"task_id\":{\"value\":\"" id "\"},\"framework_id\":{\"value\":\"f1\"},\"agent_id\":" \
	"{\"value\":\"a1\"},\"state\":\"TASK_RUNNING\",\"discovery\":{\"ports\":{\"ports\":[{" \
	"\"number\":" port ",\"protocol\":\"tcp\",\"labels\":{\"labels\":[{\"key\":\"VIP_0\"," \
	"\"value\":\"" label "\"}]}}]}}}"

/* As vipd's master client feeds it: snapshots share the live records. */
static void feed_live(struct core *c, const char *text)
{
	struct mesos_parser *p = mesos_parser_new(core_record, c);

	mesos_parser_set_live(p, &c->m);
	assert_int_equal(mesos_parser_feed(p, text, strlen(text)), 0);
	assert_int_equal(mesos_parser_finish(p), 0);
	mesos_parser_free(p);
}

/* A snapshot that changes a few tasks is patched in, task by task (one
 * that changes nothing publishes nothing); other agents or frameworks make
 * it a rebuild, which compares with the published table's bytes. Every
 * table equals a full rebuild's. */
static void snapshot_patches(int with_delta)
{
	struct event_base *b = event_base_new();
	struct delta_state delta = { 0 }; /* (no socket: built only) */
	struct vipd_options o;
	struct core *c;
	uint64_t sp, spf, fb;

	vipd_options_defaults(&o);
	o.nmasters = 1;
	o.masters[0] = "http://127.0.0.1:1";
	c = core_new(b, &o, NULL, NULL);
	assert_non_null(c);
	if (with_delta) /* a rebuild then compares with the delta's bytes */
		c->delta = &delta;
	sp = counter_value("snapshot_patches");
	spf = counter_value("snapshot_patch_fallbacks");
	fb = counter_value("table_patch_fallbacks");
	feed_live(c, SNAP("10.0.0.1", STASK("t1", "1001", "/a:80") "," STASK("t2", "1002", "/a:80")
		      "," STASK("t3", "1003", "/b:80")));
	run_loop(b);
	assert_int_equal(c->generation, 1);
	assert_int_equal(counter_value("snapshot_patches"), sp); /* the first: built */
	/* the same again: patched (nothing to patch), nothing published */
	feed_live(c, SNAP("10.0.0.1", STASK("t1", "1001", "/a:80") "," STASK("t2", "1002", "/a:80")
		      "," STASK("t3", "1003", "/b:80")));
	run_loop(b);
	assert_int_equal(counter_value("snapshot_patches"), sp + 1);
	assert_int_equal(c->generation, 1);
	assert_table_is_full(c);
	/* t2 on another port, t3 gone (its VIP and name with it), t4 new */
	feed_live(c, SNAP("10.0.0.1", STASK("t1", "1001", "/a:80") "," STASK("t2", "2002", "/a:80")
		      "," STASK("t4", "1004", "/c:80")));
	run_loop(b);
	assert_int_equal(counter_value("snapshot_patches"), sp + 2);
	assert_int_equal(counter_value("table_patch_fallbacks"), fb);
	assert_int_equal(c->generation, 2);
	assert_int_equal(vip_table_backends(c->table), 3);
	assert_int_equal(c->table->names->n, 2);
	assert_table_is_full(c);
	/* the agent moved: every backend's address changes, rebuilt */
	feed_live(c, SNAP("10.0.0.9", STASK("t1", "1001", "/a:80") "," STASK("t2", "2002", "/a:80")
		      "," STASK("t4", "1004", "/c:80")));
	run_loop(b);
	assert_int_equal(counter_value("snapshot_patches"), sp + 2);
	assert_int_equal(counter_value("snapshot_patch_fallbacks"), spf);
	assert_int_equal(c->generation, 3);
	assert_int_equal(c->table->v[0].b[0].ip[3], 9);
	assert_table_is_full(c);
	/* ten minutes of patches: the next snapshot is rebuilt in full anyway
	 * (the safety net), and republishes nothing when all was right */
	{
		uint64_t unchanged = counter_value("rebuilds_unchanged");

		c->rebuilt_ms -= 10 * 60 * 1000;
		feed_live(c, SNAP("10.0.0.9", STASK("t1", "1001", "/a:80") ","
			      STASK("t2", "2002", "/a:80") "," STASK("t4", "1004", "/c:80")));
		run_loop(b);
		assert_int_equal(counter_value("snapshot_patches"), sp + 2);
		assert_int_equal(counter_value("rebuilds_unchanged"), unchanged + 1);
		assert_int_equal(c->generation, 3);
		assert_table_is_full(c);
	}
	/* a new agent without tasks: rebuilt (compared with the published
	 * table's bytes alone), the same table, nothing published, and the
	 * table kept whole for the next patch */
	{
		uint64_t unchanged = counter_value("rebuilds_unchanged");

		feed_live(c, "{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"get_state\":{"
			  "\"get_agents\":{\"agents\":[{\"agent_info\":{\"id\":{\"value\":\"a1\"},"
			  "\"hostname\":\"10.0.0.9\"}},{\"agent_info\":{\"id\":{\"value\":\"a2\"},"
			  "\"hostname\":\"10.0.0.2\"}}]},\"get_frameworks\":{\"frameworks\":[{"
			  "\"framework_info\":{\"id\":{\"value\":\"f1\"},\"name\":\"m\"}}]},"
			  "\"get_tasks\":{\"tasks\":[" STASK("t1", "1001", "/a:80") ","
			  STASK("t2", "2002", "/a:80") "," STASK("t4", "1004", "/c:80") "]}}}}\n");
		run_loop(b);
		assert_int_equal(counter_value("rebuilds_unchanged"), unchanged + 1);
	}
	assert_int_equal(c->generation, 3);
	assert_int_equal(vip_table_backends(c->table), 3);
	assert_table_is_full(c);
	feed(c, UPD("t1", "TASK_KILLING", "5"));
	run_loop(b);
	assert_int_equal(c->generation, 4);
	assert_int_equal(counter_value("table_patch_fallbacks"), fb);
	assert_table_is_full(c);
	core_free(c);
	delta_state_clear(&delta);
	event_base_free(b);
}

static void test_snapshot_patches(void **state)
{
	(void)state;
	snapshot_patches(0);
}

static void test_snapshot_patches_with_deltas(void **state)
{
	(void)state;
	snapshot_patches(1);
}

static char status_buf[1024];

static void kv_collect(const char *key, const char *value, void *arg)
{
	(void)arg;
	snprintf(status_buf + strlen(status_buf), sizeof(status_buf) - strlen(status_buf), "%s=%s ",
		 key, value);
}

static void test_status_info(void **state)
{
	struct event_base *b = event_base_new();
	struct vipd_options o;
	struct core *c;

	(void)state;
	vipd_options_defaults(&o);
	o.nmasters = 1;
	o.masters[0] = "http://127.0.0.1:1";
	c = core_new(b, &o, NULL, NULL);
	snprintf(c->master, sizeof(c->master), "http://m1:5050");
	status_buf[0] = '\0';
	core_status(kv_collect, NULL, c);
	assert_non_null(strstr(status_buf, "mode=stream master=http://m1:5050 synced=no"));
	assert_non_null(strstr(status_buf, "last_sync_unix_ms=0 "));
	feed(c, SUB ADD("t1", "1001") ADD("t2", "1002"));
	run_loop(b);
	status_buf[0] = '\0';
	core_status(kv_collect, NULL, c);
	assert_non_null(strstr(status_buf, "synced=yes"));
	assert_null(strstr(status_buf, "last_sync_unix_ms=0 "));
	assert_non_null(strstr(status_buf, "events_applied=2 generation=1 vips=1 backends=2 tasks=2"));
	core_free(c);
	event_base_free(b);
}

/* --max-tasks (and max_agents) also bound what events add: a master
 * streaming new tasks or agents without end cannot grow vipd without limit. */
static void test_events_bounded(void **state)
{
	struct event_base *b = event_base_new();
	struct vipd_options o;
	struct core *c;
	uint64_t refused = counter_value("master_too_many_tasks");
	uint64_t agents = counter_value("master_too_many_agents");

	(void)state;
	vipd_options_defaults(&o);
	o.nmasters = 1;
	o.masters[0] = "http://127.0.0.1:1";
	o.max_tasks = 2;
	o.max_agents = 2;
	c = core_new(b, &o, NULL, NULL);
	feed(c, SUB ADD("t1", "1001") ADD("t2", "1002"));
	run_loop(b);
	assert_int_equal(c->m->tasks.n, 2);
	/* a third task is refused, counted; the table stays as it was */
	feed(c, ADD("t3", "1003"));
	run_loop(b);
	assert_int_equal(c->m->tasks.n, 2);
	assert_null(strmap_get(&c->m->tasks, "t3"));
	assert_int_equal(counter_value("master_too_many_tasks"), refused + 1);
	assert_int_equal(vip_table_backends(c->table), 2);
	/* one already held may come again (its new state) */
	feed(c, ADD("t2", "1012"));
	run_loop(b);
	assert_int_equal(counter_value("master_too_many_tasks"), refused + 1);
	assert_int_equal(c->m->tasks.n, 2);
	/* agents have a bound of their own (max_agents) */
	feed(c, "{\"type\":\"AGENT_ADDED\",\"agent_added\":{\"agent\":{\"agent_info\":"
		"{\"id\":{\"value\":\"a2\"},\"hostname\":\"10.0.0.2\"}}}}\n");
	assert_int_equal(c->m->agents.n, 2);
	feed(c, "{\"type\":\"AGENT_ADDED\",\"agent_added\":{\"agent\":{\"agent_info\":"
		"{\"id\":{\"value\":\"a3\"},\"hostname\":\"10.0.0.3\"}}}}\n");
	assert_int_equal(c->m->agents.n, 2);
	assert_int_equal(counter_value("master_too_many_agents"), agents + 1);
	core_free(c);
	event_base_free(b);
}

static void test_static_only(void **state)
{
	struct event_base *b = event_base_new();
	struct vipd_options o;
	struct vip_table *st = vip_table_new();
	uint8_t ip[4] = { 10, 0, 0, 1 };
	struct backend be = { .family = 4, .weight = 1, .port = 80, .ip = { 10, 0, 0, 2 } };
	struct core *c;

	(void)state;
	vip_add_backend(vip_table_add(st, 6, 4, ip, 80, NULL), &be);
	vipd_options_defaults(&o);
	c = core_new(b, &o, NULL, st);
	assert_int_equal(core_rebuild(c), 0);
	assert_int_equal(c->generation, 1);
	assert_int_equal(core_rebuild(c), 0);
	assert_int_equal(c->generation, 1);
	assert_int_equal(c->table->n, 1);
	core_free(c);
	event_base_free(b);
}

static void test_snapshot_round_trip(void **state)
{
	struct vip_table *t = vip_table_new(), *back;
	uint8_t ip6[16] = { 0xfd, 1, 0, 0xc };
	struct backend be = { .family = 6, .weight = 0, .port = 5353, .ip = { 0xfd, 2 },
			      .agent_ip = { 10, 0, 0, 1 }, .task_family = 4, .task_port = 53,
			      .task_ip = { 172, 17, 0, 2 } };
	struct snapshot_meta meta = { 7, 99, 1234, "test" };
	struct ipc_buf buf = { 0 };
	const char *why = NULL;
	Envelope *env;

	(void)state;
	struct vip *v = vip_table_add(t, 17, 6, ip6, 53, "dns.x");

	vip_add_backend(v, &be);
	vip_add_label(v, "/dns:53");
	assert_int_equal(publish_pack(t, &meta, &buf), 0);
	env = envelope_unpack(buf.data, buf.len, &why);
	assert_non_null(env);
	assert_int_equal(env->vip_table->generation, 7);
	assert_int_equal(env->vip_table->publisher_epoch, 99);
	back = publish_unpack(env, &why);
	assert_non_null(back);
	assert_true(vip_table_equal(t, back));
	vip_table_free(back);
	envelope_free(env);
	ipc_buf_free(&buf);
	vip_table_free(t);
}

static void test_backoff(void **state)
{
	(void)state;
	/* 2 s, doubling, ±25 % jitter, never above 30 s */
	assert_int_equal(master_backoff_ms(1, 2000, 30000, RAND_MAX / 2), 2000);
	assert_int_equal(master_backoff_ms(2, 2000, 30000, RAND_MAX / 2), 4000);
	assert_int_equal(master_backoff_ms(4, 2000, 30000, RAND_MAX / 2), 16000);
	assert_int_equal(master_backoff_ms(5, 2000, 30000, RAND_MAX / 2), 30000);
	assert_int_equal(master_backoff_ms(50, 2000, 30000, RAND_MAX / 2), 30000);
	assert_int_equal(master_backoff_ms(1, 2000, 30000, 0), 1500);
	assert_int_equal(master_backoff_ms(1, 2000, 30000, RAND_MAX), 2500);
	assert_int_equal(master_backoff_ms(9, 2000, 30000, RAND_MAX), 30000);
	assert_int_equal(master_backoff_ms(9, 2000, 30000, 0), 22500);
	assert_int_equal(master_backoff_ms(4, 2000, 30000, RAND_MAX), 20000);
	assert_int_equal(master_backoff_ms(3, 200, 1000, RAND_MAX / 2), 800);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generation_and_coalescing),
		cmocka_unit_test(test_coalesce_leading_edge),
		cmocka_unit_test(test_task_updated_patches),
		cmocka_unit_test(test_snapshot_patches),
		cmocka_unit_test(test_snapshot_patches_with_deltas),
		cmocka_unit_test(test_static_only),
		cmocka_unit_test(test_events_bounded),
		cmocka_unit_test(test_status_info),
		cmocka_unit_test(test_snapshot_round_trip),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
