// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipvsd/plan.h"

static struct svc_key key(int proto, uint8_t last, uint16_t port)
{
	struct svc_key k = { .af = AF_INET, .proto = (uint8_t)proto, .port = port };

	k.addr[0] = 11;
	k.addr[3] = last;
	return k;
}

static struct ipvs_svc *svc(struct ipvs_table *t, struct svc_key k, const char *sched)
{
	return ipvs_table_insert(t, &k, sched);
}

static void dest(struct ipvs_svc *s, uint8_t last, uint32_t weight, uint32_t active)
{
	struct ipvs_dest d = { .port = 8080, .weight = weight, .active = active };

	d.addr[0] = 10;
	d.addr[3] = last;
	ipvs_svc_insert_dest(s, &d);
}

struct fixture {
	struct ipvs_table *want, *kern;
	struct key_set addrs, members;
	struct vip_range range;
	struct owned owned;
	struct drains drains;
	struct plan plan;
	struct plan_input in;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->want = ipvs_table_new();
	f->kern = ipvs_table_new();
	assert_int_equal(vip_range_parse("11.0.0.0/8", &f->range), 0);
	f->owned.ranges = &f->range;
	f->owned.n = 1;
	f->in = (struct plan_input){ .desired = f->want, .kernel = f->kern, .addrs = &f->addrs,
				     .members = &f->members, .owned = &f->owned,
				     .drains = &f->drains, .now_ms = 1000, .grace_ms = 5000 };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ipvs_table_free(f->want);
	ipvs_table_free(f->kern);
	key_set_clear(&f->addrs);
	key_set_clear(&f->members);
	drains_clear(&f->drains);
	plan_free_ops(&f->plan);
	free(f);
	return 0;
}

/* Applies the plan to the kernel model, as a successful apply would. */
static void apply(struct fixture *f)
{
	for (size_t i = 0; i < f->plan.n; i++)
		assert_int_equal(plan_op_model(&f->plan.ops[i], f->kern, &f->addrs, &f->members), 0);
}

static size_t index_of(const struct plan *p, enum plan_op_type t)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ops[i].type == t)
			return i;
	return (size_t)-1;
}

static void test_new_vip_order_and_convergence(void **state)
{
	struct fixture *f = *state;
	struct ipvs_svc *s = svc(f->want, key(IPPROTO_TCP, 1, 80), "wlc");

	dest(s, 1, 1, 0);
	dest(s, 2, 1, 0);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 5);
	assert_int_equal(f->plan.ops[0].type, OP_ADD_SVC);
	assert_int_equal(f->plan.ops[1].type, OP_ADD_DEST);
	assert_int_equal(f->plan.ops[2].type, OP_ADD_DEST);
	/* the address comes only after the service and its destinations */
	assert_true(index_of(&f->plan, OP_ADD_ADDR) > 2);
	assert_true(index_of(&f->plan, OP_ADD_MEMBER) > 2);
	apply(f);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 0);
}

static void test_removed_vip_address_first(void **state)
{
	struct fixture *f = *state;
	struct ipvs_svc *s = svc(f->want, key(IPPROTO_TCP, 1, 80), "wlc");

	dest(s, 1, 1, 0);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	apply(f);
	ipvs_table_clear(f->want);
	/* a TCP service drains first (weight 0), keeping its address and
	 * member so its established connections still reach IPVS */
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 1);
	assert_int_equal(f->plan.ops[0].type, OP_SET_DEST);
	assert_int_equal(f->plan.ops[0].dest.weight, 0);
	apply(f);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 0); /* counters not fresh: wait */
	f->in.counters_fresh = 1; /* and no established connection */
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 3);
	assert_int_equal(f->plan.ops[0].type, OP_DEL_ADDR);
	assert_int_equal(f->plan.ops[1].type, OP_DEL_MEMBER);
	assert_int_equal(f->plan.ops[2].type, OP_DEL_SVC);
	apply(f);
	assert_int_equal(f->kern->n, 0);
	assert_int_equal(f->addrs.n, 0);
	assert_int_equal(f->drains.n, 0);
}

/* A removed TCP service keeps its (weight 0) destinations while they have
 * established connections, until the grace period ends; UDP goes at once. */
static void test_removed_tcp_service_drained(void **state)
{
	struct fixture *f = *state;
	struct ipvs_svc *t = svc(f->kern, key(IPPROTO_TCP, 1, 80), "wlc");
	struct ipvs_svc *u = svc(f->kern, key(IPPROTO_UDP, 1, 53), "wlc");

	dest(t, 1, 1, 0);
	dest(t, 2, 1, 0);
	dest(u, 1, 1, 0);
	f->in.counters_fresh = 1;
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 3);
	assert_int_equal(f->plan.ops[0].type, OP_SET_DEST);
	assert_int_equal(f->plan.ops[1].type, OP_SET_DEST);
	assert_int_equal(f->plan.ops[2].type, OP_DEL_SVC);
	assert_int_equal(f->plan.ops[2].key.proto, IPPROTO_UDP);
	apply(f);
	assert_int_equal(f->drains.n, 2);
	/* one destination still has an established connection: wait */
	t = &f->kern->svcs[0]; /* the TCP one sorts first */
	t->dests[1].active = 1;
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 0);
	/* until the grace period ends */
	f->in.now_ms += f->in.grace_ms;
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 1);
	assert_int_equal(f->plan.ops[0].type, OP_DEL_SVC);
	apply(f);
	assert_int_equal(f->kern->n, 0);
	assert_int_equal(f->drains.n, 0);
}

static void test_foreign_untouched(void **state)
{
	struct fixture *f = *state;
	struct svc_key k = key(IPPROTO_TCP, 9, 80);
	struct ipvs_svc *s;

	k.addr[0] = 192; /* outside 11.0.0.0/8: keepalived's */
	s = svc(f->kern, k, "rr");
	dest(s, 7, 3, 0);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 0);
	/* but one ipvsd programmed before (an IP VIP) is its own: drained */
	f->owned.prev = f->kern;
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 1);
	assert_int_equal(f->plan.ops[0].type, OP_SET_DEST);
	assert_int_equal(svc_key_cmp(&f->plan.ops[0].key, &k), 0);
}

/* An IP VIP recorded in the state file (programmed before a restart) is
 * ipvsd's own: removed when no longer wanted; a foreign one stays. */
static void test_recorded_ip_vip_removed(void **state)
{
	struct fixture *f = *state;
	struct svc_key mine = key(IPPROTO_TCP, 5, 80), other = key(IPPROTO_TCP, 6, 80);
	struct key_set rec = { 0 };

	mine.addr[0] = 10;
	other.addr[0] = 10;
	dest(svc(f->kern, mine, "wlc"), 1, 0, 0); /* drained, idle: deleted at once */
	dest(svc(f->kern, other, "wlc"), 1, 1, 0);
	f->in.counters_fresh = 1;
	assert_int_equal(key_set_insert(&rec, &mine), 0);
	f->owned.recorded = &rec;
	assert_true(owned_contains(&f->owned, &mine));
	assert_false(owned_in_ranges(&f->owned, &mine));
	assert_false(owned_contains(&f->owned, &other));
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(index_of(&f->plan, OP_DEL_SVC), f->plan.n - 1);
	assert_int_equal(svc_key_cmp(&f->plan.ops[f->plan.n - 1].key, &mine), 0);
	apply(f);
	assert_null(ipvs_table_find(f->kern, &mine));
	assert_non_null(ipvs_table_find(f->kern, &other));
	key_set_clear(&rec);
}

static void test_weights_recomputed(void **state)
{
	struct fixture *f = *state;
	struct ipvs_svc *s = svc(f->want, key(IPPROTO_TCP, 1, 80), "wlc");

	dest(s, 1, 1, 0);
	s = svc(f->kern, key(IPPROTO_TCP, 1, 80), "rr");
	dest(s, 1, 0, 0); /* left at weight 0 by someone */
	key_set_add(&f->addrs, &(struct svc_key){ .af = AF_INET, .addr = { 11, 0, 0, 1 } });
	key_set_add(&f->members, &s->key);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 2);
	assert_int_equal(f->plan.ops[0].type, OP_SET_SVC);
	assert_string_equal(f->plan.ops[0].sched, "wlc");
	assert_int_equal(f->plan.ops[1].type, OP_SET_DEST);
	assert_int_equal(f->plan.ops[1].dest.weight, 1);
}

/* ipvsd owns its services' whole definition: persistence, flags or a
 * netmask set behind its back (`ipvsadm -E -t VIP -p 300`) are put back by
 * a SET_SERVICE, which the model then shows as ipvsd's own (no replan). */
static void test_definition_repaired(void **state)
{
	struct fixture *f = *state;
	struct ipvs_svc *s = svc(f->want, key(IPPROTO_TCP, 1, 80), "sh");
	struct svc_key keys[4];
	struct ipvs_svc *k;

	dest(s, 1, 1, 0);
	k = svc(f->kern, key(IPPROTO_TCP, 1, 80), "sh");
	dest(k, 1, 1, 0);
	key_set_add(&f->addrs, &(struct svc_key){ .af = AF_INET, .addr = { 11, 0, 0, 1 } });
	key_set_add(&f->members, &k->key);
	assert_int_equal(s->netmask, 0xffffffffu);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 0);
	assert_int_equal(ipvs_table_diff_keys(f->want, f->kern, keys, 4), 0);
	for (int what = 0; what < 3; what++) {
		k = ipvs_table_find(f->kern, &s->key);
		if (what == 0) {
			k->flags = 1; /* IP_VS_SVC_F_PERSISTENT */
			k->timeout = 300;
		} else if (what == 1) {
			k->flags = 0x10; /* a scheduler flag (sh-port) */
		} else {
			k->netmask = 0xffffff00u;
		}
		assert_int_equal(ipvs_table_diff_keys(f->want, f->kern, keys, 4), 1);
		assert_int_equal(plan_build(&f->in, &f->plan), 0);
		assert_int_equal(f->plan.n, 1);
		assert_int_equal(f->plan.ops[0].type, OP_SET_SVC);
		assert_string_equal(f->plan.ops[0].sched, "sh");
		apply(f);
		k = ipvs_table_find(f->kern, &s->key);
		assert_int_equal(k->flags, 0);
		assert_int_equal(k->timeout, 0);
		assert_int_equal(k->netmask, 0xffffffffu);
		assert_int_equal(plan_build(&f->in, &f->plan), 0);
		assert_int_equal(f->plan.n, 0);
	}
	/* a service planned by keys (the full pass's slices) compares it too */
	k->timeout = 60;
	assert_int_equal(plan_build_keys(&f->in, &s->key, 1, &f->plan), 0);
	assert_int_equal(f->plan.n, 1);
	assert_int_equal(f->plan.ops[0].type, OP_SET_SVC);
	/* IPv6: the full prefix length */
	assert_int_equal(svc(f->want, (struct svc_key){ .af = AF_INET6, .proto = IPPROTO_TCP },
			     "wlc")->netmask, 128);
}

static void test_tcp_drain_then_delete(void **state)
{
	struct fixture *f = *state;
	struct ipvs_svc *s = svc(f->want, key(IPPROTO_TCP, 1, 80), "wlc");

	dest(s, 1, 1, 0);
	dest(s, 2, 1, 0);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	apply(f);
	/* backend 2 goes away while it has a connection */
	ipvs_svc_remove_dest(s, ipvs_svc_find_dest(s, (uint8_t[16]){ 10, 0, 0, 2 }, 8080));
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 1);
	assert_int_equal(f->plan.ops[0].type, OP_SET_DEST);
	assert_int_equal(f->plan.ops[0].dest.weight, 0);
	apply(f);
	ipvs_table_find(f->kern, &s->key)->dests[1].active = 1;
	/* still busy, counters fresh, within grace: nothing */
	f->in.counters_fresh = 1;
	f->in.now_ms = 3000;
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 0);
	/* idle, but counters are stale: still nothing */
	ipvs_table_find(f->kern, &s->key)->dests[1].active = 0;
	f->in.counters_fresh = 0;
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 0);
	/* idle with fresh counters: deleted */
	f->in.counters_fresh = 1;
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 1);
	assert_int_equal(f->plan.ops[0].type, OP_DEL_DEST);
	assert_int_equal(f->drains.n, 0);
}

static void test_tcp_drain_grace(void **state)
{
	struct fixture *f = *state;
	struct ipvs_svc *s = svc(f->want, key(IPPROTO_TCP, 1, 80), "wlc");

	dest(s, 1, 1, 0);
	s = svc(f->kern, key(IPPROTO_TCP, 1, 80), "wlc");
	dest(s, 1, 1, 0);
	dest(s, 2, 0, 5); /* draining, busy */
	f->in.counters_fresh = 1;
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(index_of(&f->plan, OP_DEL_DEST), (size_t)-1);
	f->in.now_ms += 5000;
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_not_equal(index_of(&f->plan, OP_DEL_DEST), (size_t)-1);
}

static void test_udp_deleted_at_once(void **state)
{
	struct fixture *f = *state;
	struct ipvs_svc *s = svc(f->want, key(IPPROTO_UDP, 1, 53), "wlc");

	dest(s, 1, 1, 0);
	s = svc(f->kern, key(IPPROTO_UDP, 1, 53), "wlc");
	dest(s, 1, 1, 0);
	dest(s, 2, 1, 3);
	key_set_add(&f->addrs, &(struct svc_key){ .af = AF_INET, .addr = { 11, 0, 0, 1 } });
	key_set_add(&f->members, &s->key);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 1);
	assert_int_equal(f->plan.ops[0].type, OP_DEL_DEST);
}

/* The plan restricted to the changed services equals the full plan. */
/* A UDP VIP goes while a removed TCP service on its address still drains in
 * the kernel: the plan of the UDP service alone must keep the address, as
 * the whole diff does (the TCP connections still need it). */
static void test_plan_by_keys_keeps_draining_address(void **state)
{
	struct fixture *f = *state;
	struct svc_key udp = key(IPPROTO_UDP, 5, 53);

	dest(svc(f->want, key(IPPROTO_TCP, 5, 80), "wlc"), 1, 1, 0);
	dest(svc(f->want, udp, "wlc"), 1, 1, 0);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	apply(f);
	/* the TCP VIP goes: weight 0, a connection keeps it draining */
	ipvs_table_remove(f->want, ipvs_table_find(f->want, &(struct svc_key){ .af = AF_INET,
		.proto = IPPROTO_TCP, .port = 80, .addr = { 11, 0, 0, 5 } }));
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	apply(f);
	f->kern->svcs[0].dests[0].active = 1;
	assert_non_null(ipvs_table_find(f->kern, &(struct svc_key){ .af = AF_INET,
		.proto = IPPROTO_TCP, .port = 80, .addr = { 11, 0, 0, 5 } }));
	/* then the UDP VIP goes, planned for its key alone */
	ipvs_table_remove(f->want, ipvs_table_find(f->want, &udp));
	assert_int_equal(plan_build_keys(&f->in, &udp, 1, &f->plan), 0);
	assert_true(index_of(&f->plan, OP_DEL_SVC) != (size_t)-1);
	assert_int_equal(index_of(&f->plan, OP_DEL_ADDR), (size_t)-1);
}

static void test_plan_by_keys_equals_full(void **state)
{
	struct fixture *f = *state;
	struct ipvs_table *next;
	struct svc_key keys[8];
	struct plan full = { 0 };
	size_t n;

	for (uint8_t v = 1; v <= 20; v++) {
		struct ipvs_svc *s = svc(f->want, key(IPPROTO_TCP, v, 80), "wlc");

		dest(s, v, 1, 0);
		dest(s, (uint8_t)(v + 100), 1, 0);
		if (v % 2)
			dest(svc(f->want, key(IPPROTO_UDP, v, 53), "wlc"), v, 1, 0);
	}
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	apply(f);
	next = ipvs_table_dup(f->want);
	/* one backend replaced, a UDP VIP gone (its address stays: TCP uses
	 * it), a TCP VIP gone with its address, a new VIP */
	ipvs_svc_remove_dest(&next->svcs[0], &next->svcs[0].dests[1]);
	dest(&next->svcs[0], 200, 1, 0);
	ipvs_table_remove(next, ipvs_table_find(next, &(struct svc_key){ .af = AF_INET,
		.proto = IPPROTO_UDP, .port = 53, .addr = { 11, 0, 0, 3 } }));
	ipvs_table_remove(next, ipvs_table_find(next, &(struct svc_key){ .af = AF_INET,
		.proto = IPPROTO_TCP, .port = 80, .addr = { 11, 0, 0, 4 } }));
	dest(svc(next, key(IPPROTO_TCP, 99, 80), "wlc"), 9, 1, 0);
	n = ipvs_table_diff_keys(f->want, next, keys, 8);
	assert_int_equal(n, 4);
	f->in.desired = next;
	assert_int_equal(plan_build(&f->in, &full), 0);
	drains_clear(&f->drains);
	assert_int_equal(plan_build_keys(&f->in, keys, n, &f->plan), 0);
	assert_int_equal(f->plan.n, full.n);
	for (size_t i = 0; i < full.n; i++) {
		char a[160], b[160];

		assert_string_equal(plan_op_format(&f->plan.ops[i], a, sizeof(a)),
				    plan_op_format(&full.ops[i], b, sizeof(b)));
	}
	/* 11.0.0.3 keeps its address (TCP still there), and so does 11.0.0.4
	 * while its removed TCP service drains */
	assert_int_equal(index_of(&full, OP_DEL_ADDR), (size_t)-1);
	assert_int_equal(ipvs_table_diff_keys(f->want, next, keys, 2), 3);
	plan_free_ops(&full);
	ipvs_table_free(next);
	f->in.desired = f->want;
}

static void test_ranges(void **state)
{
	struct vip_range r;
	struct owned o = { .ranges = &r, .n = 1 };
	struct svc_key k = { .af = AF_INET6, .addr = { 0xfd, 0x01, 0, 0x0c } };

	(void)state;
	assert_int_equal(vip_range_parse("fd01:c::/64", &r), 0);
	assert_true(owned_contains(&o, &k));
	k.addr[7] = 1;
	assert_false(owned_contains(&o, &k));
	assert_int_equal(vip_range_parse("11.0.0.0/33", &r), -EINVAL);
	assert_int_equal(vip_range_parse("nope/8", &r), -EINVAL);
	assert_int_equal(vip_range_parse("10.1.2.0/23", &r), 0);
	k = (struct svc_key){ .af = AF_INET, .addr = { 10, 1, 3, 9 } };
	assert_true(owned_contains(&o, &k));
	k.addr[2] = 4;
	assert_false(owned_contains(&o, &k));
}

static void test_format(void **state)
{
	struct plan_op op = { .type = OP_ADD_DEST, .key = key(IPPROTO_TCP, 1, 80) };
	char buf[128];

	(void)state;
	op.dest.addr[0] = 10;
	op.dest.addr[3] = 2;
	op.dest.port = 8080;
	op.dest.weight = 1;
	assert_string_equal(plan_op_format(&op, buf, sizeof(buf)),
			    "add-dest tcp 11.0.0.1:80 -> 10.0.0.2:8080 weight 1");
}

static size_t count_type(const struct plan *p, enum plan_op_type t)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += p->ops[i].type == t;
	return n;
}

/* The interface may carry addresses that are not ipvsd's (--any-interface,
 * e.g. lo): only addresses in the ranges, or of an IP VIP ipvsd recorded,
 * are removed. */
static void test_foreign_addresses_kept(void **state)
{
	struct fixture *f = *state;
	struct svc_key lo4 = { .af = AF_INET, .addr = { 127, 0, 0, 1 } };
	struct svc_key lo6 = { .af = AF_INET6, .addr = { [15] = 1 } };
	struct svc_key lan = { .af = AF_INET, .addr = { 192, 168, 1, 5 } };
	struct svc_key stale = { .af = AF_INET, .addr = { 11, 0, 0, 9 } };
	struct svc_key ipvip = { .af = AF_INET, .addr = { 10, 9, 9, 9 } };
	struct svc_key ipvip_svc = ipvip;
	struct key_set recorded = { 0 };

	ipvip_svc.proto = IPPROTO_UDP;
	ipvip_svc.port = 53;
	key_set_add(&recorded, &ipvip_svc);
	f->owned.recorded = &recorded;
	key_set_add(&f->addrs, &lo4);
	key_set_add(&f->addrs, &lo6);
	key_set_add(&f->addrs, &lan);
	key_set_add(&f->addrs, &stale);
	key_set_add(&f->addrs, &ipvip);
	key_set_sort(&f->addrs);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(count_type(&f->plan, OP_DEL_ADDR), 2);
	for (size_t i = 0; i < f->plan.n; i++) {
		const struct svc_key *k = &f->plan.ops[i].key;

		if (f->plan.ops[i].type != OP_DEL_ADDR)
			continue;
		assert_true(!svc_key_cmp(k, &stale) || !svc_key_cmp(k, &ipvip));
	}
	apply(f);
	assert_int_equal(plan_build(&f->in, &f->plan), 0);
	assert_int_equal(f->plan.n, 0); /* the foreign ones are simply left there */
	assert_int_equal(f->addrs.n, 3);
	assert_true(key_set_has(&f->addrs, &lo4) && key_set_has(&f->addrs, &lo6));
	f->owned.recorded = NULL;
	key_set_clear(&recorded);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_vip_order_and_convergence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_vip_address_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_tcp_service_drained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorded_ip_vip_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_addresses_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_weights_recomputed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_definition_repaired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_drain_then_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_drain_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_deleted_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_by_keys_equals_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_by_keys_keeps_draining_address, setup,
						teardown),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
