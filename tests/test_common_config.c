// SPDX-License-Identifier: Apache-2.0
/* The configuration file parser: sections, keys, errors with line numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"

struct seen {
	char keys[16][64];
	char values[16][64];
	int n;
};

static const char *record(const char *key, const char *value, void *arg)
{
	struct seen *s = arg;

	if (strcmp(key, "bad") == 0)
		return "not allowed here";
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
	snprintf(s->values[s->n], sizeof(s->values[0]), "%s", value);
	s->n++;
	return NULL;
}

static int parse(const char *text, struct seen *s, char *err)
{
	memset(s, 0, sizeof(*s));
	return config_parse(text, strlen(text), "vipd", record, s, err, 128);
}

static void test_sections(void **state)
{
	const char *text = "# comment\n"
			   "[common]\nrun-dir = /run/x\n\n"
			   "[ipvsd]\ndry-run = yes\n"
			   "[vipd]\n  master =  http://m1:5050  \nmaster=http://m2:5050\r\n"
			   "; another comment\n";
	struct seen s;
	char err[128];

	(void)state;
	assert_int_equal(parse(text, &s, err), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.keys[0], "run-dir");
	assert_string_equal(s.values[0], "/run/x");
	assert_string_equal(s.keys[1], "master");
	assert_string_equal(s.values[1], "http://m1:5050");
	assert_string_equal(s.values[2], "http://m2:5050");
}

static void test_errors_name_the_line(void **state)
{
	struct seen s;
	char err[128];

	(void)state;
	assert_int_equal(parse("[vipd]\nmaster\n", &s, err), -1);
	assert_string_equal(err, "line 2: expected key = value");
	assert_int_equal(parse("\n\n[vipd\n", &s, err), -1);
	assert_string_equal(err, "line 3: malformed section header");
	assert_int_equal(parse("[vipd]\nbad = 1\n", &s, err), -1);
	assert_string_equal(err, "line 2: not allowed here");
	assert_int_equal(parse("[vipd]\n = 1\n", &s, err), -1);
	assert_string_equal(err, "line 2: empty key");
}

static void test_other_sections_skipped(void **state)
{
	struct seen s;
	char err[128];

	(void)state;
	/* Another daemon's keys are not this daemon's to judge. */
	assert_int_equal(parse("[overlayd]\nbad = 1\nseeds = a\n", &s, err), 0);
	assert_int_equal(s.n, 0);
}

static void test_hostile_input(void **state)
{
	static char big[10000];
	const char nul[] = "[vipd]\nmas\0ter = 1\n";
	struct seen s;
	char err[128];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	assert_int_equal(parse(big, &s, err), -1);
	assert_string_equal(err, "line 1: line too long");
	memset(&s, 0, sizeof(s));
	assert_int_equal(config_parse(nul, sizeof(nul) - 1, "vipd", record, &s, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "line 2: NUL byte in line");
}

static void test_load_reports_path(void **state)
{
	char err[256];
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(config_load("/nonexistent/l4lb.conf", "vipd", record, &s, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "/nonexistent/l4lb.conf: No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_errors_name_the_line),
		cmocka_unit_test(test_other_sections_skipped),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_load_reports_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
