// SPDX-License-Identifier: Apache-2.0
/*
 * A snapshot overtaken by a delta: ipvsd asks vipd for a snapshot, a delta
 * arrives first and takes the table past it, then the reply comes. ipvsd
 * leaves that older table alone (it would step back), and the subscription
 * counts it as ipc_snapshots_skipped, not ipc_snapshots_applied. Fed the
 * way ipvsd's main.c wires it: a subscriber (here without sockets,
 * ipc_sub_receive) with the raw hooks, the deltas straight to
 * reconcile_on_vip_delta. The reconciler runs in dry-run mode. Also the
 * requests held back within the second after one, and what a restarted
 * vipd (a new epoch) answers and leaves over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/counters.h"
#include "ipvsd/options.h"
#include "ipvsd/reconcile.h"

#define EPOCH 5

static char state_dir[] = "/tmp/test_ipvsd_snapshot_skip.XXXXXX";
static uint8_t vip_ip[4] = { 11, 0, 0, 1 }, be_ip[4] = { 10, 0, 0, 11 };

/* 11.0.0.1:80/tcp -> 10.0.0.11:8080 at `weight`, into *v (b, bp its storage). */
static void make_vip(L4lb__V1__Vip *v, L4lb__V1__Backend *b, L4lb__V1__Backend **bp,
		     uint32_t weight)
{
	l4lb__v1__vip__init(v);
	v->has_protocol = v->has_ip = v->has_port = v->has_family = 1;
	v->protocol = L4LB__V1__PROTOCOL__TCP;
	v->family = L4LB__V1__FAMILY__INET;
	v->ip.data = vip_ip;
	v->ip.len = 4;
	v->port = 80;
	l4lb__v1__backend__init(b);
	b->has_ip = b->has_port = b->has_weight = b->has_agent_ip = 1;
	b->ip.data = be_ip;
	b->ip.len = 4;
	b->port = 8080;
	b->weight = weight;
	b->agent_ip = b->ip;
	*bp = b;
	v->backends = bp;
	v->n_backends = 1;
}

static void pack_table_of(uint64_t epoch, uint64_t gen, uint32_t weight, struct ipc_buf *out)
{
	L4lb__V1__Vip v, *vp = &v;
	L4lb__V1__Backend b, *bp;
	L4lb__V1__VipTable vt = L4LB__V1__VIP_TABLE__INIT;
	Envelope env = L4LB__V1__ENVELOPE__INIT;

	make_vip(&v, &b, &bp, weight);
	vt.has_generation = vt.has_publisher_epoch = 1;
	vt.generation = gen;
	vt.publisher_epoch = epoch;
	vt.vips = &vp;
	vt.n_vips = 1;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE;
	env.vip_table = &vt;
	assert_int_equal(envelope_pack(&env, out), 0);
}

static void pack_table(uint64_t gen, uint32_t weight, struct ipc_buf *out)
{
	pack_table_of(EPOCH, gen, weight, out);
}

/* base -> gen of epoch: the one VIP with its backend at `weight` (a
 * heartbeat, base = gen, carries nothing). */
static void pack_delta_of(uint64_t epoch, uint64_t base, uint64_t gen, uint32_t weight,
			  struct ipc_buf *out)
{
	L4lb__V1__Vip v, *vp = &v;
	L4lb__V1__Backend b, *bp;
	L4lb__V1__VipTableDelta d = L4LB__V1__VIP_TABLE_DELTA__INIT;
	Envelope env = L4LB__V1__ENVELOPE__INIT;

	make_vip(&v, &b, &bp, weight);
	d.has_publisher_epoch = d.has_base_generation = d.has_generation = 1;
	d.publisher_epoch = epoch;
	d.base_generation = base;
	d.generation = gen;
	d.upserted = base == gen ? NULL : &vp;
	d.n_upserted = base != gen;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE_DELTA;
	env.vip_table_delta = &d;
	assert_int_equal(envelope_pack(&env, out), 0);
}

static void pack_delta(uint64_t base, uint64_t gen, uint32_t weight, struct ipc_buf *out)
{
	pack_delta_of(EPOCH, base, gen, weight, out);
}

static char vip_generation[32];

static void kv(const char *key, const char *value, void *kvarg)
{
	(void)kvarg;
	if (!strcmp(key, "vip_generation"))
		snprintf(vip_generation, sizeof(vip_generation), "%s", value);
}

static const char *generation_held(struct reconciler *r)
{
	vip_generation[0] = 0;
	reconcile_status(kv, NULL, r);
	return vip_generation;
}

/* A dry-run reconciler fed as ipvsd's main.c wires it: the subscription
 * (here without sockets: ipc_sub_receive) with the raw hooks, and the
 * reconciler asking it for snapshots. */
struct fx {
	struct event_base *base;
	struct reconciler *r;
	struct ipc_sub *sub;
};

static struct fx fx_new(void)
{
	struct reconcile_cfg cfg;
	struct fx f = { event_base_new(), NULL, NULL };

	assert_non_null(f.base);
	ipvsd_options_defaults(&cfg);
	cfg.dry_run = 1;
	cfg.state_dir = state_dir;
	cfg.ifname = "l4lbskip0"; /* looked up, never created in a dry run */
	assert_int_equal(reconcile_new(f.base, &cfg, &f.r), 0);
	f.sub = ipc_sub_detached(L4LB__V1__ENVELOPE__TYPE__VIP_TABLE, reconcile_on_vip_table, f.r);
	assert_non_null(f.sub);
	ipc_sub_set_raw(f.sub, reconcile_vip_peek, reconcile_vip_apply);
	reconcile_set_vip_source(f.r, f.sub);
	return f;
}

static void fx_free(struct fx *f)
{
	ipc_sub_close(f->sub);
	reconcile_free(f->r);
	event_base_free(f->base);
}

static void test_overtaken_snapshot_skipped(void **state)
{
	struct fx f = fx_new();
	struct reconciler *r = f.r;
	struct ipc_sub *sub = f.sub;
	struct ipc_buf snap1, delta2;
	uint64_t applied0 = counter_value("ipc_snapshots_applied");
	uint64_t skipped0 = counter_value("ipc_snapshots_skipped");
	uint64_t behind0 = counter_value("vip_tables_behind");

	(void)state;
	pack_table(1, 1, &snap1);
	pack_delta(1, 2, 0, &delta2);

	ipc_sub_receive(sub, snap1.data, snap1.len, 0);
	assert_int_equal(counter_value("ipc_snapshots_applied"), applied0 + 1);
	assert_string_equal(generation_held(r), "1");

	ipc_sub_request(sub); /* the check asks for a snapshot ... */
	reconcile_on_vip_delta(delta2.data, delta2.len, r); /* ... a delta comes first */
	assert_string_equal(generation_held(r), "2");
	ipc_sub_receive(sub, snap1.data, snap1.len, 1); /* ... then the reply, of generation 1 */

	assert_string_equal(generation_held(r), "2"); /* not stepped back */
	assert_int_equal(counter_value("vip_tables_behind"), behind0 + 1);
	assert_int_equal(counter_value("ipc_snapshots_skipped"), skipped0 + 1);
	assert_int_equal(counter_value("ipc_snapshots_applied"), applied0 + 1);

	ipc_buf_free(&snap1);
	ipc_buf_free(&delta2);
	fx_free(&f);
}

static char resync_pending[8];

static void kv_pending(const char *key, const char *value, void *kvarg)
{
	(void)kvarg;
	if (!strcmp(key, "vip_resync_pending"))
		snprintf(resync_pending, sizeof(resync_pending), "%s", value);
}

static const char *pending(struct reconciler *r)
{
	resync_pending[0] = 0;
	reconcile_status(kv_pending, NULL, r);
	return resync_pending;
}

/* Within the second after a snapshot request: a gap (delta 4 -> 5 while 2
 * is held) holds a request back for table 5; a malformed delta then must
 * not lower that to "anything newer than 2": a snapshot of 3 does not
 * answer it (the change of 5 is still missing), one of 5 does. */
static void test_held_request_keeps_newest_wanted(void **state)
{
	struct fx f = fx_new();
	struct reconciler *r = f.r;
	struct ipc_sub *sub = f.sub;
	struct ipc_buf snap1, delta2, gap4, gap5, snap3, snap5;
	uint64_t asked0 = counter_value("vip_snapshot_requests");

	(void)state;
	pack_table(1, 1, &snap1);
	pack_delta(1, 2, 0, &delta2);
	pack_delta(3, 4, 1, &gap4);
	pack_delta(4, 5, 1, &gap5);
	pack_table(3, 1, &snap3);
	pack_table(5, 1, &snap5);

	ipc_sub_receive(sub, snap1.data, snap1.len, 0);
	reconcile_on_vip_delta(delta2.data, delta2.len, r);
	assert_string_equal(generation_held(r), "2");
	reconcile_on_vip_delta(gap4.data, gap4.len, r); /* asked at once */
	assert_int_equal(counter_value("vip_snapshot_requests"), asked0 + 1);
	reconcile_on_vip_delta(gap5.data, gap5.len, r); /* held back: wants 5 */
	assert_string_equal(pending(r), "1");
	reconcile_on_vip_delta("\x01\x02", 2, r);     /* malformed, held back too */
	assert_int_equal(counter_value("vip_snapshot_requests"), asked0 + 1);

	ipc_sub_receive(sub, snap3.data, snap3.len, 1); /* the reply to the first */
	assert_string_equal(generation_held(r), "3");
	assert_string_equal(pending(r), "1");
	ipc_sub_receive(sub, snap5.data, snap5.len, 0);
	assert_string_equal(generation_held(r), "5");
	assert_string_equal(pending(r), "0");

	ipc_buf_free(&snap1);
	ipc_buf_free(&delta2);
	ipc_buf_free(&gap4);
	ipc_buf_free(&gap5);
	ipc_buf_free(&snap3);
	ipc_buf_free(&snap5);
	fx_free(&f);
}

/* vipd restarted (epoch 7): its first delta asks for a snapshot; the old
 * run's last delta, repeated as its heartbeat, is read after the new run's
 * snapshot (it was queued on the delta socket, the reply came on the
 * request socket): it is a leftover, not a reason to ask again. A delta of
 * the old epoch newer than any heard of from it still is. */
static void test_left_over_delta_ignored(void **state)
{
	struct fx f = fx_new();
	struct reconciler *r = f.r;
	struct ipc_sub *sub = f.sub;
	struct ipc_buf snap1, delta2, beat7, snap7, delta3;
	uint64_t asked0 = counter_value("vip_snapshot_requests");
	uint64_t left0 = counter_value("vip_deltas_left_over");

	(void)state;
	pack_table(1, 1, &snap1);
	pack_delta(1, 2, 0, &delta2);
	pack_delta_of(7, 3, 3, 0, &beat7);
	pack_table_of(7, 3, 0, &snap7);
	pack_delta(2, 3, 1, &delta3);

	ipc_sub_receive(sub, snap1.data, snap1.len, 0);
	reconcile_on_vip_delta(delta2.data, delta2.len, r);
	assert_string_equal(generation_held(r), "2");
	reconcile_on_vip_delta(beat7.data, beat7.len, r); /* new epoch: asked at once */
	assert_int_equal(counter_value("vip_snapshot_requests"), asked0 + 1);
	ipc_sub_receive(sub, snap7.data, snap7.len, 1);
	assert_string_equal(generation_held(r), "3");

	reconcile_on_vip_delta(delta2.data, delta2.len, r); /* the old run's heartbeat */
	assert_string_equal(pending(r), "0");
	assert_int_equal(counter_value("vip_snapshot_requests"), asked0 + 1);
	assert_int_equal(counter_value("vip_deltas_left_over"), left0 + 1);
	assert_string_equal(generation_held(r), "3");

	reconcile_on_vip_delta(delta3.data, delta3.len, r); /* newer: not a leftover */
	assert_int_equal(counter_value("vip_deltas_left_over"), left0 + 1);
	assert_string_equal(pending(r), "1"); /* (within the second of the last request) */

	ipc_buf_free(&snap1);
	ipc_buf_free(&delta2);
	ipc_buf_free(&beat7);
	ipc_buf_free(&snap7);
	ipc_buf_free(&delta3);
	fx_free(&f);
}

/* A request held back for a delta of the running vipd (a gap) is answered
 * by a snapshot of its successor (restarted meanwhile): whatever the old
 * run wanted to say, the new run's table replaces it. */
static void test_new_epoch_answers_held_request(void **state)
{
	struct fx f = fx_new();
	struct reconciler *r = f.r;
	struct ipc_sub *sub = f.sub;
	struct ipc_buf snap1, gap4, gap5, snap7;
	uint64_t asked0 = counter_value("vip_snapshot_requests");
	uint64_t answered0 = counter_value("vip_resyncs_answered");

	(void)state;
	pack_table(1, 1, &snap1);
	pack_delta(3, 4, 1, &gap4);
	pack_delta(4, 5, 0, &gap5);
	pack_table_of(7, 9, 1, &snap7);

	ipc_sub_receive(sub, snap1.data, snap1.len, 0);
	reconcile_on_vip_delta(gap4.data, gap4.len, r); /* asked at once */
	reconcile_on_vip_delta(gap5.data, gap5.len, r); /* held back: wants 5 of epoch 5 */
	assert_int_equal(counter_value("vip_snapshot_requests"), asked0 + 1);
	assert_string_equal(pending(r), "1");

	ipc_sub_receive(sub, snap7.data, snap7.len, 1); /* the reply: the new run's */
	assert_string_equal(generation_held(r), "9");
	assert_string_equal(pending(r), "0");
	assert_int_equal(counter_value("vip_resyncs_answered"), answered0 + 1);
	reconcile_on_vip_delta(gap5.data, gap5.len, r); /* the old run's heartbeat: a leftover */
	assert_string_equal(pending(r), "0");
	assert_int_equal(counter_value("vip_snapshot_requests"), asked0 + 1);

	ipc_buf_free(&snap1);
	ipc_buf_free(&gap4);
	ipc_buf_free(&gap5);
	ipc_buf_free(&snap7);
	fx_free(&f);
}

/* Epochs are not ordered: after the new run's (7) table, one of the run it
 * replaced can still be read (a reply it sent before it stopped, on the
 * request socket, read after the new run's publication). ipvsd holds that
 * one then, and must not take run 7, the live one, for the replaced run:
 * its heartbeat (its last delta, repeated) asks for its table again, it is
 * no leftover. */
static void test_replaced_run_table_again(void **state)
{
	struct fx f = fx_new();
	struct reconciler *r = f.r;
	struct ipc_sub *sub = f.sub;
	struct ipc_buf snap1, delta2, snap7, snap2, beat7;
	uint64_t asked0 = counter_value("vip_snapshot_requests");
	uint64_t left0 = counter_value("vip_deltas_left_over");

	(void)state;
	pack_table(1, 1, &snap1);
	pack_delta(1, 2, 0, &delta2);
	pack_table_of(7, 3, 1, &snap7);
	pack_table(2, 0, &snap2);
	pack_delta_of(7, 3, 3, 0, &beat7);

	ipc_sub_receive(sub, snap1.data, snap1.len, 0);
	reconcile_on_vip_delta(delta2.data, delta2.len, r);
	ipc_sub_receive(sub, snap7.data, snap7.len, 0); /* the new run's publication */
	assert_string_equal(generation_held(r), "3");
	ipc_sub_receive(sub, snap2.data, snap2.len, 1); /* the old run's late reply */
	assert_string_equal(generation_held(r), "2");
	assert_int_equal(counter_value("vip_snapshot_requests"), asked0);

	reconcile_on_vip_delta(beat7.data, beat7.len, r); /* run 7 is alive */
	assert_int_equal(counter_value("vip_deltas_left_over"), left0);
	assert_int_equal(counter_value("vip_snapshot_requests"), asked0 + 1);

	ipc_buf_free(&snap1);
	ipc_buf_free(&delta2);
	ipc_buf_free(&snap7);
	ipc_buf_free(&snap2);
	ipc_buf_free(&beat7);
	fx_free(&f);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(state_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[sizeof(state_dir) + 32];

	(void)state;
	snprintf(path, sizeof(path), "%s/ipvsd.state", state_dir);
	unlink(path);
	return rmdir(state_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overtaken_snapshot_skipped),
		cmocka_unit_test(test_held_request_keeps_newest_wanted),
		cmocka_unit_test(test_left_over_delta_ignored),
		cmocka_unit_test(test_new_epoch_answers_held_request),
		cmocka_unit_test(test_replaced_run_table_again),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
