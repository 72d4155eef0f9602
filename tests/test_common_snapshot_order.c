// SPDX-License-Identifier: Apache-2.0
/* Which snapshots a subscriber applies: newer generations, and anything
 * from a restarted publisher (new epoch); never older ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/ipc.h"

static void test_generations(void **state)
{
	struct snap_seq s = { 0 };

	(void)state;
	assert_int_equal(snap_seq_check(&s, 100, 5), SNAP_NEWER);
	assert_int_equal(snap_seq_check(&s, 100, 5), SNAP_SAME);
	assert_int_equal(snap_seq_check(&s, 100, 6), SNAP_NEWER);
	assert_int_equal(snap_seq_check(&s, 100, 4), SNAP_OLDER);
	assert_int_equal(s.gen, 6); /* an older one does not move us back */
}

static void test_restarted_publisher(void **state)
{
	struct snap_seq s = { 0 };

	(void)state;
	assert_int_equal(snap_seq_check(&s, 100, 50), SNAP_NEWER);
	/* A restarted publisher starts again at generation 1. */
	assert_int_equal(snap_seq_check(&s, 200, 1), SNAP_NEWER);
	assert_int_equal(snap_seq_check(&s, 200, 2), SNAP_NEWER);
	assert_int_equal(snap_seq_check(&s, 200, 1), SNAP_OLDER);
}

static void test_epochs_unique(void **state)
{
	(void)state;
	assert_true(ipc_new_epoch() != ipc_new_epoch());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generations),
		cmocka_unit_test(test_restarted_publisher),
		cmocka_unit_test(test_epochs_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
