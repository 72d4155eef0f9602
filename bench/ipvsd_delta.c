// SPDX-License-Identifier: Apache-2.0
/*
 * ipvsd's VIP table hot path without a kernel: one backend's weight changes
 * in a table of SERVICES x DESTS, and ipvsd turns the new snapshot into its
 * changed candidate services
 *   full: envelope_unpack + desired_candidates + diff against the old ones
 *         (the path before the raw hook, measured here as the baseline);
 *   fast: vipwalk_parse + vip_delta_apply (the raw snapshot path);
 *   delta: the VipTableDelta of the change (vipd.delta.pub) unpacked,
 *          checked and applied (what ipvsd does now: O(change)).
 *   ipvsd_delta SERVICES DESTS ROUNDS
 * Prints median and p99 of each and their ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/envelope.h"
#include "common/log.h"
#include "ipvsd/vip_delta.h"
#include "ipvsd/vip_follow.h"

static const struct desired_cfg cfg = { .sched = "wlc" };

struct table {
	L4lb__V1__VipTable vt;
	L4lb__V1__Vip *vips;
	L4lb__V1__Backend *bs;
	uint8_t *addrs; /* 12 bytes per backend: ip, agent, VIP */
};

static int table_make(struct table *t, size_t ns, size_t nd)
{
	t->vips = calloc(ns, sizeof(*t->vips));
	t->bs = calloc(ns * nd, sizeof(*t->bs));
	t->addrs = calloc(ns * nd + ns, 12);
	t->vt = (L4lb__V1__VipTable)L4LB__V1__VIP_TABLE__INIT;
	t->vt.vips = calloc(ns, sizeof(*t->vt.vips));
	if (!t->vips || !t->bs || !t->addrs || !t->vt.vips)
		return -1;
	for (size_t i = 0; i < ns; i++) {
		L4lb__V1__Vip *v = &t->vips[i];
		uint8_t *va = t->addrs + (ns * nd + i) * 12;

		l4lb__v1__vip__init(v);
		va[0] = 11, va[1] = (uint8_t)(i >> 16), va[2] = (uint8_t)(i >> 8), va[3] = (uint8_t)i;
		v->has_protocol = v->has_family = v->has_ip = v->has_port = 1;
		v->protocol = L4LB__V1__PROTOCOL__TCP;
		v->family = L4LB__V1__FAMILY__INET;
		v->ip = (ProtobufCBinaryData){ 4, va };
		v->port = 80;
		v->backends = calloc(nd, sizeof(*v->backends));
		if (!v->backends)
			return -1;
		for (size_t j = 0; j < nd; j++) {
			L4lb__V1__Backend *b = &t->bs[i * nd + j];
			uint8_t *a = t->addrs + (i * nd + j) * 12;

			l4lb__v1__backend__init(b);
			a[0] = 10, a[1] = (uint8_t)(j + 1), a[2] = (uint8_t)(i >> 8), a[3] = (uint8_t)i;
			a[4] = 10, a[5] = 0, a[6] = (uint8_t)j, a[7] = 1;
			b->has_ip = b->has_port = b->has_weight = b->has_agent_ip = 1;
			b->ip = (ProtobufCBinaryData){ 4, a };
			b->agent_ip = (ProtobufCBinaryData){ 4, a + 4 };
			b->port = 8080;
			b->weight = 1;
			v->backends[v->n_backends++] = b;
		}
		t->vt.vips[t->vt.n_vips++] = v;
	}
	t->vt.has_generation = t->vt.has_publisher_epoch = 1;
	t->vt.publisher_epoch = 1;
	return 0;
}

static int pack(struct table *t, struct ipc_buf *out)
{
	Envelope env = L4LB__V1__ENVELOPE__INIT;

	t->vt.generation++;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE;
	env.vip_table = &t->vt;
	return envelope_pack(&env, out);
}

/* The delta of one changed VIP, packed as vipd publishes it. */
static int pack_delta(struct table *t, L4lb__V1__Vip *v, struct ipc_buf *out)
{
	Envelope env = L4LB__V1__ENVELOPE__INIT;
	L4lb__V1__VipTableDelta d = L4LB__V1__VIP_TABLE_DELTA__INIT;

	d.has_publisher_epoch = d.has_base_generation = d.has_generation = 1;
	d.publisher_epoch = t->vt.publisher_epoch;
	d.base_generation = t->vt.generation - 1;
	d.generation = t->vt.generation;
	d.upserted = &v;
	d.n_upserted = 1;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE_DELTA;
	env.vip_table_delta = &d;
	return envelope_pack(&env, out);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *us, size_t n)
{
	qsort(us, n, sizeof(*us), u64_cmp);
	printf("  %s: median %llu us, p99 %llu us (%zu rounds)\n", what,
	       (unsigned long long)us[n / 2], (unsigned long long)us[(n * 99) / 100], n);
}

int main(int argc, char **argv)
{
	size_t ns = argc > 1 ? (size_t)atol(argv[1]) : 10000;
	size_t nd = argc > 2 ? (size_t)atol(argv[2]) : 10;
	size_t rounds = argc > 3 ? (size_t)atol(argv[3]) : 100;
	uint64_t *full_us = calloc(rounds, sizeof(uint64_t));
	uint64_t *fast_us = calloc(rounds, sizeof(uint64_t));
	uint64_t *delta_us = calloc(rounds, sizeof(uint64_t));
	struct svc_key keys[64], diff[64];
	struct vipwalk prev = { 0 }, next = { 0 };
	struct ipvs_table *cand = NULL;
	struct ipc_buf b = { 0 }, db = { 0 };
	struct table t;
	const char *why;
	size_t n;

	log_init("ipvsd_delta", LOG_LVL_WARN);
	if (!ns || !nd || !rounds || !full_us || !fast_us || !delta_us || table_make(&t, ns, nd) < 0 ||
	    pack(&t, &b) < 0 || vipwalk_parse(b.data, b.len, &prev) < 0)
		return 1;
	Envelope *env = envelope_unpack(b.data, b.len, &why);

	cand = env ? desired_candidates(env->vip_table, &cfg) : NULL;
	envelope_free(env);
	if (!cand)
		return 1;
	printf("ipvsd VIP table change: %zu services x %zu destinations, %zu KiB snapshot\n", ns,
	       nd, b.len / 1024);
	for (size_t r = 0; r < rounds; r++) {
		/* one backend's weight, somewhere in the table */
		size_t vi = (size_t)random() % ns;
		L4lb__V1__Backend *bk = &t.bs[vi * nd + (size_t)random() % nd];
		struct ipvs_table *c;
		uint64_t t0;

		bk->weight = bk->weight == 1 ? 2 : 1;
		ipc_buf_free(&b);
		if (pack(&t, &b) < 0)
			return 1;
		t0 = clock_mono_us();
		env = envelope_unpack(b.data, b.len, &why);
		c = env ? desired_candidates(env->vip_table, &cfg) : NULL;
		if (!c || ipvs_table_diff_keys(cand, c, diff, 64) != 1)
			return 1;
		full_us[r] = clock_mono_us() - t0;
		envelope_free(env);
		ipvs_table_free(c);

		t0 = clock_mono_us();
		if (vipwalk_parse(b.data, b.len, &next) < 0 ||
		    vip_delta_apply(cand, &prev, &next, b.data, &cfg, keys, 64, &n) < 0 || n != 1)
			return 1;
		fast_us[r] = clock_mono_us() - t0;
		struct vipwalk tmp = prev;

		prev = next;
		next = tmp;

		ipc_buf_free(&db);
		if (pack_delta(&t, &t.vips[vi], &db) < 0)
			return 1;
		t0 = clock_mono_us();
		env = envelope_unpack(db.data, db.len, &why);
		if (!env || vip_follow_check(1, 1, t.vt.generation - 1, env->vip_table_delta) !=
				    FOLLOW_APPLY ||
		    vip_follow_apply(cand, env->vip_table_delta, &cfg, keys, 64, &n) < 0 || n != 1)
			return 1;
		delta_us[r] = clock_mono_us() - t0;
		envelope_free(env);
	}
	report("full unpack + candidates + diff (before)", full_us, rounds);
	report("raw walk + compare (snapshot path)", fast_us, rounds);
	report("VipTableDelta unpack + apply (now)", delta_us, rounds);
	printf("BENCH: ipvsd one-backend change at %zu x %zu, fast/full median ratio = %.3f\n", ns,
	       nd, (double)fast_us[rounds / 2] / (double)(full_us[rounds / 2] ? full_us[rounds / 2] : 1));
	printf("BENCH: ipvsd one-backend change at %zu x %zu, delta/full median ratio = %.5f "
	       "(delta %llu us)\n", ns, nd,
	       (double)delta_us[rounds / 2] / (double)(full_us[rounds / 2] ? full_us[rounds / 2] : 1),
	       (unsigned long long)delta_us[rounds / 2]);
	return 0;
}
