// SPDX-License-Identifier: Apache-2.0
/* Prometheus text exposition: names, HELP/TYPE lines, label escaping,
 * cumulative histogram buckets with _sum, _count and +Inf. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/counters.h"
#include "common/metrics.h"

static char *out;

static int setup(void **state)
{
	(void)state;
	metrics_reset();
	metrics_init("testd");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(out);
	out = NULL;
	metrics_reset();
	return 0;
}

/* Renders and returns the text; fails the test if it is not a sequence of
 * newline-terminated lines. */
static const char *render(void)
{
	size_t len;

	free(out);
	out = metrics_render(&len);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	assert_true(len > 0 && out[len - 1] == '\n');
	return out;
}

/* The line that starts with `start` (whole line returned in buf). */
static const char *line_of(const char *text, const char *start, char *buf, size_t size)
{
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (strncmp(p, start, strlen(start)) == 0) {
			snprintf(buf, size, "%.*s", (int)n, p);
			return buf;
		}
		p += n + (e ? 1 : 0);
	}
	return NULL;
}

static void assert_line(const char *text, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "%s\n", line);
	/* a match inside another line does not count */
	{
		const char *p = text;
		int ok = 0;

		while ((p = strstr(p, want))) {
			if (p == text || p[-1] == '\n') {
				ok = 1;
				break;
			}
			p++;
		}
		if (!ok) {
			print_error("missing line: %s\n--- got:\n%s", line, text);
			fail();
		}
	}
}

static void test_counters_become_total(void **state)
{
	const char *t;

	(void)state;
	counter_add("ipc_rx_malformed", 3);
	counter_inc("master.errors-http");
	metrics_counter_help("ipc_rx_malformed", "IPC messages dropped as malformed.");
	t = render();
	assert_line(t, "# HELP l4lb_testd_ipc_rx_malformed_total IPC messages dropped as malformed.");
	assert_line(t, "# TYPE l4lb_testd_ipc_rx_malformed_total counter");
	assert_line(t, "l4lb_testd_ipc_rx_malformed_total 3");
	/* characters invalid in a metric name become '_' */
	assert_line(t, "# TYPE l4lb_testd_master_errors_http_total counter");
	assert_line(t, "l4lb_testd_master_errors_http_total 1");
	assert_line(t, "# TYPE l4lb_testd_build_info gauge");
	/* HELP precedes TYPE precedes the sample */
	assert_true(strstr(t, "# HELP l4lb_testd_ipc_rx_malformed_total") <
		    strstr(t, "# TYPE l4lb_testd_ipc_rx_malformed_total"));
	assert_true(strstr(t, "# TYPE l4lb_testd_ipc_rx_malformed_total") <
		    strstr(t, "l4lb_testd_ipc_rx_malformed_total 3"));
}

static void test_gauges_and_labels(void **state)
{
	const char *a[] = { "vip", "10.0.0.1:80", "protocol", "tcp", NULL };
	const char *b[] = { "vip", "10.0.0.2:443", "protocol", "tcp", NULL };
	const char *t;
	char buf[256];

	(void)state;
	assert_int_equal(metrics_gauge_set("vips", "VIPs in the table.", NULL, 2), 0);
	assert_int_equal(metrics_gauge_set("backends", "Backends per VIP.", a, 3), 0);
	assert_int_equal(metrics_gauge_set("backends", "ignored later help", b, 1), 0);
	assert_int_equal(metrics_gauge_set("backends", NULL, a, 4), 0); /* replaces */
	assert_int_equal(metrics_gauge_set("rtt_seconds", "RTT.", NULL, 0.00125), 0);
	t = render();
	assert_line(t, "# HELP l4lb_testd_vips VIPs in the table.");
	assert_line(t, "# TYPE l4lb_testd_vips gauge");
	assert_line(t, "l4lb_testd_vips 2");
	assert_line(t, "# HELP l4lb_testd_backends Backends per VIP.");
	assert_line(t, "l4lb_testd_backends{vip=\"10.0.0.1:80\",protocol=\"tcp\"} 4");
	assert_line(t, "l4lb_testd_backends{vip=\"10.0.0.2:443\",protocol=\"tcp\"} 1");
	assert_line(t, "l4lb_testd_rtt_seconds 0.00125");
	/* one HELP/TYPE per family, however many series */
	assert_non_null(line_of(t, "# TYPE l4lb_testd_backends", buf, sizeof(buf)));
	assert_null(strstr(strstr(t, "# TYPE l4lb_testd_backends") + 1,
			   "# TYPE l4lb_testd_backends"));

	metrics_clear("backends");
	t = render();
	assert_null(strstr(t, "l4lb_testd_backends"));
	assert_line(t, "l4lb_testd_vips 2");
}

static void test_escaping(void **state)
{
	const char *l[] = { "name", "a\\b\"c\nd", NULL };
	const char *t;

	(void)state;
	assert_int_equal(metrics_gauge_set("odd", "help with \\ and\nnewline \"quotes\"", l, 1),
			 0);
	t = render();
	assert_line(t, "l4lb_testd_odd{name=\"a\\\\b\\\"c\\nd\"} 1");
	/* help escapes backslash and newline but not quotes */
	assert_line(t, "# HELP l4lb_testd_odd help with \\\\ and\\nnewline \"quotes\"");
}

static void test_rejects_bad_names(void **state)
{
	const char *bad_label[] = { "1x", "v", NULL };
	const char *le[] = { "le", "1", NULL };
	const char *no_value[] = { "a", NULL };

	(void)state;
	assert_int_equal(metrics_gauge_set("bad-name", "", NULL, 1), -EINVAL);
	assert_int_equal(metrics_gauge_set("9lives", "", NULL, 1), -EINVAL);
	assert_int_equal(metrics_gauge_set("", "", NULL, 1), -EINVAL);
	assert_int_equal(metrics_gauge_set(NULL, "", NULL, 1), -EINVAL);
	assert_int_equal(metrics_gauge_set("ok", "", bad_label, 1), -EINVAL);
	assert_int_equal(metrics_gauge_set("ok", "", le, 1), -EINVAL);
	assert_int_equal(metrics_gauge_set("ok", "", no_value, 1), -EINVAL);
	/* counters must end in _total; a name keeps its first type */
	assert_int_equal(metrics_counter_set("packets", "", NULL, 1), -EINVAL);
	assert_int_equal(metrics_counter_set("packets_total", "", NULL, 1), 0);
	assert_int_equal(metrics_gauge_set("packets_total", "", NULL, 1), -EINVAL);
	assert_int_equal(metrics_histogram_observe("packets_total", 1), -EINVAL);
	assert_null(strstr(render(), "l4lb_testd_ok"));
}

static void test_labelled_counter(void **state)
{
	const char *l[] = { "kind", "add_service", NULL };
	const char *t;

	(void)state;
	assert_int_equal(metrics_counter_set("kernel_changes_total", "Changes.", l, 12), 0);
	t = render();
	assert_line(t, "# TYPE l4lb_testd_kernel_changes_total counter");
	assert_line(t, "l4lb_testd_kernel_changes_total{kind=\"add_service\"} 12");
}

static void test_histogram(void **state)
{
	const double bounds[] = { 0.01, 0.1, 1 };
	const double bad[] = { 0.1, 0.1 };
	const char *t;

	(void)state;
	assert_int_equal(metrics_histogram_new("sync_duration_seconds", "Sync time.", bounds, 3), 0);
	assert_int_equal(metrics_histogram_new("sync_duration_seconds", "", bounds, 3), -EEXIST);
	assert_int_equal(metrics_histogram_new("h2_seconds", "", bad, 2), -EINVAL);
	assert_int_equal(metrics_histogram_new("h3_seconds", "", bounds, 0), -EINVAL);
	metrics_histogram_observe("sync_duration_seconds", 0.005);
	metrics_histogram_observe("sync_duration_seconds", 0.01); /* le is inclusive */
	metrics_histogram_observe("sync_duration_seconds", 0.5);
	metrics_histogram_observe("sync_duration_seconds", 7);
	assert_int_equal(metrics_histogram_observe("sync_duration_seconds", NAN), -EINVAL);
	t = render();
	assert_line(t, "# HELP l4lb_testd_sync_duration_seconds Sync time.");
	assert_line(t, "# TYPE l4lb_testd_sync_duration_seconds histogram");
	assert_line(t, "l4lb_testd_sync_duration_seconds_bucket{le=\"0.01\"} 2");
	assert_line(t, "l4lb_testd_sync_duration_seconds_bucket{le=\"0.1\"} 2");
	assert_line(t, "l4lb_testd_sync_duration_seconds_bucket{le=\"1\"} 3");
	assert_line(t, "l4lb_testd_sync_duration_seconds_bucket{le=\"+Inf\"} 4");
	assert_line(t, "l4lb_testd_sync_duration_seconds_sum 7.515");
	assert_line(t, "l4lb_testd_sync_duration_seconds_count 4");
	/* buckets in increasing order, +Inf last, then _sum and _count */
	assert_true(strstr(t, "le=\"0.01\"") < strstr(t, "le=\"1\""));
	assert_true(strstr(t, "le=\"1\"") < strstr(t, "le=\"+Inf\""));
	assert_true(strstr(t, "le=\"+Inf\"") < strstr(t, "_sum "));
	assert_true(strstr(t, "_sum ") < strstr(t, "_count "));
}

static void test_histogram_default_buckets(void **state)
{
	const char *t;

	(void)state;
	assert_int_equal(metrics_histogram_observe("reconcile_seconds", 0.003), 0);
	t = render();
	assert_line(t, "# TYPE l4lb_testd_reconcile_seconds histogram");
	assert_line(t, "l4lb_testd_reconcile_seconds_bucket{le=\"0.0025\"} 0");
	assert_line(t, "l4lb_testd_reconcile_seconds_bucket{le=\"0.005\"} 1");
	assert_line(t, "l4lb_testd_reconcile_seconds_bucket{le=\"30\"} 1");
	assert_line(t, "l4lb_testd_reconcile_seconds_bucket{le=\"+Inf\"} 1");
	assert_line(t, "l4lb_testd_reconcile_seconds_count 1");
}

static void collect(void *arg)
{
	int *calls = arg;

	(*calls)++;
	metrics_gauge_set("collected", "Set by a collector.", NULL, *calls);
}

static void test_collector_runs_per_render(void **state)
{
	int calls = 0;

	(void)state;
	assert_int_equal(metrics_add_collector(collect, &calls), 0);
	assert_line(render(), "l4lb_testd_collected 1");
	assert_line(render(), "l4lb_testd_collected 2");
	assert_int_equal(calls, 2);
}

/* Every line is a comment or `name[{labels}] value` with a valid name:
 * a coarse check of the whole exposition. */
static void test_every_line_well_formed(void **state)
{
	const char *l[] = { "a", "x y", NULL };
	char *copy, *line, *save = NULL;

	(void)state;
	counter_inc("some_counter");
	metrics_gauge_set("g", "G.", l, -1.5);
	metrics_gauge_set("inf", "I.", NULL, INFINITY);
	metrics_histogram_observe("h_seconds", 0.2);
	copy = strdup(render());
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp;
		char *end;

		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0)
			continue;
		assert_true(strncmp(line, "l4lb_testd_", 11) == 0);
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		if (strcmp(sp + 1, "+Inf") && strcmp(sp + 1, "-Inf") && strcmp(sp + 1, "NaN")) {
			strtod(sp + 1, &end);
			assert_true(*end == '\0' && end != sp + 1);
		}
	}
	free(copy);
	assert_line(out, "l4lb_testd_inf +Inf");
	assert_line(out, "l4lb_testd_g{a=\"x y\"} -1.5");
}

/* Status facts become metrics by the table: counters for *_total names,
 * gauges otherwise, scaled, yes/no as 1/0; other keys and non-numbers are
 * skipped. */
static void test_info_table(void **state)
{
	static const struct metrics_info table[] = {
		{ "pings", "pings_total", "Pings sent.", 0 },
		{ "vips", "vips", "VIPs.", 0 },
		{ "last_sync_unix_ms", "last_sync_timestamp_seconds", "Last sync.", 0.001 },
		{ "synced", "synced", "Synced.", 0 },
		{ NULL, NULL, NULL, 0 },
	};
	const char *t;
	char l[256];

	(void)state;
	metrics_info_kv("pings", "42", (void *)table);
	metrics_info_kv("vips", "7", (void *)table);
	metrics_info_kv("last_sync_unix_ms", "1500", (void *)table);
	metrics_info_kv("synced", "yes", (void *)table);
	metrics_info_kv("mode", "stream", (void *)table);
	metrics_info_kv("vips", "n/a", (void *)table); /* not a number: keeps 7 */
	t = render();
	assert_non_null(line_of(t, "l4lb_testd_pings_total ", l, sizeof(l)));
	assert_string_equal(l, "l4lb_testd_pings_total 42");
	assert_non_null(strstr(t, "# TYPE l4lb_testd_pings_total counter\n"));
	assert_non_null(line_of(t, "l4lb_testd_vips ", l, sizeof(l)));
	assert_string_equal(l, "l4lb_testd_vips 7");
	assert_non_null(strstr(t, "# TYPE l4lb_testd_vips gauge\n"));
	assert_non_null(line_of(t, "l4lb_testd_last_sync_timestamp_seconds ", l, sizeof(l)));
	assert_string_equal(l, "l4lb_testd_last_sync_timestamp_seconds 1.5");
	assert_non_null(line_of(t, "l4lb_testd_synced ", l, sizeof(l)));
	assert_string_equal(l, "l4lb_testd_synced 1");
	assert_null(strstr(t, "mode"));
}

/* Appending skips the duplicate lookup: 20,000 distinct series are all
 * rendered, and a clear drops them. */
static void test_append_many(void **state)
{
	char v[16];
	const char *labels[] = { "backend", v, NULL };
	char l[256];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		snprintf(v, sizeof(v), "b%d", i);
		assert_int_equal(metrics_append("conns_total", "Connections.", labels, i), 0);
	}
	assert_int_equal(metrics_append("bad name", "x", NULL, 1), -EINVAL);
	render();
	assert_non_null(line_of(out, "l4lb_testd_conns_total{backend=\"b19999\"} ", l, sizeof(l)));
	assert_string_equal(l, "l4lb_testd_conns_total{backend=\"b19999\"} 19999");
	metrics_clear("conns_total");
	render();
	assert_null(strstr(out, "conns_total{"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counters_become_total, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gauges_and_labels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_labelled_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_histogram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_histogram_default_buckets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collector_runs_per_render, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_line_well_formed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_many, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
