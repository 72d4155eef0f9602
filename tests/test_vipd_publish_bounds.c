// SPDX-License-Identifier: Apache-2.0
/*
 * The two size bounds of what vipd publishes, reached with small tables by
 * lowering them (publish_set_max_len, delta_state.max_len; 32 MiB in the
 * daemon), with vipd's core publishing on real sockets to a subscriber of
 * the snapshots and a feed of the deltas, as ipvsd has:
 * - a VIP table too large to publish: not published, counted
 *   (table_publish_failures), logged; the last table stays what the socket
 *   serves and the next table that fits follows it by an ordinary delta;
 * - a delta too large: the snapshot is published, the delta replaced by a
 *   heartbeat at its generation (counted deltas_too_large, logged), so a
 *   reader fetches the snapshot; the next delta follows that table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/ipc.h"
#include "vipd/core.h"
#include "vipd/delta.h"
#include "vipd/publish.h"

#define LIMIT 2000 /* bytes, instead of ENVELOPE_MAX_SIZE */

static char dir[] = "/tmp/test_vipd_publish.XXXXXX";

/* What the subscriber and the feed got last. */
static struct {
	uint64_t snap_gen;
	struct vip_table *snap;
	uint64_t delta_gen, delta_base;
	size_t n_upserted, n_removed;
} rx;

struct rig {
	struct event_base *base;
	struct ipc_server *srv;
	struct ipc_pub *pub;
	struct delta_state ds;
	struct vipd_options o;
	struct core *c;
	struct ipc_sub *sub;
	struct ipc_feed *feed;
	char url[3][256]; /* rep, pub, delta.pub */
};

static void on_snapshot(const Envelope *env, void *arg)
{
	const char *why;

	(void)arg;
	vip_table_free(rx.snap);
	rx.snap = publish_unpack(env, &why);
	assert_non_null(rx.snap);
	rx.snap_gen = env->vip_table->generation;
}

static int on_delta(const void *data, size_t len, void *arg)
{
	const char *why;
	Envelope *env = envelope_unpack(data, len, &why);

	(void)arg;
	assert_non_null(env);
	assert_int_equal(env->type, L4LB__V1__ENVELOPE__TYPE__VIP_TABLE_DELTA);
	/* the publisher repeats the last one: keep the newest */
	if (env->vip_table_delta->generation >= rx.delta_gen) {
		rx.delta_gen = env->vip_table_delta->generation;
		rx.delta_base = env->vip_table_delta->base_generation;
		rx.n_upserted = env->vip_table_delta->n_upserted;
		rx.n_removed = env->vip_table_delta->n_removed;
	}
	envelope_free(env);
	return 0;
}

/* n VIPs 11.0.0.<first..first+n-1>:80, each with 4 backends. */
static struct vip_table *table(unsigned first, unsigned n)
{
	struct vip_table *t = vip_table_new();

	assert_non_null(t);
	for (unsigned i = first; i < first + n; i++) {
		uint8_t ip[4] = { 11, 0, 0, (uint8_t)i };
		struct vip *v = vip_table_add(t, VIP_TCP, 4, ip, 80, NULL);

		assert_non_null(v);
		for (unsigned j = 0; j < 4; j++) {
			struct backend b = { .family = 4, .weight = 1, .port = 8080,
					     .ip = { 10, 0, (uint8_t)j, (uint8_t)i },
					     .agent_ip = { 10, 0, (uint8_t)j, 1 } };

			assert_int_equal(vip_add_backend(v, &b), 0);
		}
	}
	vip_table_sort(t);
	return t;
}

static size_t packed_size(struct vip_table *t)
{
	struct snapshot_meta meta = { 1, 1, 1, "test" };
	struct ipc_buf b;
	size_t len;

	assert_int_equal(publish_pack(t, &meta, &b), 0);
	len = b.len;
	ipc_buf_free(&b);
	return len;
}

/* Runs the loop until cond(arg) holds (1) or ms pass (0). */
static int run_for(struct rig *r, int (*cond)(uint64_t), uint64_t arg, uint64_t ms)
{
	uint64_t end = clock_mono_ms() + ms;

	while (!cond(arg)) {
		struct timeval tv = { 0, 20000 };

		if (clock_mono_ms() > end)
			return 0;
		event_base_loopexit(r->base, &tv);
		event_base_dispatch(r->base);
	}
	return 1;
}

static int run_until(struct rig *r, int (*cond)(uint64_t), uint64_t arg)
{
	return run_for(r, cond, arg, 5000);
}

static int snap_at(uint64_t gen) { return rx.snap_gen == gen; }
static int delta_at(uint64_t gen) { return rx.delta_gen == gen; }

static void rig_up(struct rig *r, struct vip_table *statics)
{
	static const char *kinds[] = { "rep", "pub", "delta.pub" };

	memset(r, 0, sizeof(*r));
	memset(&rx, 0, sizeof(rx));
	for (int i = 0; i < 3; i++)
		assert_int_equal(ipc_url(r->url[i], sizeof(r->url[i]), dir, "vipd", kinds[i]), 0);
	r->base = event_base_new();
	assert_non_null(r->srv = ipc_server_open(r->base, r->url[0]));
	assert_non_null(r->pub = ipc_pub_open(r->base, r->url[1], r->srv, 5000));
	assert_non_null(r->ds.pub = ipc_pub_open(r->base, r->url[2], NULL, 5000));
	vipd_options_defaults(&r->o); /* no master: the static VIPs are the table */
	assert_non_null(r->c = core_new(r->base, &r->o, r->pub, statics));
	r->c->delta = &r->ds;
	assert_non_null(r->sub = ipc_sub_open(r->base, r->url[1], r->url[0],
					      L4LB__V1__ENVELOPE__TYPE__VIP_TABLE, 3000,
					      on_snapshot, NULL));
	assert_non_null(r->feed = ipc_feed_open(r->base, r->url[2], on_delta, NULL));
}

static void rig_down(struct rig *r)
{
	ipc_feed_close(r->feed);
	ipc_sub_close(r->sub);
	core_free(r->c);
	ipc_pub_close(r->ds.pub);
	delta_state_clear(&r->ds);
	ipc_pub_close(r->pub);
	ipc_server_close(r->srv);
	event_base_free(r->base);
	vip_table_free(rx.snap);
	rx.snap = NULL;
	for (int i = 0; i < 3; i++)
		unlink(ipc_url_path(r->url[i]));
}

/* The static VIPs become t; then rebuilds and publishes. */
static int set_table(struct rig *r, struct vip_table *t)
{
	vip_table_free(r->c->statics);
	r->c->statics = t;
	return core_rebuild(r->c);
}

/* What the daemon's socket serves a reader that asks for the snapshot. */
static uint64_t served_generation(struct rig *r, struct vip_table **t)
{
	const char *why;
	Envelope *env = ipc_server_call(r->srv, L4LB__V1__ENVELOPE__TYPE__SNAPSHOT_REQUEST, &why);
	uint64_t gen;

	assert_non_null(env);
	assert_int_equal(env->type, L4LB__V1__ENVELOPE__TYPE__VIP_TABLE);
	gen = env->vip_table->generation;
	*t = publish_unpack(env, &why);
	assert_non_null(*t);
	envelope_free(env);
	return gen;
}

/* stderr into a file from capture_log until captured_log gives its text. */
static FILE *log_file;
static int saved_stderr = -1;

static void capture_log(void)
{
	fflush(stderr);
	assert_non_null(log_file = tmpfile());
	saved_stderr = dup(2);
	dup2(fileno(log_file), 2);
}

static char *captured_log(void)
{
	static char text[4096];
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	rewind(log_file);
	n = fread(text, 1, sizeof(text) - 1, log_file);
	text[n] = 0;
	fclose(log_file);
	return text;
}

static void test_table_too_large(void **state)
{
	struct vip_table *small = table(1, 2), *large = table(1, 40), *next = table(1, 3);
	struct vip_table *want = table(1, 2), *want_next = table(1, 3), *served;
	uint64_t failures = counter_value("table_publish_failures");
	struct rig r;

	(void)state;
	assert_true(packed_size(small) < LIMIT && packed_size(next) < LIMIT);
	assert_true(packed_size(large) > LIMIT);
	publish_set_max_len(LIMIT);
	rig_up(&r, small);
	assert_int_equal(core_rebuild(r.c), 0);
	assert_true(run_until(&r, snap_at, 1));
	assert_true(run_until(&r, delta_at, 1));

	capture_log();
	assert_int_equal(set_table(&r, large), -EMSGSIZE);
	assert_non_null(strstr(captured_log(), "packing the VIP table: Message too long; "
					       "keeping the last one"));
	assert_int_equal(counter_value("table_publish_failures"), failures + 1);
	assert_int_equal(r.c->generation, 1);
	/* the socket still serves the last table, and nothing newer went out */
	assert_int_equal(served_generation(&r, &served), 1);
	assert_true(vip_table_equal(served, want));
	vip_table_free(served);
	/* (past the publisher's first republication, at 250 ms) */
	assert_false(run_for(&r, delta_at, 2, 600));
	assert_int_equal(rx.snap_gen, 1);
	assert_int_equal(rx.delta_gen, 1);

	/* the next table that fits: generation 2, its delta from generation 1 */
	assert_int_equal(set_table(&r, next), 0);
	assert_true(run_until(&r, snap_at, 2));
	assert_true(vip_table_equal(rx.snap, want_next));
	assert_true(run_until(&r, delta_at, 2));
	assert_int_equal(rx.delta_base, 1);
	assert_int_equal(rx.n_upserted, 1); /* 11.0.0.3, the one VIP added */
	assert_int_equal(rx.n_removed, 0);
	rig_down(&r);
	publish_set_max_len(0);
	vip_table_free(want);
	vip_table_free(want_next);
}

static void test_delta_too_large(void **state)
{
	struct vip_table *small = table(1, 2), *large = table(1, 40), *next = table(1, 41);
	struct vip_table *want = table(1, 40), *want_next = table(1, 41);
	uint64_t too_large = counter_value("deltas_too_large");
	struct rig r;
	char *log;

	(void)state;
	assert_true(packed_size(large) > LIMIT);
	rig_up(&r, small);
	r.ds.max_len = LIMIT; /* the snapshots keep the real bound */
	assert_int_equal(core_rebuild(r.c), 0);
	assert_true(run_until(&r, snap_at, 1));
	assert_true(run_until(&r, delta_at, 1));

	/* 38 VIPs added: the snapshot goes out, the delta would not fit */
	capture_log();
	assert_int_equal(set_table(&r, large), 0);
	log = captured_log();
	assert_non_null(strstr(log, "VIP table delta 2: 38 VIPs changed, too large for one "
				    "message; a heartbeat instead"));
	assert_int_equal(counter_value("deltas_too_large"), too_large + 1);
	assert_true(run_until(&r, delta_at, 2));
	/* a heartbeat: base = generation, nothing in it; readers ask for the
	 * snapshot, which is the new table */
	assert_int_equal(rx.delta_base, 2);
	assert_int_equal(rx.n_upserted + rx.n_removed, 0);
	assert_true(run_until(&r, snap_at, 2));
	assert_true(vip_table_equal(rx.snap, want));

	/* the next change is a delta from that table again */
	assert_int_equal(set_table(&r, next), 0);
	assert_true(run_until(&r, delta_at, 3));
	assert_int_equal(rx.delta_base, 2);
	assert_int_equal(rx.n_upserted, 1);
	assert_int_equal(rx.n_removed, 0);
	assert_int_equal(counter_value("deltas_too_large"), too_large + 1);
	assert_true(run_until(&r, snap_at, 3));
	assert_true(vip_table_equal(rx.snap, want_next));
	rig_down(&r);
	vip_table_free(want);
	vip_table_free(want_next);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_too_large),
		cmocka_unit_test(test_delta_too_large),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
