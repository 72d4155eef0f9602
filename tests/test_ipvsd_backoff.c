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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_to_the_cap),
		cmocka_unit_test(test_never_decreases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
