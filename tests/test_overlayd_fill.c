// SPDX-License-Identifier: Apache-2.0
/*
 * Filling the active view (membership.c) with one core and a recording
 * transport: an ask lost to a partition is made again as soon as its node
 * is reachable, a node known to be unreachable is left to heal(), and a
 * node holding one link asks again at high priority when refused. Other
 * nodes' records are set through adj_update, as gossip would.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/log.h"
#include "overlayd/overlay.h"
#include "tests/overlayd_test_node.h"

#define T(x) L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__##x

/* The NEIGHBOR asks sent to each node, by priority, and the closes. */
static unsigned asks[16][2], closes[16];

static int rec_send(void *ctx, const struct node_id *to, const PeerMessage *m)
{
	(void)ctx;
	if (m->type == T(NEIGHBOR) && to->ip[3] < 16)
		asks[to->ip[3]][m->neighbor->high_priority ? 1 : 0]++;
	return 0;
}

static void rec_close(void *ctx, const struct node_id *peer)
{
	(void)ctx;
	if (peer->ip[3] < 16)
		closes[peer->ip[3]]++;
}

static const struct overlay_ops rec_ops = { rec_send, rec_close, NULL };

#define T0 1000000ULL

/* Node 1, linked to the nodes given (each sent us a JOIN at T0). */
static struct overlay *mk(const int *peers, size_t n)
{
	struct overlay_params p;
	struct node_id self = N(1);
	struct overlay *o;

	overlay_params_default(&p);
	memset(asks, 0, sizeof(asks));
	memset(closes, 0, sizeof(closes));
	o = overlay_new(&p, &self, 7, NULL, 0, &rec_ops, NULL, T0);
	assert_non_null(o);
	for (size_t i = 0; i < n; i++) {
		PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
		L4lb__Overlay__V1__Join j = L4LB__OVERLAY__V1__JOIN__INIT;
		struct node_id from = N((uint32_t)peers[i]);

		m.type = T(JOIN);
		m.join = &j;
		assert_int_equal(overlay_receive(o, &from, &m, T0), 0);
	}
	assert_int_equal(o->n_active, n);
	return o;
}

/* Node `node`'s record names `list` (as a newer record flooded to us). */
static void record(struct overlay *o, int node, const int *list, size_t n, uint64_t clock,
		   uint64_t now)
{
	struct node_id id = N((uint32_t)node), v[8];

	for (size_t i = 0; i < n; i++)
		v[i] = N((uint32_t)list[i]);
	assert_int_equal(adj_update(o->adj, &id, 1, clock, v, n, now, NULL, 0, NULL), ADJ_NEWER);
	o->dirty = 1;
	overlay_recompute(o, now);
}

static int reachable(struct overlay *o, int node)
{
	struct node_id id = N((uint32_t)node);
	struct adj_record *r = adj_find(o->adj, &id);

	return r && r->reachable;
}

static void reply(struct overlay *o, int from, int accepted, uint64_t now)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__NeighborReply nr = L4LB__OVERLAY__V1__NEIGHBOR_REPLY__INIT;
	struct node_id f = N((uint32_t)from);

	m.type = T(NEIGHBOR_REPLY);
	nr.has_accepted = 1;
	nr.accepted = accepted;
	m.neighbor_reply = &nr;
	assert_int_equal(overlay_receive(o, &f, &m, now), 0);
}

/*
 * Node 3 was asked while a partition hid it (the ask was lost); once it
 * is reachable again it is asked at the next tick, not after the retry
 * (5 s) nor the fill period. Asked again once only: an ask made while it
 * was reachable holds it back for the retry as before.
 */
static void test_lost_ask_repeated_when_reachable(void **state)
{
	static const int peer[] = { 2 }, via2[] = { 1, 3 };
	struct overlay *o = mk(peer, 1);
	struct node_id n3 = N(3);
	uint64_t t = T0 + 100000;

	(void)state;
	member_passive_add(o, &n3);
	o->passive[0].asked_us = t;
	overlay_tick(o, t + 20000);
	assert_false(reachable(o, 3));
	assert_int_equal(asks[3][0] + asks[3][1], 0);
	/* the partition ends: node 2 lists it */
	o->active[0].next_ping_us = t + 400000;
	o->active[0].unacked_seq = 0;
	record(o, 2, via2, 2, 1, t + 100000);
	assert_true(reachable(o, 3));
	assert_true(o->fill_at_us > t + 120000);
	/* the daemon's schedule (overlay_next_tick) brings that tick at
	 * once too, not with the next ping or timer (up to 50 ms on) */
	assert_int_equal(overlay_next_tick(o, t + 100000), t + 100000 + o->p.tick_ms * 1000ULL);
	overlay_tick(o, t + 120000);
	assert_int_equal(asks[3][0], 1);
	/* unanswered again: that ask was made while it was reachable, so
	 * the retry holds it back */
	for (uint64_t now = t + 140000; now < t + 3000000; now += 20000)
		overlay_tick(o, now);
	assert_int_equal(asks[3][0], 1);
	overlay_free(o);
}

/* The same without the heal: the ask stays held back for the retry. */
static void test_ask_held_back_while_unreachable(void **state)
{
	static const int peer[] = { 2 };
	struct overlay *o = mk(peer, 1);
	struct node_id n3 = N(3);
	uint64_t t = T0 + 100000;

	(void)state;
	member_passive_add(o, &n3);
	o->passive[0].asked_us = t;
	for (uint64_t now = t + 20000; now < t + 3000000; now += 20000)
		overlay_tick(o, now);
	assert_int_equal(asks[3][0], 0);
	overlay_free(o);
}

/*
 * The view's filling asks no node whose record shows it unreachable: such
 * an ask would be lost, and would hold the node back from heal() (which
 * asks it at high priority) for the retry. A node with no record yet is
 * asked.
 */
static void test_fill_skips_known_unreachable(void **state)
{
	static const int peer[] = { 2 }, none[] = { 0 };
	struct overlay *o = mk(peer, 1);
	struct node_id n3 = N(3), n4 = N(4);

	(void)state;
	record(o, 3, none, 0, 1, T0);
	assert_false(reachable(o, 3));
	member_passive_add(o, &n3);
	member_passive_add(o, &n4);
	for (uint64_t now = T0 + 20000; now < T0 + 3000000; now += 20000)
		overlay_tick(o, now);
	assert_int_equal(asks[4][0], 1);
	assert_int_equal(asks[3][0], 0);
	/* heal() does ask it, at high priority */
	assert_true(asks[3][1] >= 1);
	overlay_free(o);
}

/*
 * Refused while holding one link: asked again at once at high priority
 * (a full view takes it by evicting a member), as one cut would isolate
 * us. With two links a refusal closes the connection, as before; so does
 * a refusal of the high ask (a hostile peer's: the asks would never end).
 */
static void test_refused_with_one_link_asks_high(void **state)
{
	static const int one[] = { 2 }, two[] = { 2, 5 };
	struct node_id n3 = N(3);
	struct overlay *o;

	(void)state;
	for (int links = 1; links <= 2; links++) {
		uint64_t now = T0 + 600000;

		o = mk(links == 1 ? one : two, (size_t)links);
		member_passive_add(o, &n3);
		overlay_tick(o, now);
		assert_int_equal(asks[3][0], 1);
		assert_int_equal(asks[3][1], 0);
		reply(o, 3, 0, now + 1000);
		assert_int_equal(asks[3][1], links == 1 ? 1 : 0);
		assert_int_equal(closes[3], links == 1 ? 0 : 1);
		if (links == 1) {
			/* a refusal of the high ask (no honest node's) closes:
			 * asked again, the two would go on for ever */
			reply(o, 3, 0, now + 1500);
			assert_int_equal(asks[3][1], 1);
			assert_int_equal(closes[3], 1);
			/* the next low ask refused is asked high again */
			overlay_tick(o, now + 6000000);
			assert_int_equal(asks[3][0], 2);
			reply(o, 3, 0, now + 6001000);
			assert_int_equal(asks[3][1], 2);
			reply(o, 3, 1, now + 6002000);
			assert_non_null(overlay_link(o, &n3));
		} else {
			assert_int_equal(asks[3][0], 1);
		}
		overlay_free(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_ask_repeated_when_reachable),
		cmocka_unit_test(test_ask_held_back_while_unreachable),
		cmocka_unit_test(test_fill_skips_known_unreachable),
		cmocka_unit_test(test_refused_with_one_link_asks_high),
	};

	log_init("test", LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
