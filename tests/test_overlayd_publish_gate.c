// SPDX-License-Identifier: Apache-2.0
/* When a restarted overlayd may publish its first reachability snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "overlayd/publish_gate.h"

#define MS 1000ULL

/* Alone, a fresh node keeps quiet: publishing "only me" would withhold
 * every other node's backends until the mesh is rejoined. */
static void test_closed_while_alone(void **state)
{
	struct publish_gate g;

	(void)state;
	publish_gate_init(&g, 1000 * MS);
	assert_false(publish_gate_check(&g, 0, 1000 * MS));
	assert_false(publish_gate_check(&g, 0, 1000 * MS + PUBLISH_SETTLE_US * 2));
	assert_false(publish_gate_check(&g, 0, 1000 * MS + PUBLISH_GRACE_US - 1));
}

/* Linked and the reachable set quiet for the settle time: open, and it
 * stays open whatever happens next. */
static void test_opens_when_settled(void **state)
{
	struct publish_gate g;
	uint64_t t = 1000 * MS;

	(void)state;
	publish_gate_init(&g, t);
	publish_gate_changed(&g, t + 40 * MS);	/* joined: records arriving */
	publish_gate_changed(&g, t + 90 * MS);
	assert_false(publish_gate_check(&g, 1, t + 90 * MS + PUBLISH_SETTLE_US - 1));
	publish_gate_changed(&g, t + 200 * MS);	/* one more node learnt */
	assert_false(publish_gate_check(&g, 1, t + 90 * MS + PUBLISH_SETTLE_US));
	assert_true(publish_gate_check(&g, 1, t + 200 * MS + PUBLISH_SETTLE_US));
	publish_gate_changed(&g, t + 900 * MS);
	assert_true(publish_gate_check(&g, 0, t + 900 * MS));
}

/* An isolated node, or a cluster of one, still publishes after the grace. */
static void test_opens_after_grace(void **state)
{
	struct publish_gate g;

	(void)state;
	publish_gate_init(&g, 5 * MS);
	assert_true(publish_gate_check(&g, 0, 5 * MS + PUBLISH_GRACE_US));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closed_while_alone),
		cmocka_unit_test(test_opens_when_settled),
		cmocka_unit_test(test_opens_after_grace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
