// SPDX-License-Identifier: Apache-2.0
/*
 * ipvsd's drain planning without a kernel, in a table of SERVICES x DESTS:
 *   node down: one node's backend in every service is withheld, the plan
 *     starts a drain for each (weight 0), against the baseline of a full
 *     plan with nothing to change (the O(table) floor every full pass pays);
 *   node still down: the next full plan, every drain already there (lookups);
 *   drain tick: drains_pick + the plan of the services picked, every service
 *     with a draining backend (a redeploy: no longer in the VIP table, so
 *     polled), against the same per-service plan in the same table without
 *     drains.
 * The old code kept drains in a list searched linearly: these ratios grew
 * with the table (on this host a tick took 89-95 ms at 10k drains).
 *   ipvsd_drain SERVICES DESTS ROUNDS
 * Prints medians and their ratios.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "ipvsd/plan.h"

struct world {
	struct ipvs_table *kern, *all, *down; /* down: without backend 0 */
	struct key_set addrs, members;
	struct vip_range range;
	struct owned owned;
};

static void world_make(struct world *w, size_t ns, size_t nd)
{
	memset(w, 0, sizeof(*w));
	w->kern = ipvs_table_new();
	w->all = ipvs_table_new();
	w->down = ipvs_table_new();
	vip_range_parse("11.0.0.0/8", &w->range);
	w->owned.ranges = &w->range;
	w->owned.n = 1;
	for (size_t i = 0; i < ns; i++) {
		struct svc_key k = { .af = AF_INET, .proto = 6, .port = 80,
				     .addr = { 11, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
		struct svc_key a = { .af = AF_INET, .addr = { 11, k.addr[1], k.addr[2], k.addr[3] } };
		struct ipvs_svc *ks = ipvs_table_add(w->kern, &k, "wlc");
		struct ipvs_svc *as = ipvs_table_add(w->all, &k, "wlc");
		struct ipvs_svc *ds = ipvs_table_add(w->down, &k, "wlc");

		for (size_t j = 0; j < nd; j++) {
			struct ipvs_dest d = { .addr = { 10, (uint8_t)(j + 1), (uint8_t)(i >> 8),
							 (uint8_t)i },
					       .port = 8080, .weight = 1, .active = 3 };

			ipvs_svc_add_dest(ks, &d);
			ipvs_svc_add_dest(as, &d);
			if (j)
				ipvs_svc_add_dest(ds, &d);
		}
		key_set_add(&w->members, &k);
		key_set_add(&w->addrs, &a);
	}
	ipvs_table_sort(w->kern);
	ipvs_table_sort(w->all);
	ipvs_table_sort(w->down);
	key_set_sort(&w->members);
	key_set_sort(&w->addrs);
}

static struct plan_input input(struct world *w, const struct ipvs_table *desired,
			       const struct ipvs_table *cand, struct drains *ds)
{
	return (struct plan_input){ .desired = desired, .kernel = w->kern, .addrs = &w->addrs,
				    .members = &w->members, .owned = &w->owned, .drains = ds,
				    .cand = cand, .now_ms = 1000, .grace_ms = 300000,
				    .counters_fresh = 1 };
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	size_t ns = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	size_t nd = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
	size_t rounds = argc > 3 ? strtoul(argv[3], NULL, 10) : 20;
	uint64_t *floor_us = calloc(rounds, 8), *down_us = calloc(rounds, 8);
	uint64_t *again_us = calloc(rounds, 8), *tick_us = calloc(rounds, 8);
	uint64_t *base_us = calloc(rounds, 8);
	struct svc_key picked[DRAIN_TICK_MAX], cursor = { 0 };
	uint8_t dump[DRAIN_TICK_MAX];
	struct drains ds = { 0 }, none = { 0 };
	struct plan p = { 0 };
	struct plan_input in;
	struct world w;
	size_t n, looks;

	if (!ns || !nd || !rounds || !floor_us || !down_us || !again_us || !tick_us || !base_us)
		return 2;
	world_make(&w, ns, nd);
	for (size_t r = 0; r < rounds; r++) {
		uint64_t t0, t1, t2, t3;

		in = input(&w, w.all, w.kern, &none);
		t0 = clock_mono_us();
		if (plan_build(&in, &p) < 0 || p.n != 0)
			return 1;
		t1 = clock_mono_us();
		drains_clear(&ds);
		in = input(&w, w.down, w.kern, &ds);
		if (plan_build(&in, &p) < 0 || p.n != ns || ds.n != ns)
			return 1;
		t2 = clock_mono_us();
		if (plan_build(&in, &p) < 0 || ds.n != ns)
			return 1;
		t3 = clock_mono_us();
		floor_us[r] = t1 - t0;
		down_us[r] = t2 - t1;
		again_us[r] = t3 - t2;
	}
	/* a redeploy: backend 0 gone from the VIP table (cand = desired):
	 * every drain is polled; the tick plans the services it picked */
	drains_clear(&ds);
	in = input(&w, w.down, w.down, &ds);
	if (plan_build(&in, &p) < 0 || ds.n != ns)
		return 1;
	for (size_t r = 0; r < rounds; r++) {
		struct plan_input nodrain = input(&w, w.all, w.all, &none);
		uint64_t t0, t1, t2;

		t0 = clock_mono_us();
		n = drains_pick(&ds, &cursor, 2000, 300000, picked, dump, DRAIN_TICK_MAX, &looks);
		qsort(picked, n, sizeof(*picked), (int (*)(const void *, const void *))svc_key_cmp);
		if (looks != ns || plan_build_keys(&in, picked, n, &p) < 0 || ds.n != ns)
			return 1;
		t1 = clock_mono_us();
		if (plan_build_keys(&nodrain, picked, n, &p) < 0 || p.n != 0)
			return 1;
		t2 = clock_mono_us();
		tick_us[r] = t1 - t0;
		base_us[r] = t2 - t1;
	}
	uint64_t f = median(floor_us, rounds), d = median(down_us, rounds);
	uint64_t a = median(again_us, rounds), t = median(tick_us, rounds);
	uint64_t b = median(base_us, rounds);

	printf("ipvsd drains at %zu x %zu (%zu rounds, %zu services a tick): full plan, nothing to "
	       "change %llu us; node down %llu us; still down %llu us; drain tick %llu us; the "
	       "same services without drains %llu us\n",
	       ns, nd, rounds, n, (unsigned long long)f, (unsigned long long)d,
	       (unsigned long long)a, (unsigned long long)t, (unsigned long long)b);
	printf("BENCH: ipvsd node-down plan at %zu x %zu, ratio to a no-change full plan = %.2f\n",
	       ns, nd, (double)d / (double)(f ? f : 1));
	printf("BENCH: ipvsd drain tick planning at %zu x %zu, ratio to the same services without "
	       "drains = %.2f\n", ns, nd, (double)t / (double)(b ? b : 1));
	plan_free_ops(&p);
	drains_clear(&ds);
	return 0;
}
