// SPDX-License-Identifier: Apache-2.0
/* The drain bookkeeping of plan.c: sorted drains (lookups, merges of new
 * ones, removal), the rotation a drain tick picks services by, withheld
 * backends, and the tick's back-off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipvsd/plan.h"

static struct svc_key key(unsigned i)
{
	struct svc_key k = { .af = AF_INET, .proto = IPPROTO_TCP, .port = 80 };

	k.addr[0] = 11;
	k.addr[2] = (uint8_t)(i >> 8);
	k.addr[3] = (uint8_t)i;
	return k;
}

static struct ipvs_dest be(unsigned j, uint32_t weight, uint32_t active)
{
	struct ipvs_dest d = { .port = 8080, .weight = weight, .active = active };

	d.addr[0] = 10;
	d.addr[3] = (uint8_t)(j + 1);
	return d;
}

/* nsvc services of ndest backends each, in the kernel (weight 1, one
 * connection each), in the candidates and in desired; desired leaves out
 * backend `gone` (-1: none), so it drains everywhere. */
struct world {
	struct ipvs_table *want, *kern, *cand;
	struct key_set addrs, members;
	struct vip_range range;
	struct owned owned;
	struct drains drains;
	struct plan plan;
	struct plan_input in;
};

static void world_init(struct world *w, unsigned nsvc, unsigned ndest, int gone)
{
	memset(w, 0, sizeof(*w));
	w->want = ipvs_table_new();
	w->kern = ipvs_table_new();
	w->cand = ipvs_table_new();
	assert_int_equal(vip_range_parse("11.0.0.0/8", &w->range), 0);
	w->owned.ranges = &w->range;
	w->owned.n = 1;
	/* in shuffled order: the drains must not depend on the table's order */
	for (unsigned x = 0; x < nsvc; x++) {
		unsigned i = (x * 7919u) % nsvc;
		struct svc_key k = key(i);
		struct svc_key a = k;
		struct ipvs_svc *ws = ipvs_table_insert(w->want, &k, "wlc");
		struct ipvs_svc *ks = ipvs_table_insert(w->kern, &k, "wlc");
		struct ipvs_svc *cs = ipvs_table_insert(w->cand, &k, "wlc");

		for (unsigned j = 0; j < ndest; j++) {
			struct ipvs_dest d = be(j, 1, 1);

			ipvs_svc_insert_dest(ks, &d);
			ipvs_svc_insert_dest(cs, &d);
			if ((int)j != gone)
				ipvs_svc_insert_dest(ws, &d);
		}
		assert_int_equal(key_set_insert(&w->members, &k), 0);
		a.proto = 0;
		a.port = 0;
		assert_int_equal(key_set_insert(&w->addrs, &a), 0);
	}
	w->in = (struct plan_input){ .desired = w->want, .kernel = w->kern, .addrs = &w->addrs,
				     .members = &w->members, .owned = &w->owned,
				     .drains = &w->drains, .cand = w->cand, .now_ms = 1000,
				     .grace_ms = 5000, .counters_fresh = 1 };
}

static void world_free(struct world *w)
{
	ipvs_table_free(w->want);
	ipvs_table_free(w->kern);
	ipvs_table_free(w->cand);
	key_set_clear(&w->addrs);
	key_set_clear(&w->members);
	drains_clear(&w->drains);
	plan_free_ops(&w->plan);
}

static void apply(struct world *w)
{
	for (size_t i = 0; i < w->plan.n; i++)
		assert_int_equal(plan_op_model(&w->plan.ops[i], w->kern, &w->addrs, &w->members),
				 0);
}

static void assert_sorted(const struct drains *ds)
{
	for (size_t i = 1; i < ds->n; i++) {
		const struct drain *a = &ds->d[i - 1], *b = &ds->d[i];
		int c = svc_key_cmp(&a->key, &b->key);

		if (!c)
			c = memcmp(a->addr, b->addr, 16);
		if (!c)
			c = a->port < b->port ? -1 : a->port > b->port;
		assert_true(c < 0);
	}
	assert_int_equal(ds->sorted, ds->n);
}

/* A node down: one backend of each of 500 services drains; every drain is
 * found by lookup, in order, and the node coming back ends them all. */
static void test_node_down_drains_sorted(void **state)
{
	struct world w;
	struct ipvs_dest d = be(3, 0, 0);

	(void)state;
	world_init(&w, 500, 5, 3);
	assert_int_equal(plan_build(&w.in, &w.plan), 0);
	assert_int_equal(w.plan.n, 500); /* weight 0 for each */
	assert_int_equal(w.drains.n, 500);
	assert_sorted(&w.drains);
	for (unsigned i = 0; i < 500; i++) {
		struct svc_key k = key(i);
		struct drain *dr = drains_find(&w.drains, &k, d.addr, d.port);

		assert_non_null(dr);
		assert_int_equal(dr->since_ms, 1000);
	}
	d = be(2, 0, 0);
	{
		struct svc_key k = key(7);

		assert_null(drains_find(&w.drains, &k, d.addr, d.port));
	}
	apply(&w);
	/* a later plan keeps them (still busy) and their start time */
	w.in.now_ms = 2000;
	assert_int_equal(plan_build(&w.in, &w.plan), 0);
	assert_int_equal(w.plan.n, 0);
	assert_int_equal(w.drains.n, 500);
	assert_int_equal(w.drains.d[0].since_ms, 1000);
	/* the node is back: wanted again, weight back, drains over */
	for (size_t i = 0; i < w.want->n; i++) {
		struct ipvs_dest back = be(3, 1, 0);

		ipvs_svc_insert_dest(&w.want->svcs[i], &back);
	}
	assert_int_equal(plan_build(&w.in, &w.plan), 0);
	assert_int_equal(w.plan.n, 500);
	assert_int_equal(w.plan.ops[0].type, OP_SET_DEST);
	assert_int_equal(w.drains.n, 0);
	world_free(&w);
}

/* New drains are merged among old ones (not appended): a second node goes
 * down later, then the first node's backends go idle and are deleted. */
static void test_drains_merged_and_removed(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, 300, 4, 1);
	assert_int_equal(plan_build(&w.in, &w.plan), 0);
	apply(&w);
	for (size_t i = 0; i < w.want->n; i++) { /* backend 2 goes too */
		struct ipvs_dest d = be(2, 0, 0);
		struct ipvs_svc *s = &w.want->svcs[i];

		ipvs_svc_remove_dest(s, ipvs_svc_find_dest(s, d.addr, d.port));
	}
	w.in.now_ms = 3000;
	assert_int_equal(plan_build(&w.in, &w.plan), 0);
	assert_int_equal(w.plan.n, 300);
	assert_int_equal(w.drains.n, 600);
	assert_sorted(&w.drains);
	apply(&w);
	/* backend 1's connections closed everywhere (fresh counters): deleted */
	for (size_t i = 0; i < w.kern->n; i++) {
		struct ipvs_dest d = be(1, 0, 0);

		ipvs_svc_find_dest(&w.kern->svcs[i], d.addr, d.port)->active = 0;
	}
	assert_int_equal(plan_build(&w.in, &w.plan), 0);
	assert_int_equal(w.plan.n, 300);
	assert_int_equal(w.plan.ops[0].type, OP_DEL_DEST);
	assert_int_equal(w.drains.n, 300);
	assert_sorted(&w.drains);
	for (size_t i = 0; i < w.drains.n; i++)
		assert_int_equal(w.drains.d[i].since_ms, 3000); /* backend 2's */
	world_free(&w);
}

/* The per-service plan (plan_build_keys) takes the drains of its services
 * out and merges them back: the others are untouched, the order holds. */
static void test_plan_by_keys_keeps_other_drains(void **state)
{
	struct world w;
	struct svc_key ks[3] = { key(5), key(100), key(199) };
	struct ipvs_dest d = be(0, 0, 0);

	(void)state;
	world_init(&w, 200, 3, 0);
	assert_int_equal(plan_build(&w.in, &w.plan), 0);
	apply(&w);
	assert_int_equal(w.drains.n, 200);
	/* these three went idle; a tick looks at them only */
	for (size_t i = 0; i < 3; i++)
		ipvs_svc_find_dest(ipvs_table_find(w.kern, &ks[i]), d.addr, d.port)->active = 0;
	w.in.now_ms = 1500;
	assert_int_equal(plan_build_keys(&w.in, ks, 3, &w.plan), 0);
	assert_int_equal(w.plan.n, 3);
	assert_int_equal(w.drains.n, 197);
	assert_sorted(&w.drains);
	for (size_t i = 0; i < 3; i++)
		assert_null(drains_find(&w.drains, &ks[i], d.addr, d.port));
	{
		struct svc_key k = key(6);

		assert_non_null(drains_find(&w.drains, &k, d.addr, d.port));
	}
	world_free(&w);
}

/* A backend left out because its node is unreachable is withheld (no
 * polling); one whose task is gone from the VIP table is not. */
static void test_withheld_marked(void **state)
{
	struct world w;
	struct svc_key k = key(1);
	struct ipvs_dest d = be(0, 0, 0);

	(void)state;
	world_init(&w, 4, 2, 0);
	/* service 1's backend 0 is gone from the VIP table itself */
	ipvs_svc_remove_dest(ipvs_table_find(w.cand, &k),
			     ipvs_svc_find_dest(ipvs_table_find(w.cand, &k), d.addr, d.port));
	assert_int_equal(plan_build(&w.in, &w.plan), 0);
	assert_int_equal(w.drains.n, 4);
	for (size_t i = 0; i < w.drains.n; i++)
		assert_int_equal(w.drains.d[i].withheld, svc_key_cmp(&w.drains.d[i].key, &k) != 0);
	world_free(&w);
}

/* A removed TCP service whose every backend is idle is deleted, and all its
 * drains end with it, the ones this very plan started included. */
static void test_removed_service_drains_end(void **state)
{
	struct world w;
	struct svc_key k = key(2);

	(void)state;
	world_init(&w, 5, 3, -1);
	ipvs_table_remove(w.want, ipvs_table_find(w.want, &k));
	{
		struct ipvs_svc *s = ipvs_table_find(w.kern, &k);

		for (size_t j = 0; j < s->n_dests; j++)
			s->dests[j].weight = s->dests[j].active = 0; /* already drained */
	}
	assert_int_equal(plan_build(&w.in, &w.plan), 0);
	assert_int_equal(w.drains.n, 0);
	assert_int_equal(w.plan.ops[w.plan.n - 1].type, OP_DEL_SVC);
	world_free(&w);
}

/* Rotation: 1,000 draining services, 64 a tick: every one is picked once
 * in 16 ticks (the 16th goes on round to the first 24 again); services
 * whose drains are all withheld are skipped until their grace ends. */
static void test_pick_rotates_fairly(void **state)
{
	struct world w;
	struct svc_key out[64], cursor = { 0 };
	uint8_t dump[64];
	unsigned *count = calloc(1000, sizeof(*count));
	size_t looks, got;

	(void)state;
	world_init(&w, 1000, 2, 1);
	/* not withheld: take backend 1 out of the candidates everywhere */
	for (size_t i = 0; i < w.cand->n; i++) {
		struct ipvs_dest d = be(1, 0, 0);
		struct ipvs_svc *s = &w.cand->svcs[i];

		ipvs_svc_remove_dest(s, ipvs_svc_find_dest(s, d.addr, d.port));
	}
	assert_int_equal(plan_build(&w.in, &w.plan), 0);
	assert_int_equal(w.drains.n, 1000);
	for (int tick = 0; tick < 16; tick++) {
		got = drains_pick(&w.drains, &cursor, 2000, 5000, out, dump, 64, &looks);
		assert_int_equal(looks, 1000);
		assert_int_equal(got, 64);
		for (size_t i = 0; i < got; i++) {
			assert_int_equal(dump[i], 1);
			count[out[i].addr[2] * 256 + out[i].addr[3]]++;
		}
	}
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(count[i], i < 24 ? 2 : 1);
	/* the next tick goes on after them */
	got = drains_pick(&w.drains, &cursor, 2000, 5000, out, dump, 64, &looks);
	assert_int_equal(got, 64);
	assert_int_equal(svc_key_cmp(&out[0], &w.drains.d[24].key), 0);
	/* all withheld now (nodes unreachable): nothing to look at... */
	for (size_t i = 0; i < w.drains.n; i++)
		w.drains.d[i].withheld = 1;
	got = drains_pick(&w.drains, &cursor, 2000, 5000, out, dump, 64, &looks);
	assert_int_equal(got, 0);
	assert_int_equal(looks, 0);
	/* ...until the grace period of some ends: picked, without a dump */
	for (size_t i = 0; i < 10; i++)
		w.drains.d[i * 100].since_ms = 0;
	got = drains_pick(&w.drains, &cursor, 5000, 5000, out, dump, 64, &looks);
	assert_int_equal(got, 10);
	assert_int_equal(looks, 10);
	for (size_t i = 0; i < got; i++)
		assert_int_equal(dump[i], 0);
	free(count);
	world_free(&w);
}

/* A service with several drains is one look (one dump), not one per drain. */
static void test_pick_one_look_per_service(void **state)
{
	struct world w;
	struct svc_key out[8], cursor = { 0 };
	uint8_t dump[8];
	size_t looks;

	(void)state;
	world_init(&w, 3, 4, -1);
	for (size_t i = 0; i < w.want->n; i++)
		w.want->svcs[i].n_dests = 0; /* every backend goes */
	w.in.cand = NULL;
	assert_int_equal(plan_build(&w.in, &w.plan), 0);
	assert_int_equal(w.drains.n, 12);
	assert_int_equal(drains_pick(&w.drains, &cursor, 2000, 5000, out, dump, 8, &looks), 3);
	assert_int_equal(looks, 3);
	assert_int_equal(svc_key_cmp(&out[0], &out[1]) < 0 && svc_key_cmp(&out[1], &out[2]) < 0, 1);
	world_free(&w);
}

static void test_tick_backs_off(void **state)
{
	(void)state;
	assert_int_equal(drains_tick_ms(1, 256), 250);
	assert_int_equal(drains_tick_ms(256, 256), 250);
	assert_int_equal(drains_tick_ms(257, 256), 500);
	assert_int_equal(drains_tick_ms(700, 256), 750);
	assert_int_equal(drains_tick_ms(10000, 256), 1000);
	assert_int_equal(drains_tick_ms(0, 256), 1000); /* only grace periods to wait for */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_down_drains_sorted),
		cmocka_unit_test(test_drains_merged_and_removed),
		cmocka_unit_test(test_plan_by_keys_keeps_other_drains),
		cmocka_unit_test(test_withheld_marked),
		cmocka_unit_test(test_removed_service_drains_end),
		cmocka_unit_test(test_pick_rotates_fairly),
		cmocka_unit_test(test_pick_one_look_per_service),
		cmocka_unit_test(test_tick_backs_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
