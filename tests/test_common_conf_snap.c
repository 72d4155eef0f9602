// SPDX-License-Identifier: Apache-2.0
/* Which settings a re-read configuration file changed (SIGHUP). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/conf_snap.h"

static char seen[512];

static void on_change(const char *key, const char *value, void *arg)
{
	size_t n = strlen(seen);

	(void)arg;
	snprintf(seen + n, sizeof(seen) - n, "%s=%s;", key, value ? value : "(gone)");
}

static void snap(struct conf_snap *s, const char *text)
{
	char err[200];

	assert_int_equal(conf_snap_parse(s, text, strlen(text), "vipd", err, sizeof(err)), 0);
}

static size_t diff(const char *a, const char *b)
{
	struct conf_snap x, y;
	size_t n;

	snap(&x, a);
	snap(&y, b);
	seen[0] = 0;
	n = conf_snap_diff(&x, &y, on_change, NULL);
	conf_snap_free(&x);
	conf_snap_free(&y);
	return n;
}

static void test_unchanged(void **state)
{
	(void)state;
	assert_int_equal(diff("[vipd]\nmaster = http://a\nmaster = http://b\n",
			      "# comment\n[vipd]\nmaster = http://a\nmaster = http://b\n"), 0);
	assert_string_equal(seen, "");
}

/* Changed, added and removed keys, each named once; other daemons'
 * sections do not count. */
static void test_changed_added_removed(void **state)
{
	(void)state;
	assert_int_equal(diff("[common]\nlog-level = info\n[vipd]\npoll-interval = 2000\n"
			      "coalesce = 5\n[ipvsd]\nscheduler = wlc\n",
			      "[common]\nlog-level = debug\n[vipd]\npoll-interval = 2000\n"
			      "mode = poll\n[ipvsd]\nscheduler = rr\n"),
			 3);
	assert_string_equal(seen, "log-level=debug;mode=poll;coalesce=(gone);");
}

/* A repeated key (--master) changes when any of its values or their
 * order changes: reported once, with its last value. */
static void test_repeated_key(void **state)
{
	(void)state;
	assert_int_equal(diff("[vipd]\nmaster = http://a\nmaster = http://b\n",
			      "[vipd]\nmaster = http://b\nmaster = http://a\n"), 1);
	assert_string_equal(seen, "master=http://a;");
	assert_int_equal(diff("[vipd]\nmaster = http://a\n",
			      "[vipd]\nmaster = http://a\nmaster = http://c\n"), 1);
	assert_string_equal(seen, "master=http://c;");
}

static void test_bad_file(void **state)
{
	struct conf_snap s;
	char err[200];
	const char *t = "[vipd]\nthis line has no equals sign\n";

	(void)state;
	assert_int_equal(conf_snap_parse(&s, t, strlen(t), "vipd", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(s.n, 0);
	assert_int_equal(conf_snap_load(&s, "/nonexistent/l4lb.conf", "vipd", err, sizeof(err)),
			 -1);
	conf_snap_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged),
		cmocka_unit_test(test_changed_added_removed),
		cmocka_unit_test(test_repeated_key),
		cmocka_unit_test(test_bad_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
