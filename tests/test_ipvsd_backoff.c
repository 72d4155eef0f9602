// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>

#include "ipvsd/backoff.h"

static void test_doubles_to_the_cap(void **state)
{
	(void)state;
	assert_int_equal(backoff_ms(0), 1000);
	assert_int_equal(backoff_ms(1), 1000);
	assert_int_equal(backoff_ms(2), 2000);
	assert_int_equal(backoff_ms(3), 4000);
	assert_int_equal(backoff_ms(5), 16000);
	assert_int_equal(backoff_ms(6), 30000);
	assert_int_equal(backoff_ms(7), 30000);
	assert_int_equal(backoff_ms(UINT_MAX), 30000);
}

static void test_never_decreases(void **state)
{
	(void)state;
	for (unsigned n = 1; n < 100; n++)
		assert_true(backoff_ms(n + 1) >= backoff_ms(n));
}

/* However many steps of one pass fail, the pass counts once. */
static void test_retry_counts_passes_not_steps(void **state)
{
	struct retry t = { 0 };
	unsigned ms = 0;

	(void)state;
	retry_pass_begin(&t);
	for (int i = 0; i < 50; i++) /* every slice meets the same refusal */
		assert_int_equal(retry_fail(&t, &ms), 0);
	assert_int_equal(retry_pass_end(&t, &ms), 1);
	assert_int_equal(ms, 1000);
	assert_int_equal(t.failures, 1);
	retry_pass_begin(&t);
	retry_fail(&t, &ms);
	retry_fail(&t, &ms);
	assert_int_equal(retry_pass_end(&t, &ms), 1);
	assert_int_equal(ms, 2000);
	/* outside a pass (the event path) a failure is an attempt of its own */
	assert_int_equal(retry_fail(&t, &ms), 1);
	assert_int_equal(ms, 4000);
	/* a pass that goes through starts the count again */
	retry_pass_begin(&t);
	assert_int_equal(retry_pass_end(&t, &ms), 0);
	assert_int_equal(t.failures, 0);
	assert_int_equal(retry_fail(&t, &ms), 1);
	assert_int_equal(ms, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_to_the_cap),
		cmocka_unit_test(test_never_decreases),
		cmocka_unit_test(test_retry_counts_passes_not_steps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
