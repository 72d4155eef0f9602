// SPDX-License-Identifier: Apache-2.0
/*
 * overlayd's documented bounds (docs/limits.md), each hit on the real core:
 * the passive view under a flood of joins, the active view, a record with
 * too many links, the adjacency table's node count, frame sizes. A bound
 * hit never crashes and never grows past the bound.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/log.h"
#include "overlayd/adjacency.h"
#include "overlayd/frame.h"
#include "overlayd/net.h"
#include "overlayd/out_budget.h"
#include "overlayd/overlay.h"
#include "tests/overlayd_test_node.h"

/* The transport: every message the core sends must fit in a frame. */
static int t_send(void *ctx, const struct node_id *to, const PeerMessage *m)
{
	(void)ctx;
	assert_true(to->len == 4 || to->len == 16);
	assert_true(l4lb__overlay__v1__peer_message__get_packed_size(m) + FRAME_TAG <= FRAME_MAX);
	return 0;
}

static const struct overlay_ops ops = { t_send, t_close_nothing, NULL };

static struct overlay *core(void)
{
	struct overlay_params p;
	struct node_id self = N(1), seed = N(2);

	overlay_params_default(&p);
	return overlay_new(&p, &self, 1, &seed, 1, &ops, NULL, 1000000);
}

static int join(struct overlay *o, uint32_t i, uint64_t now)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Join j = L4LB__OVERLAY__V1__JOIN__INIT;
	struct node_id n = N(i);
	PbNodeId pb;

	node_to_pb(&n, &pb);
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__JOIN;
	m.join = &j;
	j.node = &pb;
	return overlay_receive(o, &n, &m, now);
}

/* 2,000 distinct nodes join: the views stay within their bounds. */
static void test_join_flood_views_bounded(void **state)
{
	struct overlay *o = core();
	uint64_t now = 1000000;

	(void)state;
	assert_non_null(o);
	for (uint32_t i = 0; i < 2000; i++) {
		assert_int_equal(join(o, 100 + i, now), 0);
		now += 1000;
		overlay_tick(o, now);
		assert_true(o->n_active <= o->p.active_max);
		assert_true(o->n_passive <= o->p.passive_max);
	}
	assert_true(o->p.active_max <= OVERLAY_MAX_ACTIVE);
	assert_true(o->p.passive_max <= OVERLAY_MAX_PASSIVE);
	assert_true(o->n_passive > 0); /* the bound was reached, not avoided */
	overlay_free(o);
}

/* A record listing more than ADJ_MAX_ACTIVE links is refused: the sender
 * is told off (-EPROTO: the transport disconnects it), nothing stored. */
static void test_record_too_many_links_refused(void **state)
{
	struct overlay *o = core();
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Adjacency a = L4LB__OVERLAY__V1__ADJACENCY__INIT, *ap = &a;
	PbNodeId pbs[ADJ_MAX_ACTIVE + 2], *pp[ADJ_MAX_ACTIVE + 2], who;
	struct node_id ids[ADJ_MAX_ACTIVE + 2], from = N(2), subject = N(3);
	size_t known;

	(void)state;
	assert_int_equal(join(o, 2, 1000000), 0);
	known = o->adj->n;
	for (size_t i = 0; i < ADJ_MAX_ACTIVE + 1; i++) {
		ids[i] = N(1000 + (uint32_t)i);
		node_to_pb(&ids[i], &pbs[i]);
		pp[i] = &pbs[i];
	}
	node_to_pb(&subject, &who);
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__ADJACENCY;
	m.n_adjacency = 1;
	m.adjacency = &ap;
	a.node = &who;
	a.has_epoch = a.has_clock = 1;
	a.epoch = 1;
	a.clock = 1;
	a.n_active = ADJ_MAX_ACTIVE + 1;
	a.active = pp;
	assert_int_equal(overlay_receive(o, &from, &m, 1001000), -EPROTO);
	assert_null(adj_find(o->adj, &subject));
	assert_int_equal(o->adj->n, known);
	a.n_active = ADJ_MAX_ACTIVE; /* exactly the bound is fine */
	assert_int_equal(overlay_receive(o, &from, &m, 1002000), 0);
	assert_non_null(adj_find(o->adj, &subject));
	overlay_free(o);
}

/* The adjacency table stops at ADJ_MAX_NODES nodes. */
static void test_adjacency_table_bounded(void **state)
{
	struct adj_table *t = adj_table_new();
	struct node_id n;

	(void)state;
	assert_non_null(t);
	for (uint32_t i = 0; i < ADJ_MAX_NODES; i++) {
		n = N(0x10000 + i);
		assert_non_null(adj_get(t, &n, 1));
	}
	n = N(0x10000 + ADJ_MAX_NODES);
	assert_null(adj_get(t, &n, 1));
	assert_int_equal(t->n, ADJ_MAX_NODES);
	n = N(0x10000); /* a known node is still found */
	assert_non_null(adj_get(t, &n, 1));
	adj_table_free(t);
}

/* Frames: 0 and more than FRAME_MAX bytes are refused before any
 * buffer is sized from them. */
static void test_frame_bounds(void **state)
{
	const unsigned char zero[4] = { 0 }, one[4] = { 0, 0, 0, 1 };
	const unsigned char max[4] = { 0, 0x10, 0, 0 }, over[4] = { 0, 0x10, 0, 1 };
	const unsigned char huge[4] = { 0xff, 0xff, 0xff, 0xff };

	(void)state;
	assert_int_equal(frame_len(zero, FRAME_MAX), -EMSGSIZE);
	assert_int_equal(frame_len(one, FRAME_MAX), 1);
	assert_int_equal(frame_len(max, FRAME_MAX), FRAME_MAX);
	assert_int_equal(frame_len(over, FRAME_MAX), -EMSGSIZE);
	assert_int_equal(frame_len(huge, FRAME_MAX), -EMSGSIZE);
}

/* The output queues: each connection up to NET_MAX_QUEUE, its first
 * OUT_BUDGET_OWN its own, and all together up to OUT_BUDGET_TOTAL beyond
 * their own shares. Filled the way the transport does (net.c sums
 * out_budget_beyond over the connections), by connections that never
 * drain: 512 of them hold at most 8 MiB (without the shared bound: 256
 * MiB), a connection still gets its own share when the shared part is
 * spent, and the shared part comes on top of the own shares: with every
 * connection at its own share, it is all there for the ones that need
 * more (when the own shares counted in it, 512 connections at 8 KiB used
 * it up and nothing beyond an own share went out). */
static size_t shared_of(const size_t *q, size_t n)
{
	size_t shared = 0;

	for (size_t i = 0; i < n; i++)
		shared += out_budget_beyond(q[i]);
	return shared;
}

static void test_output_budget(void **state)
{
	static size_t q[NET_MAX_CONNS];
	const size_t msg = 100;
	size_t total = 0, budget_refused = 0, shared;

	(void)state;
	assert_int_equal(out_budget_admit(0, 0, msg, NET_MAX_QUEUE), OUT_OK);
	assert_int_equal(out_budget_admit(NET_MAX_QUEUE - msg + 1, 0, msg, NET_MAX_QUEUE),
			 OUT_LINK_FULL);
	assert_int_equal(out_budget_admit(OUT_BUDGET_OWN, OUT_BUDGET_TOTAL, msg, NET_MAX_QUEUE),
			 OUT_BUDGET_FULL);
	assert_int_equal(out_budget_admit(OUT_BUDGET_OWN - msg, OUT_BUDGET_TOTAL, msg,
					  NET_MAX_QUEUE), OUT_OK);
	/* every connection at its own share: the whole shared part is free */
	for (size_t i = 0; i < NET_MAX_CONNS; i++)
		q[i] = OUT_BUDGET_OWN;
	shared = shared_of(q, NET_MAX_CONNS);
	assert_int_equal(out_budget_admit(q[0], shared, NET_MAX_QUEUE - OUT_BUDGET_OWN,
					  NET_MAX_QUEUE), OUT_OK);
	memset(q, 0, sizeof(q));
	/* every connection sends until refused, round after round */
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < NET_MAX_CONNS; i++) {
			enum out_verdict v = out_budget_admit(q[i], shared_of(q, NET_MAX_CONNS),
							      msg, NET_MAX_QUEUE);

			if (v == OUT_OK) {
				q[i] += msg;
				total += msg;
				changed = 1;
			}
			budget_refused += v == OUT_BUDGET_FULL;
		}
	}
	assert_true(total <= OUT_BUDGET_TOTAL + NET_MAX_CONNS * OUT_BUDGET_OWN);
	assert_true(total <= 8u << 20);
	/* the shared part was used on top of (nearly) every own share */
	assert_true(total >= OUT_BUDGET_TOTAL - msg + NET_MAX_CONNS * (OUT_BUDGET_OWN - msg));
	assert_true(budget_refused > 0);
	for (size_t i = 0; i < NET_MAX_CONNS; i++)
		assert_true(q[i] >= OUT_BUDGET_OWN - msg && q[i] <= NET_MAX_QUEUE);
	/* a new connection's pings still go out */
	assert_int_equal(out_budget_admit(0, shared_of(q, NET_MAX_CONNS), 40, NET_MAX_QUEUE),
			 OUT_OK);
	/* one connection drains: what it held beyond its share is free again */
	q[0] = 0;
	assert_int_equal(out_budget_admit(q[1], shared_of(q, NET_MAX_CONNS), msg, NET_MAX_QUEUE),
			 OUT_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_flood_views_bounded),
		cmocka_unit_test(test_record_too_many_links_refused),
		cmocka_unit_test(test_adjacency_table_bounded),
		cmocka_unit_test(test_frame_bounds),
		cmocka_unit_test(test_output_budget),
	};

	log_init("test", LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
