// SPDX-License-Identifier: Apache-2.0
/* The master client's pure parts: the heartbeat interval a SUBSCRIBED names
 * is bounded (and a bad one counted) before it arms the stream's watchdog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/counters.h"
#include "vipd/master.h"

static void test_heartbeat_bounded(void **state)
{
	uint64_t bad = counter_value("master_heartbeat");

	(void)state;
	/* none given: the default; in bounds: as given, not counted */
	assert_true(master_heartbeat_s(0) == MASTER_HEARTBEAT_DEFAULT_S);
	assert_true(master_heartbeat_s(15) == 15);
	assert_true(master_heartbeat_s(0.5) == 0.5);
	assert_true(master_heartbeat_s(300) == 300);
	assert_int_equal(counter_value("master_heartbeat"), bad);
	/* 1e300 would overflow the watchdog's long; 1e9 would disable it */
	assert_true(master_heartbeat_s(1e300) == MASTER_HEARTBEAT_MAX_S);
	assert_true(master_heartbeat_s(1e9) == MASTER_HEARTBEAT_MAX_S);
	assert_true(master_heartbeat_s(1.0 / 0.0) == MASTER_HEARTBEAT_MAX_S);
	/* too small (or negative) would reconnect without end */
	assert_true(master_heartbeat_s(0.001) == MASTER_HEARTBEAT_MIN_S);
	assert_true(master_heartbeat_s(-5) == MASTER_HEARTBEAT_MIN_S);
	assert_int_equal(counter_value("master_heartbeat"), bad + 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heartbeat_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
