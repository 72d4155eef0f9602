// SPDX-License-Identifier: Apache-2.0
/* Following the VIP table by deltas (vip_follow.c): a random sequence of
 * changes applied as deltas gives exactly the candidates and the plan the
 * full snapshots give; deltas that do not fit are refused, cand intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipvsd/plan.h"
#include "ipvsd/vip_follow.h"
#include "tests/ipvsd_rand_vips.h"

#define MAXV 300
#define FAST_MAX 64

/* A table as the test keeps it, and as protobuf messages pointing into it. */
struct table {
	struct vspec v[MAXV];
	size_t n;
	uint64_t gen;
	L4lb__V1__Vip vips[MAXV], *vp[MAXV];
	L4lb__V1__Backend bs[MAXV][MAXB], *bp[MAXV][MAXB];
	L4lb__V1__VipTable vt;
};

static const struct desired_cfg cfg = { .sched = "wlc", .node_ip = { 10, 1, 0, 1 },
					.node_ip_len = 4 };

static long find(const struct table *t, const struct vspec *v)
{
	for (size_t i = 0; i < t->n; i++)
		if (vspec_same_key(&t->v[i], v))
			return (long)i;
	return -1;
}

/* One random change, now and then many at once. */
static void step(struct table *t)
{
	unsigned what = rnd(100);
	struct vspec v;

	t->gen++;
	if (what < 40 && t->n) {
		struct vspec *p = &t->v[rnd((unsigned)t->n)];

		if (p->nb)
			p->b[rnd((unsigned)p->nb)].weight ^= 1;
	} else if (what < 55 && t->n) {
		vspec_backend_step(&t->v[rnd((unsigned)t->n)]);
	} else if (what < 72 && t->n < MAXV) {
		rand_vip(&v, 0);
		if (find(t, &v) < 0)
			t->v[t->n++] = v;
	} else if (what < 88 && t->n) {
		t->n--;
		t->v[rnd((unsigned)t->n + 1)] = t->v[t->n];
	} else {
		for (int i = 0; i < 90 && t->n; i++) {
			struct vspec *p = &t->v[rnd((unsigned)t->n)];

			if (p->nb)
				p->b[0].weight++;
		}
	}
}

static void table_pb(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct vspec *s = &t->v[i];
		L4lb__V1__Vip *v = &t->vips[i];

		l4lb__v1__vip__init(v);
		v->has_protocol = v->has_ip = v->has_port = v->has_family = 1;
		v->protocol = (L4lb__V1__Protocol)s->proto;
		v->ip.data = (uint8_t *)s->ip;
		v->ip.len = s->iplen;
		v->port = s->port;
		v->family = s->iplen == 4 ? L4LB__V1__FAMILY__INET : L4LB__V1__FAMILY__INET6;
		for (size_t j = 0; j < s->nb; j++) {
			L4lb__V1__Backend *b = &t->bs[i][j];

			l4lb__v1__backend__init(b);
			b->has_ip = b->has_port = b->has_weight = b->has_agent_ip = 1;
			b->ip.data = (uint8_t *)s->b[j].ip;
			b->ip.len = s->iplen == 4 ? 4 : 0; /* IPv6 VIPs: invalid backends */
			b->port = s->b[j].port;
			b->weight = s->b[j].weight;
			b->agent_ip.data = (uint8_t *)s->b[j].agent;
			b->agent_ip.len = 4;
			t->bp[i][j] = b;
		}
		v->backends = t->bp[i];
		v->n_backends = s->nb;
		t->vp[i] = v;
	}
	t->vt = (L4lb__V1__VipTable)L4LB__V1__VIP_TABLE__INIT;
	t->vt.has_generation = t->vt.has_publisher_epoch = 1;
	t->vt.generation = t->gen;
	t->vt.publisher_epoch = 7;
	t->vt.vips = t->vp;
	t->vt.n_vips = t->n;
}

static int vip_differs(L4lb__V1__Vip *a, L4lb__V1__Vip *b)
{
	uint8_t x[1024], y[1024];
	size_t n = l4lb__v1__vip__pack(a, x), m = l4lb__v1__vip__pack(b, y);

	return n != m || memcmp(x, y, n);
}

/* The delta from a to b (both table_pb'd), as vipd makes it. */
static void make_delta(struct table *a, struct table *b, L4lb__V1__VipTableDelta *d,
		       L4lb__V1__VipKey *rk, L4lb__V1__VipKey **rp, L4lb__V1__Vip **up)
{
	l4lb__v1__vip_table_delta__init(d);
	d->has_publisher_epoch = d->has_base_generation = d->has_generation = 1;
	d->publisher_epoch = 7;
	d->base_generation = a->gen;
	d->generation = b->gen;
	d->upserted = up;
	d->removed = rp;
	for (size_t i = 0; i < a->n; i++) {
		if (find(b, &a->v[i]) >= 0)
			continue;
		l4lb__v1__vip_key__init(&rk[d->n_removed]);
		rk[d->n_removed].has_protocol = rk[d->n_removed].has_ip = 1;
		rk[d->n_removed].has_port = 1;
		rk[d->n_removed].protocol = a->vips[i].protocol;
		rk[d->n_removed].ip = a->vips[i].ip;
		rk[d->n_removed].port = a->vips[i].port;
		rp[d->n_removed] = &rk[d->n_removed];
		d->n_removed++;
	}
	for (size_t i = 0; i < b->n; i++) {
		long j = find(a, &b->v[i]);

		if (j < 0 || vip_differs(&a->vips[j], &b->vips[i]))
			up[d->n_upserted++] = &b->vips[i];
	}
}

/* The plan as text, one op per line. */
static void plan_text(const struct plan *p, char *out, size_t size)
{
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < p->n && o < size; i++) {
		char buf[160];

		o += (size_t)snprintf(out + o, size - o, "%s\n",
				      plan_op_format(&p->ops[i], buf, sizeof(buf)));
	}
}

static void drains_copy(struct drains *to, const struct drains *from)
{
	drains_clear(to);
	to->d = malloc((from->n + 1) * sizeof(*to->d));
	assert_non_null(to->d);
	if (from->n)
		memcpy(to->d, from->d, from->n * sizeof(*to->d));
	to->n = from->n;
	to->cap = from->n + 1;
}

static struct table ta, tb;

static void random_sequence(unsigned seed)
{
	struct table *prev = &ta, *next = &tb, *x;
	struct ipvs_table *cand, *kernel = ipvs_table_new();
	struct key_set addrs = { 0 }, members = { 0 };
	struct vip_range r[2];
	struct owned owned = { .ranges = r, .n = 2 };
	struct drains dk = { 0 }, df = { 0 };
	static L4lb__V1__VipKey rk[MAXV], *rp[MAXV];
	static L4lb__V1__Vip *up[MAXV];
	static char pk[1 << 16], pf[1 << 16];
	const uint8_t reach_ip[2][4] = { { 10, 1, 0, 0 }, { 10, 1, 1, 1 } };
	ProtobufCBinaryData reach_b[2] = { { 4, (uint8_t *)reach_ip[0] },
					   { 4, (uint8_t *)reach_ip[1] } };
	L4lb__V1__Reachability rpb = L4LB__V1__REACHABILITY__INIT;
	struct reach_set *reach;
	size_t applied = 0, listed = 0;

	srandom(seed);
	rpb.reachable = reach_b;
	rpb.n_reachable = 2;
	reach = reach_set_from_pb(&rpb);
	assert_int_equal(vip_range_parse("11.0.0.0/8", &r[0]), 0);
	assert_int_equal(vip_range_parse("fd00::/8", &r[1]), 0);
	memset(prev, 0, sizeof(*prev));
	for (int i = 0; i < 60; i++)
		step(prev);
	table_pb(prev);
	cand = desired_candidates(&prev->vt, &cfg);
	assert_non_null(cand);
	{ /* the kernel starts with the first table programmed */
		struct ipvs_table *w = desired_build(cand, reach, NULL);
		struct plan p0 = { 0 };
		struct plan_input in0 = { .desired = w, .kernel = kernel, .addrs = &addrs,
					  .members = &members, .owned = &owned, .drains = &df,
					  .grace_ms = 1u << 30 };

		assert_int_equal(plan_build(&in0, &p0), 0);
		for (size_t i = 0; i < p0.n; i++)
			plan_op_model(&p0.ops[i], kernel, &addrs, &members);
		plan_free_ops(&p0);
		ipvs_table_free(w);
	}
	for (int round = 0; round < 1500; round++) {
		L4lb__V1__VipTableDelta d;
		struct svc_key keys[FAST_MAX];
		struct ipvs_table *full, *want_k, *want_f;
		struct plan plk = { 0 }, plf = { 0 };
		struct plan_input in;
		size_t n = 0;

		*next = *prev;
		step(next);
		table_pb(prev); /* (the copy's pointers point into prev: rebuild both) */
		table_pb(next);
		make_delta(prev, next, &d, rk, rp, up);
		assert_int_equal(vip_follow_check(1, 7, prev->gen, &d), FOLLOW_APPLY);
		assert_int_equal(vip_follow_apply(cand, &d, &cfg, keys, FAST_MAX, &n), 0);
		full = desired_candidates(&next->vt, &cfg);
		assert_non_null(full);
		assert_tables_equal(cand, full);
		/* the plan: the changed services only (as ipvsd does for a delta)
		 * equals the whole diff (as for a snapshot) */
		want_k = desired_build(cand, reach, NULL);
		want_f = desired_build(full, reach, NULL);
		in = (struct plan_input){ .desired = want_f, .kernel = kernel, .addrs = &addrs,
					  .members = &members, .owned = &owned, .drains = &df,
					  .now_ms = (uint64_t)round, .grace_ms = 1u << 30 };
		drains_copy(&dk, &df); /* both start from the same drains */
		assert_int_equal(plan_build(&in, &plf), 0);
		if (n <= FAST_MAX) {
			listed++;
			in.desired = want_k;
			in.drains = &dk;
			assert_int_equal(plan_build_keys(&in, keys, n, &plk), 0);
			plan_text(&plk, pk, sizeof(pk));
			plan_text(&plf, pf, sizeof(pf));
			assert_string_equal(pk, pf);
		}
		for (size_t i = 0; i < plf.n; i++)
			plan_op_model(&plf.ops[i], kernel, &addrs, &members);
		applied++;
		plan_free_ops(&plk);
		plan_free_ops(&plf);
		ipvs_table_free(full);
		ipvs_table_free(want_k);
		ipvs_table_free(want_f);
		x = prev;
		prev = next;
		next = x;
	}
	assert_true(listed > applied / 2);
	ipvs_table_free(cand);
	ipvs_table_free(kernel);
	reach_set_free(reach);
	key_set_clear(&addrs);
	key_set_clear(&members);
	drains_clear(&dk);
	drains_clear(&df);
}

static void test_random_deltas(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 4; seed++)
		random_sequence(seed);
}

static L4lb__V1__VipTableDelta delta_of(uint64_t epoch, uint64_t base, uint64_t gen)
{
	L4lb__V1__VipTableDelta d = L4LB__V1__VIP_TABLE_DELTA__INIT;

	d.has_publisher_epoch = d.has_base_generation = d.has_generation = 1;
	d.publisher_epoch = epoch;
	d.base_generation = base;
	d.generation = gen;
	return d;
}

/* Which deltas apply to the held table (epoch 7, generation 10). */
static void test_check(void **state)
{
	L4lb__V1__VipTableDelta d = delta_of(7, 10, 11);
	L4lb__V1__VipKey k = L4LB__V1__VIP_KEY__INIT, *kp = &k;

	(void)state;
	assert_int_equal(vip_follow_check(1, 7, 10, &d), FOLLOW_APPLY);
	assert_int_equal(vip_follow_check(0, 7, 10, &d), FOLLOW_RESYNC); /* no table yet */
	assert_int_equal(vip_follow_check(1, 8, 10, &d), FOLLOW_RESYNC); /* vipd restarted */
	d = delta_of(7, 11, 12); /* one was lost */
	assert_int_equal(vip_follow_check(1, 7, 10, &d), FOLLOW_RESYNC);
	d = delta_of(7, 9, 10); /* republished, or already in a snapshot */
	assert_int_equal(vip_follow_check(1, 7, 10, &d), FOLLOW_CURRENT);
	d = delta_of(7, 8, 9);
	assert_int_equal(vip_follow_check(1, 7, 10, &d), FOLLOW_CURRENT);
	d = delta_of(7, 10, 10); /* heartbeat: up to date */
	assert_int_equal(vip_follow_check(1, 7, 10, &d), FOLLOW_CURRENT);
	d = delta_of(7, 12, 12); /* heartbeat: behind */
	assert_int_equal(vip_follow_check(1, 7, 10, &d), FOLLOW_RESYNC);
	d = delta_of(7, 9, 12); /* spans the held table: cannot be applied in part */
	assert_int_equal(vip_follow_check(1, 7, 10, &d), FOLLOW_RESYNC);
	d = delta_of(7, 12, 11); /* base after its own generation */
	assert_int_equal(vip_follow_check(1, 7, 10, &d), FOLLOW_BAD);
	d = delta_of(7, 11, 11); /* a heartbeat with content */
	d.removed = &kp;
	d.n_removed = 1;
	assert_int_equal(vip_follow_check(1, 7, 10, &d), FOLLOW_BAD);
	d = delta_of(7, 10, 11);
	d.has_base_generation = 0;
	assert_int_equal(vip_follow_check(1, 7, 10, &d), FOLLOW_BAD);
}

/* Deltas that do not apply cleanly leave cand as it was. */
static void test_unclean(void **state)
{
	struct ipvs_table *cand, *before;
	struct svc_key keys[FAST_MAX];
	L4lb__V1__VipTableDelta d;
	L4lb__V1__VipKey k = L4LB__V1__VIP_KEY__INIT, *kp = &k;
	L4lb__V1__Vip *up[2];
	uint8_t other[4] = { 11, 9, 9, 9 };
	size_t n = 0;

	(void)state;
	srandom(99);
	memset(&ta, 0, sizeof(ta));
	for (int i = 0; i < 20; i++)
		step(&ta);
	table_pb(&ta);
	assert_true(ta.n >= 2);
	cand = desired_candidates(&ta.vt, &cfg);
	before = ipvs_table_dup(cand);
	/* removes a VIP that is not there */
	d = delta_of(7, ta.gen, ta.gen + 1);
	k.has_protocol = k.has_ip = k.has_port = 1;
	k.protocol = L4LB__V1__PROTOCOL__TCP;
	k.ip = (ProtobufCBinaryData){ 4, other };
	k.port = 80;
	d.removed = &kp;
	d.n_removed = 1;
	assert_int_equal(vip_follow_apply(cand, &d, &cfg, keys, FAST_MAX, &n), -ESRCH);
	assert_tables_equal(cand, before);
	/* a removed key that is no VIP key (port 0) */
	k.port = 0;
	assert_int_equal(vip_follow_apply(cand, &d, &cfg, keys, FAST_MAX, &n), -EPROTO);
	assert_tables_equal(cand, before);
	/* one VIP upserted twice */
	d = delta_of(7, ta.gen, ta.gen + 1);
	up[0] = up[1] = ta.vp[0];
	d.upserted = up;
	d.n_upserted = 2;
	assert_int_equal(vip_follow_apply(cand, &d, &cfg, keys, FAST_MAX, &n), -EPROTO);
	/* upserted and removed at once */
	d.n_upserted = 1;
	k = (L4lb__V1__VipKey)L4LB__V1__VIP_KEY__INIT;
	k.has_protocol = k.has_ip = k.has_port = 1;
	k.protocol = ta.vp[0]->protocol;
	k.ip = ta.vp[0]->ip;
	k.port = ta.vp[0]->port;
	d.removed = &kp;
	d.n_removed = 1;
	assert_int_equal(vip_follow_apply(cand, &d, &cfg, keys, FAST_MAX, &n), -EPROTO);
	assert_tables_equal(cand, before);
	/* a VIP with an invalid key */
	ta.vips[1].port = 0;
	d.upserted = &ta.vp[1];
	d.n_removed = 0;
	assert_int_equal(vip_follow_apply(cand, &d, &cfg, keys, FAST_MAX, &n), -EPROTO);
	assert_tables_equal(cand, before);
	/* the same VIP again changes nothing and lists its key */
	table_pb(&ta);
	d.upserted = &ta.vp[0];
	assert_int_equal(vip_follow_apply(cand, &d, &cfg, keys, FAST_MAX, &n), 0);
	assert_int_equal(n, 1);
	assert_tables_equal(cand, before);
	/* more than max changed: not listed */
	assert_int_equal(vip_follow_apply(cand, &d, &cfg, keys, 0, &n), 0);
	assert_int_equal(n, 1);
	ipvs_table_free(cand);
	ipvs_table_free(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_deltas),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_unclean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
