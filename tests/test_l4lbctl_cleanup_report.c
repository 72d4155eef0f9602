// SPDX-License-Identifier: Apache-2.0
/* cleanup --json reads ipvsd --cleanup's log lines back: both log formats,
 * each line of ipvsd/cleanup.c it depends on, a bounded problem list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contrib/l4lbctl/cleanup_report.h"

static char *json_of(const struct cleanup_report *r, int status)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cleanup_report_json(r, status, f);
	fclose(f);
	return buf;
}

static void test_incomplete_terminal_format(void **state)
{
	struct cleanup_report r = { 0 };
	char *j;

	(void)state;
	cleanup_report_line(&r, "01:02:03.004 ipvsd[77] info: cleanup: deleted interface "
				"l4lb0 (created by ipvsd)\n");
	cleanup_report_line(&r, "01:02:03.005 ipvsd[77] error: cleanup: iptables -t nat -X "
				"L4LB-VIPS: Chain \"in use\"\n");
	cleanup_report_line(&r, "iptables: some line of a child, not a log line\n");
	cleanup_report_line(&r, "01:02:03.006 ipvsd[77] info: cleanup: incomplete: 12 services, "
				"3 VIP addresses, nat chains, ipsets\n");
	assert_int_equal(r.result, CLEANUP_INCOMPLETE);
	assert_int_equal(r.services, 12);
	assert_int_equal(r.addresses, 3);
	assert_string_equal(r.interface, "l4lb0");
	assert_int_equal(r.n_problems, 1);
	j = json_of(&r, 1);
	assert_string_equal(j, "{\"result\":\"incomplete\",\"exit_status\":1,\"removed\":"
			       "{\"services\":12,\"vip_addresses\":3,\"interface\":\"l4lb0\"},"
			       "\"ipvs\":true,\"problems\":[{\"level\":\"error\",\"message\":"
			       "\"cleanup: iptables -t nat -X L4LB-VIPS: Chain \\\"in use\\\"\"}],"
			       "\"problems_dropped\":0}\n");
	free(j);
	cleanup_report_clear(&r);
}

static void test_journal_format_and_no_ipvs(void **state)
{
	struct cleanup_report r = { 0 };

	(void)state;
	cleanup_report_line(&r, "<3>error: ipvs: the kernel has no IPVS");
	cleanup_report_line(&r, "<6>info: cleanup: no IPVS in this kernel: no services to remove");
	cleanup_report_line(&r, "<6>info: cleanup: done: 0 services, 0 VIP addresses, nat");
	assert_int_equal(r.result, CLEANUP_DONE);
	assert_true(r.no_ipvs);
	assert_int_equal(r.n_problems, 1);
	assert_string_equal(r.problems[0].level, "error");
	assert_string_equal(r.problems[0].message, "ipvs: the kernel has no IPVS");
	cleanup_report_clear(&r);
}

static void test_refused_and_unfinished(void **state)
{
	struct cleanup_report r = { 0 };
	char *j;

	(void)state;
	/* a word of the message that looks like a level is not the prefix */
	cleanup_report_line(&r, "01:02:03.004 ipvsd[9] error: cleanup: an ipvsd is running on "
				"/run/l4lb: stop it first, info: x");
	assert_int_equal(r.result, CLEANUP_REFUSED);
	assert_string_equal(r.reason, "an ipvsd is running on /run/l4lb: stop it first, info: x");
	cleanup_report_clear(&r);
	cleanup_report_line(&r, "01:02:03.004 ipvsd[9] error: cleanup: cannot read the state "
				"file in /var/lib/l4lb: Permission denied");
	j = json_of(&r, 1);
	assert_non_null(strstr(j, "\"result\":\"failed\""));
	assert_non_null(strstr(j, "\"reason\":\"ipvsd --cleanup ended without a summary\""));
	assert_null(strstr(j, "\"removed\""));
	free(j);
	cleanup_report_clear(&r);
}

static void test_problems_bounded(void **state)
{
	struct cleanup_report r = { 0 };

	(void)state;
	for (int i = 0; i < CLEANUP_MAX_PROBLEMS + 8; i++)
		cleanup_report_line(&r, "<4>warn: ipset: batch failed");
	assert_int_equal(r.n_problems, CLEANUP_MAX_PROBLEMS);
	assert_int_equal(r.problems_dropped, 8);
	cleanup_report_clear(&r);
	assert_int_equal(r.n_problems, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incomplete_terminal_format),
		cmocka_unit_test(test_journal_format_and_no_ipvs),
		cmocka_unit_test(test_refused_and_unfinished),
		cmocka_unit_test(test_problems_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
