// SPDX-License-Identifier: Apache-2.0
/*
 * apply_record across snapshots: what a new complete state keeps from the
 * old model (the recovered agents' tasks and their deadline), through the
 * real parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vipd/apply.h"
#include "vipd/mesos_parse.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grace_spans_snapshots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
