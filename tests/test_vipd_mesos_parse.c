// SPDX-License-Identifier: Apache-2.0
/*
 * The streaming parser: every fixture, RecordIO and line framing, input in
 * any chunking, and broken input (truncated, malformed, not a master
 * response) rejected without applying a partial record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vipd/apply.h"
#include "vipd/from_file.h"
#include "vipd/mesos_parse.h"
#include "vipd/named_vip.h"
#include "vipd/rules.h"

static char *print(const struct vip_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	vip_table_print_json(t, f);
	fclose(f);
	return buf;
}

static char *file_table(const char *path)
{
	char err[512];
	struct vip_table *t = from_file_table(path, NULL, err, sizeof(err));
	char *s;

	if (!t)
		fail_msg("%s: %s", path, err);
	s = print(t);
	vip_table_free(t);
	return s;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len + 1);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void test_fixture_hello_overlay(void **state)
{
	char *s = file_table("tests/fixtures/mesos/hello-overlay.json");

	(void)state;
	assert_string_equal(s,
		"{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"11.46.7.245\",\"port\":80,\"name\":"
		"\"api.hello-world.marathon\",\"labels\":[\"/api.hello-world:80\"],\"backends\":"
		"[{\"ip\":\"10.0.0.49\",\"port\":19630,\"agent_ip\":\"10.0.0.49\",\"weight\":1}]},"
		"{\"protocol\":\"tcp\",\"ip\":\"11.86.219.94\",\"port\":80,\"name\":"
		"\"overlay-vip.hello-world\",\"labels\":[\"overlay-vip:80\"],\"backends\":[{\"ip\":"
		"\"9.0.2.3\",\"port\":4044,\"agent_ip\":\"10.0.0.49\",\"weight\":1}]},{\"protocol\":"
		"\"tcp\",\"ip\":\"11.131.68.73\",\"port\":80,\"name\":\"host-vip.hello-world\","
		"\"labels\":[\"host-vip:80\"],\"backends\":[{\"ip\":\"10.0.0.49\",\"port\":4044,"
		"\"agent_ip\":\"10.0.0.49\",\"weight\":1}]}]}\n");
	free(s);
}

static void test_fixture_tcp_and_udp(void **state)
{
	char *s = file_table("tests/fixtures/mesos/tcp-and-udp.json");

	(void)state;
	assert_string_equal(s,
		"{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"11.171.172.93\",\"port\":80,\"name\":"
		"\"app.marathon\",\"labels\":[\"/app:80\"],\"backends\":[{\"ip\":\"172.17.0.3\","
		"\"port\":6416,\"agent_ip\":\"172.17.0.3\",\"weight\":1}]},{\"protocol\":\"udp\","
		"\"ip\":\"11.171.172.93\",\"port\":80,\"name\":\"app.marathon\",\"labels\":"
		"[\"/app:80\"],\"backends\":[{\"ip\":\"172.17.0.3\",\"port\":6416,\"agent_ip\":"
		"\"172.17.0.3\",\"weight\":1}]}]}\n");
	free(s);
}

static void test_fixture_empty_tables(void **state)
{
	char *s;

	(void)state;
	/* every task ends terminal */
	s = file_table("tests/fixtures/mesos/hello-world.json");
	assert_string_equal(s, "{\"vips\":[]}\n");
	free(s);
	/* every networking mode, but no VIP labels */
	s = file_table("tests/fixtures/mesos/operator-api.json");
	assert_string_equal(s, "{\"vips\":[]}\n");
	free(s);
}

struct counter_arg {
	size_t records, snapshots;
	struct model *m;
};

static void count_rec(struct mesos_record *rec, void *arg)
{
	struct counter_arg *c = arg;

	c->records++;
	c->snapshots += mesos_rec_is_snapshot(rec->type);
	apply_record(&c->m, rec, 0, 1000);
}

/* Feeds buf in chunks of `chunk` bytes; returns the table printed. */
static char *feed_chunks(const char *buf, size_t len, size_t chunk, size_t *records)
{
	struct counter_arg c = { 0 };
	struct mesos_parser *p;
	struct vip_table *t;
	char *s;

	c.m = model_new();
	p = mesos_parser_new(count_rec, &c);
	for (size_t i = 0; i < len; i += chunk)
		assert_int_equal(mesos_parser_feed(p, buf + i, len - i < chunk ? len - i : chunk), 0);
	assert_int_equal(mesos_parser_finish(p), 0);
	mesos_parser_free(p);
	t = rules_build(c.m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);
	s = print(t);
	vip_table_free(t);
	model_free(c.m);
	if (records)
		*records = c.records;
	return s;
}

/* The table of a model, printed. */
static char *print_model(const struct model *m)
{
	struct vip_table *t = rules_build(m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);
	char *s = print(t);

	vip_table_free(t);
	return s;
}

/* The same stream as one JSON event per line and as RecordIO. */
static void test_recordio_equals_lines(void **state)
{
	size_t len, rlen = 0, n1, n2;
	char *lines = slurp("tests/fixtures/mesos/hello-overlay.json", &len);
	char *rio = malloc(len * 2 + 1000), *a, *b, *save = NULL;

	(void)state;
	for (char *l = strtok_r(lines, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		rlen += (size_t)sprintf(rio + rlen, "%zu\n%s", strlen(l), l);
	free(lines);
	lines = slurp("tests/fixtures/mesos/hello-overlay.json", &len);
	a = feed_chunks(lines, len, len, &n1);
	b = feed_chunks(rio, rlen, rlen, &n2);
	assert_string_equal(a, b);
	assert_int_equal(n1, n2);
	assert_int_equal(n1, 14); /* one record per line of the fixture */
	free(b);
	/* byte by byte, and in odd chunks, for both framings */
	b = feed_chunks(rio, rlen, 1, NULL);
	assert_string_equal(a, b);
	free(b);
	b = feed_chunks(lines, len, 7, NULL);
	assert_string_equal(a, b);
	free(b);
	free(a);
	free(lines);
	free(rio);
}

static size_t snapshots_applied;

static void count_rec_into(struct mesos_record *rec, void *arg)
{
	snapshots_applied += mesos_rec_is_snapshot(rec->type);
	apply_record(arg, rec, 0, 1000);
}

static int parse_text(const char *text, size_t *records, char *err, size_t errlen)
{
	struct counter_arg c = { 0 };
	struct mesos_parser *p;
	int rc;

	c.m = model_new();
	p = mesos_parser_new(count_rec, &c);
	rc = mesos_parser_feed(p, text, strlen(text));
	if (rc == 0)
		rc = mesos_parser_finish(p);
	snprintf(err, errlen, "%s", mesos_parser_error(p));
	mesos_parser_free(p);
	model_free(c.m);
	*records = c.records;
	return rc;
}

static void test_broken_input(void **state)
{
	size_t n;
	char err[256];

	(void)state;
	/* truncated document: nothing applied */
	assert_true(parse_text("{\"type\":\"GET_STATE\",\"get_state\":{\"get_tasks\":{\"tasks\":[",
			       &n, err, sizeof(err)) < 0);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err, "middle"));
	/* malformed JSON */
	assert_true(parse_text("{\"type\":\"GET_STATE\",}", &n, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "malformed"));
	/* not a master response at all */
	assert_true(parse_text("<html>502</html>", &n, err, sizeof(err)) < 0);
	assert_true(parse_text("", &n, err, sizeof(err)) < 0);
	/* RecordIO: a record cut short; the complete one before it applies */
	assert_true(parse_text("20\n{\"type\":\"HEARTBEAT\"}30\n{\"type\":\"HEART", &n, err,
			       sizeof(err)) < 0);
	assert_int_equal(n, 1);
	/* RecordIO: a length header longer than 12 bytes */
	assert_true(parse_text("1234567890123\n{}", &n, err, sizeof(err)) < 0);
	/* RecordIO: a record holding more or less than one object */
	assert_true(parse_text("5\n{}{}x", &n, err, sizeof(err)) < 0);
	/* a snapshot without its state is not an empty cluster */
	struct model *m = model_new();
	struct mesos_parser *mp;

	mp = mesos_parser_new(count_rec_into, &m);
	const char *bare = "{\"type\":\"GET_STATE\"}";

	assert_int_equal(mesos_parser_feed(mp, bare, strlen(bare)), 0);
	assert_int_equal(mesos_parser_finish(mp), 0);
	mesos_parser_free(mp);
	assert_int_equal(snapshots_applied, 0);
	model_free(m);
	/* deep nesting is refused, not recursed into */
	char deep[2000];

	memset(deep, '[', sizeof(deep) - 1);
	deep[0] = '{';
	deep[1] = '"';
	deep[2] = 'a';
	deep[3] = '"';
	deep[4] = ':';
	deep[sizeof(deep) - 1] = '\0';
	assert_true(parse_text(deep, &n, err, sizeof(err)) < 0);
}

/* s with every `from` replaced by `to` (malloc'd). */
static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t n = 0, fl = strlen(from), tl = strlen(to);
	char *out, *w;

	for (const char *q = s; (q = strstr(q, from)); q += fl)
		n++;
	out = malloc(strlen(s) + n * tl + 1);
	assert_non_null(out);
	w = out;
	for (const char *q; (q = strstr(s, from)); s = q + fl) {
		memcpy(w, s, (size_t)(q - s));
		w += q - s;
		memcpy(w, to, tl);
		w += tl;
	}
	strcpy(w, s);
	return out;
}

/*
 * Values under keys vipd ignores go by without callbacks (the parser
 * switches yajl's callback table): what looks like tasks and VIP labels
 * inside them changes nothing, parsing resumes right after them, and their
 * nesting still counts against the depth bound.
 */
static void test_skipped_subtrees(void **state)
{
	/* (the first two end with VIPs, the others with none) */
	static const char *const fixtures[] = {
		"tests/fixtures/mesos/hello-overlay.json", "tests/fixtures/mesos/tcp-and-udp.json",
		"tests/fixtures/mesos/operator-api.json", "tests/fixtures/mesos/hello-world.json",
	};
	/* before every task id (and status task id): a skipped object, array
	 * and scalar that look like what vipd reads */
	const char *noise = "\"zz\":{\"labels\":{\"labels\":[{\"key\":\"VIP_0\","
			    "\"value\":\"/evil:80\"}]},\"tasks\":[{\"task_id\":{\"value\":"
			    "\"e\\\"x\"}},[[],{}],1.5e3,null,true]},\"zy\":[{\"get_state\":{}}],"
			    "\"zx\":\"ports\",\"task_id\":";
	size_t len, n;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		char *doc = slurp(fixtures[i], &len);
		char *noisy = replace_all(doc, "\"task_id\":", noise);
		char *a = feed_chunks(doc, len, len, NULL);
		char *b = feed_chunks(noisy, strlen(noisy), strlen(noisy), NULL);
		char *c = feed_chunks(noisy, strlen(noisy), 5, NULL);

		if (i < 2)
			assert_non_null(strstr(a, "backends"));
		assert_null(strstr(b, "evil"));
		assert_string_equal(a, b);
		assert_string_equal(a, c);
		free(doc);
		free(noisy);
		free(a);
		free(b);
		free(c);
	}
	/* A complete but too deep skipped value is refused like any other. */
	char deep[700];
	size_t k = (size_t)sprintf(deep, "{\"type\":\"HEARTBEAT\",\"x\":");

	for (int d = 0; d < 300; d++)
		deep[k + (size_t)d] = d < 150 ? '[' : ']';
	strcpy(deep + k + 300, "}");
	assert_true(parse_text(deep, &n, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "deep"));
	assert_int_equal(n, 0);
	/* ... and one within the bound is skipped */
	k = (size_t)sprintf(deep, "{\"type\":\"HEARTBEAT\",\"x\":");
	for (int d = 0; d < 200; d++)
		deep[k + (size_t)d] = d < 100 ? '[' : ']';
	strcpy(deep + k + 200, "}");
	assert_int_equal(parse_text(deep, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
}

/* Feeds doc into a parser whose records apply to *live (shared tasks on). */
static void feed_live(struct model **live, const char *doc)
{
	struct mesos_parser *p = mesos_parser_new(count_rec_into, live);

	mesos_parser_set_live(p, live);
	assert_int_equal(mesos_parser_feed(p, doc, strlen(doc)), 0);
	assert_int_equal(mesos_parser_finish(p), 0);
	mesos_parser_free(p);
}

/*
 * A snapshot that repeats the live model's tasks shares their records
 * instead of copying them (the daemon's peak while it polls); a changed
 * task gets a new one; the tables are those of a fresh parse, and a
 * snapshot refused half way leaves the live model whole.
 */
static void test_snapshot_shares_live_tasks(void **state)
{
	size_t len;
	char *doc = slurp("tests/fixtures/mesos/tcp-and-udp.json", &len);
	char *changed = replace_all(doc, "1540582635.261834", "1540582699.5");
	char *cut = strdup(doc);
	struct model *live = model_new();
	struct task_rec *before[64], *t;
	char *ids[64];
	const char *id;
	char *want, *got;
	size_t i = 0, n = 0, same = 0;
	void *v;

	(void)state;
	feed_live(&live, doc);
	while (n < 64 && strmap_next(&live->tasks, &i, &id, &v)) {
		ids[n] = strdup(id);
		before[n++] = v;
	}
	assert_true(n > 0);
	want = feed_chunks(doc, len, len, NULL);
	/* the same snapshot again: every record shared, then the only one */
	feed_live(&live, doc);
	assert_int_equal(live->tasks.n, n);
	for (size_t k = 0; k < n; k++) {
		assert_ptr_equal(strmap_get(&live->tasks, ids[k]), before[k]);
		assert_int_equal(before[k]->extra, 0);
	}
	got = print_model(live);
	assert_string_equal(want, got);
	free(got);
	/* a snapshot cut short: nothing applied, the live tasks untouched */
	cut[len / 2] = '\0';
	{
		struct mesos_parser *p = mesos_parser_new(count_rec_into, &live);

		mesos_parser_set_live(p, &live);
		mesos_parser_feed(p, cut, strlen(cut));
		assert_true(mesos_parser_finish(p) < 0);
		mesos_parser_free(p);
	}
	for (size_t k = 0; k < n; k++)
		assert_int_equal(before[k]->extra, 0);
	/* one status newer: that task a new record, the others still shared */
	feed_live(&live, changed);
	i = 0;
	while (strmap_next(&live->tasks, &i, &id, &v)) {
		t = v;
		for (size_t k = 0; k < n; k++)
			same += t == before[k];
	}
	assert_int_equal(same, n - 1);
	free(want);
	want = feed_chunks(changed, strlen(changed), strlen(changed), NULL);
	got = print_model(live);
	assert_string_equal(want, got);
	free(got);
	free(want);
	model_free(live);
	for (size_t k = 0; k < n; k++)
		free(ids[k]);
	free(doc);
	free(changed);
	free(cut);
}

static void test_legacy_state_json(void **state)
{
	char *s;
	const char *doc =
		"{\"version\":\"1.4.1\",\"slaves\":[{\"id\":\"s1\",\"hostname\":\"10.0.0.7\"}],"
		"\"frameworks\":[{\"id\":\"f1\",\"name\":\"marathon\",\"tasks\":[{\"id\":\"t1\","
		"\"name\":\"web\",\"framework_id\":\"f1\",\"slave_id\":\"s1\",\"state\":"
		"\"TASK_RUNNING\",\"resources\":{\"cpus\":1,\"ports\":\"[31000-31001, 31010-31010]\"},"
		"\"labels\":[{\"key\":\"VIP_PORT2\",\"value\":\"tcp://10.1.1.1:80\"}],"
		"\"statuses\":[{\"state\":\"TASK_RUNNING\",\"timestamp\":1}]}],"
		"\"completed_tasks\":[{\"id\":\"old\",\"framework_id\":\"f1\",\"slave_id\":\"s1\","
		"\"state\":\"TASK_RUNNING\",\"labels\":[{\"key\":\"VIP_PORT0\",\"value\":"
		"\"tcp://10.1.1.2:80\"}],\"resources\":{\"ports\":\"[1-1]\"}}]}]}";

	(void)state;
	s = feed_chunks(doc, strlen(doc), 5, NULL);
	assert_string_equal(s, "{\"vips\":[{\"protocol\":\"tcp\",\"ip\":\"10.1.1.1\",\"port\":80,"
			       "\"labels\":[\"10.1.1.1:80\"],\"backends\":[{\"ip\":\"10.0.0.7\","
			       "\"port\":31010,\"agent_ip\":\"10.0.0.7\",\"weight\":1}]}]}\n");
	free(s);
}

/* Timestamps read by the fast path are bit for bit what strtod reads, and
 * what it may not read exactly is left to strtod. */
static void test_decimal_equals_strtod(void **state)
{
	static const char *const fixed[] = {
		"1540582619.254188", "0.1", "0.3", "9007199254740992", "900719925474099.2",
		"1.000000000000001", "123456789012345678", "5e-324", "1e3", "-1.5", ".", "1.",
		"", "12.34.5", "9007199254740993", "0.0000000000000000001",
	};
	char buf[64];
	double d;
	unsigned seed = 1;

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		const char *s = fixed[i];

		if (mesos_decimal(s, strlen(s), &d) == 0)
			assert_memory_equal(&d, &(double){ strtod(s, NULL) }, sizeof(d));
	}
	assert_int_equal(mesos_decimal("1540582619.254188", 17, &d), 0);
	assert_int_equal(mesos_decimal("9007199254740993", 16, &d), -1); /* over 2^53 */
	assert_int_equal(mesos_decimal("1e3", 3, &d), -1);
	assert_int_equal(mesos_decimal("1.", 2, &d), -1);
	for (int i = 0; i < 200000; i++) {
		unsigned long long mant;
		int digits, point, n;

		seed = seed * 1103515245u + 12345u;
		digits = 1 + (int)(seed >> 16) % 17;
		seed = seed * 1103515245u + 12345u;
		point = (int)(seed >> 16) % digits;
		mant = 0;
		for (int k = 0; k < digits; k++) {
			seed = seed * 1103515245u + 12345u;
			mant = mant * 10 + (seed >> 16) % 10;
		}
		n = snprintf(buf, sizeof(buf), "%0*llu", digits, mant);
		if (point) { /* "ddd.ddd" */
			memmove(buf + n - point + 1, buf + n - point, (size_t)point + 1);
			buf[n - point] = '.';
			n++;
		}
		if (mesos_decimal(buf, (size_t)n, &d) == 0)
			assert_memory_equal(&d, &(double){ strtod(buf, NULL) }, sizeof(d));
		else
			assert_true(mant > (1ull << 53));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_hello_overlay),
		cmocka_unit_test(test_fixture_tcp_and_udp),
		cmocka_unit_test(test_fixture_empty_tables),
		cmocka_unit_test(test_recordio_equals_lines),
		cmocka_unit_test(test_broken_input),
		cmocka_unit_test(test_skipped_subtrees),
		cmocka_unit_test(test_snapshot_shares_live_tasks),
		cmocka_unit_test(test_legacy_state_json),
		cmocka_unit_test(test_decimal_equals_strtod),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
