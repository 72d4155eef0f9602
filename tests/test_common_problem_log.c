// SPDX-License-Identifier: Apache-2.0
/* Which bad-input problems get a log line (common/problem_log.h): each
 * distinct problem once, reminders while it recurs, a few lines per kind
 * and interval however many distinct problems arrive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/problem_log.h"

#define IV 60000 /* the default interval, 60 s */

static struct problem_log *fresh(void)
{
	return calloc(1, sizeof(struct problem_log));
}

static void test_distinct_problem_logged_once(void **state)
{
	struct problem_log *pl = fresh();
	struct problem_verdict v;

	(void)state;
	v = problem_log_admit(pl, "label_bad", "VIP_0 \"x:y\" on task a", 1000, IV);
	assert_true(v.log);
	assert_int_equal(v.repeats, 0);
	/* The same problem at every rebuild for the next 59 minutes: silent. */
	for (uint64_t t = 2000; t < 1000 + IV * PROBLEM_REMIND_INTERVALS; t += 2000)
		assert_false(problem_log_admit(pl, "label_bad", "VIP_0 \"x:y\" on task a", t,
					       IV).log);
	/* Still there an hour later: one reminder saying how often it came. */
	v = problem_log_admit(pl, "label_bad", "VIP_0 \"x:y\" on task a",
			      1000 + IV * PROBLEM_REMIND_INTERVALS, IV);
	assert_true(v.log);
	assert_int_equal(v.repeats, (IV * PROBLEM_REMIND_INTERVALS - 2000) / 2000 + 1);
	free(pl);
}

static void test_second_problem_of_a_kind_logged(void **state)
{
	struct problem_log *pl = fresh();

	(void)state;
	/* A per-kind limit would hide the second label: it is a new problem. */
	assert_true(problem_log_admit(pl, "label_bad", "on task a", 1000, IV).log);
	assert_true(problem_log_admit(pl, "label_bad", "on task b", 1001, IV).log);
	assert_false(problem_log_admit(pl, "label_bad", "on task a", 1002, IV).log);
	/* Kind and message are not just concatenated. */
	assert_true(problem_log_admit(pl, "label_ba", "don task a", 1003, IV).log);
	free(pl);
}

static void test_flood_bounded_per_kind(void **state)
{
	struct problem_log *pl = fresh();
	char msg[64];
	int lines = 0, other = 0;
	struct problem_verdict v;

	(void)state;
	/* 100,000 distinct bad records within one interval. */
	for (int i = 0; i < 100000; i++) {
		snprintf(msg, sizeof(msg), "record %d", i);
		lines += problem_log_admit(pl, "master_malformed", msg, 5000 + i / 10, IV).log;
	}
	assert_int_equal(lines, PROBLEM_LINES_PER_KIND);
	/* Another kind has its own budget. */
	other += problem_log_admit(pl, "ipc_rx_malformed", "envelope", 6000, IV).log;
	assert_int_equal(other, 1);
	/* Next interval: the first line says how many were held back. */
	v = problem_log_admit(pl, "master_malformed", "record 99999", 5000 + IV, IV);
	assert_true(v.log);
	assert_int_equal(v.held_back, 100000 - PROBLEM_LINES_PER_KIND);
	v = problem_log_admit(pl, "master_malformed", "record 99998", 5001 + IV, IV);
	assert_true(v.log);
	assert_int_equal(v.held_back, 0);
	free(pl);
}

static void test_held_back_problem_logged_later(void **state)
{
	struct problem_log *pl = fresh();
	char msg[32];

	(void)state;
	for (int i = 0; i < PROBLEM_LINES_PER_KIND; i++) {
		snprintf(msg, sizeof(msg), "p%d", i);
		assert_true(problem_log_admit(pl, "k", msg, 100, IV).log);
	}
	assert_false(problem_log_admit(pl, "k", "late", 200, IV).log);
	assert_false(problem_log_admit(pl, "k", "late", 300, IV).log);
	/* Held back, not forgotten: its own line once the kind may log again,
	 * with the time it was seen meanwhile... */
	assert_true(problem_log_admit(pl, "k", "late", 100 + IV, IV).log);
	/* ...while the ones already logged stay quiet. */
	assert_false(problem_log_admit(pl, "k", "p0", 100 + IV + 1, IV).log);
	free(pl);
}

static void test_many_kinds_and_problems_stay_bounded(void **state)
{
	struct problem_log *pl = fresh();
	char kind[32], msg[32];
	int lines = 0;

	(void)state;
	/* More kinds and problems than slots: nothing breaks, and a problem
	 * pushed out of the table is at worst logged once more. */
	for (int i = 0; i < 4 * PROBLEM_KINDS; i++) {
		snprintf(kind, sizeof(kind), "kind_%d", i);
		for (int j = 0; j < 2 * PROBLEM_SLOTS / PROBLEM_KINDS; j++) {
			snprintf(msg, sizeof(msg), "m%d", j);
			lines += problem_log_admit(pl, kind, msg, 1000 + (uint64_t)i, IV).log;
		}
	}
	assert_true(lines >= 4 * PROBLEM_KINDS * PROBLEM_LINES_PER_KIND);
	assert_true(lines <= 4 * PROBLEM_KINDS * 2 * PROBLEM_SLOTS / PROBLEM_KINDS);
	free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distinct_problem_logged_once),
		cmocka_unit_test(test_second_problem_of_a_kind_logged),
		cmocka_unit_test(test_flood_bounded_per_kind),
		cmocka_unit_test(test_held_back_problem_logged_later),
		cmocka_unit_test(test_many_kinds_and_problems_stay_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
