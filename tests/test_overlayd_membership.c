// SPDX-License-Identifier: Apache-2.0
/* One overlay core driven message by message through a recording
 * transport: HyParView membership, the ping state machine, gossip dedup. */
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

struct sent {
	struct node_id to;
	int type;
	int flag;        /* neighbor high / reply accepted */
	unsigned ttl;    /* forward_join / adjacency ttl */
	struct node_id about; /* forward_join node, probe target */
	uint64_t seq;
	uint64_t id;     /* probe id; ping sent_us */
};

static struct sent log_[4096];
static size_t n_log, n_closed;

static int rec_send(void *ctx, const struct node_id *to, const PeerMessage *m)
{
	struct sent *s = &log_[n_log++ % 4096];

	(void)ctx;
	memset(s, 0, sizeof(*s));
	s->to = *to;
	s->type = m->type;
	if (m->neighbor)
		s->flag = m->neighbor->high_priority;
	if (m->neighbor_reply)
		s->flag = m->neighbor_reply->accepted;
	if (m->forward_join) {
		s->ttl = m->forward_join->ttl;
		node_from_pb(m->forward_join->node, &s->about);
	}
	if (m->n_adjacency)
		s->ttl = m->adjacency[0]->ttl;
	if (m->ping) {
		s->seq = m->ping->seq;
		s->id = m->ping->sent_us;
	}
	if (m->probe) {
		node_from_pb(m->probe->target, &s->about);
		s->id = m->probe->id;
	}
	return 0;
}

static void rec_close(void *ctx, const struct node_id *peer)
{
	(void)ctx;
	(void)peer;
	n_closed++;
}

static const struct overlay_ops rec_ops = { rec_send, rec_close, NULL };

static size_t count(int type, const struct node_id *to)
{
	size_t c = 0;

	for (size_t i = 0; i < n_log; i++)
		if (log_[i].type == type && (!to || node_eq(&log_[i].to, to)))
			c++;
	return c;
}

static struct sent *last(int type)
{
	for (size_t i = n_log; i-- > 0;)
		if (log_[i].type == type)
			return &log_[i];
	return NULL;
}

static struct overlay *mk(unsigned active_max)
{
	struct overlay_params p;
	struct node_id self = N(1);

	overlay_params_default(&p);
	p.active_max = active_max;
	n_log = n_closed = 0;
	return overlay_new(&p, &self, 7, NULL, 0, &rec_ops, NULL, 1000000);
}

static void rx_simple(struct overlay *o, int from, int type, int flag, uint64_t now)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Join j = L4LB__OVERLAY__V1__JOIN__INIT;
	L4lb__Overlay__V1__Neighbor nb = L4LB__OVERLAY__V1__NEIGHBOR__INIT;
	L4lb__Overlay__V1__Disconnect dc = L4LB__OVERLAY__V1__DISCONNECT__INIT;
	struct node_id f = N(from);

	m.type = type;
	m.join = &j;
	nb.high_priority = flag;
	m.neighbor = &nb;
	m.disconnect = &dc;
	assert_int_equal(overlay_receive(o, &f, &m, now), 0);
}

/* Does our own advertised record list node i? */
static int advertised(struct overlay *o, int i)
{
	struct node_id n = N(i);
	struct adj_record *r = adj_find(o->adj, &o->self);

	assert_non_null(r);
	for (size_t k = 0; k < r->n_active; k++)
		if (node_eq(&r->active[k], &n))
			return 1;
	return 0;
}

static void test_join_adds_and_forwards(void **state)
{
	struct overlay *o = mk(5);
	struct node_id a = N(2), b = N(3);

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, 1000000);
	assert_non_null(overlay_link(o, &a));
	assert_int_equal(last(T(NEIGHBOR_REPLY))->flag, 1);
	rx_simple(o, 3, T(JOIN), 0, 1000000);
	/* the second joiner is walked through the first with ttl = ARWL */
	assert_int_equal(count(T(FORWARD_JOIN), &a), 1);
	assert_int_equal(last(T(FORWARD_JOIN))->ttl, o->p.arwl);
	assert_memory_equal(&last(T(FORWARD_JOIN))->about, &b, sizeof(b));
	/* the new adjacency was flooded to the active view */
	assert_true(count(T(ADJACENCY), &a) >= 2);
	overlay_free(o);
}

static void test_full_view_evicts_with_disconnect(void **state)
{
	struct overlay *o = mk(2);

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, 1000000);
	rx_simple(o, 3, T(JOIN), 0, 1000000);
	rx_simple(o, 4, T(JOIN), 0, 1000000);
	assert_int_equal(o->n_active, 2);
	assert_int_equal(count(T(DISCONNECT), NULL), 1);
	assert_true(overlay_is_passive(o, &last(T(DISCONNECT))->to));
	overlay_free(o);
}

static void test_neighbor_priority(void **state)
{
	struct overlay *o = mk(1);
	struct node_id c = N(3), d = N(4);

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, 1000000);
	rx_simple(o, 3, T(NEIGHBOR), 0, 1000000);
	assert_int_equal(last(T(NEIGHBOR_REPLY))->flag, 0); /* low, full: refused */
	assert_null(overlay_link(o, &c));
	assert_true(overlay_is_passive(o, &c));
	rx_simple(o, 4, T(NEIGHBOR), 1, 1000000);
	assert_int_equal(last(T(NEIGHBOR_REPLY))->flag, 1); /* high: always */
	assert_non_null(overlay_link(o, &d));
	overlay_free(o);
}

static void test_disconnect_moves_to_passive(void **state)
{
	struct overlay *o = mk(5);
	struct node_id a = N(2);

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, 1000000);
	rx_simple(o, 2, T(DISCONNECT), 0, 1000000);
	assert_null(overlay_link(o, &a));
	assert_true(overlay_is_passive(o, &a));
	assert_true(n_closed >= 1);
	/* it said goodbye, so it is alive: still advertised for linger_ms */
	assert_true(advertised(o, 2));
	overlay_tick(o, 1000000 + o->p.linger_ms * 1000ULL - 1000);
	assert_true(advertised(o, 2));
	overlay_tick(o, 1000000 + o->p.linger_ms * 1000ULL);
	assert_false(advertised(o, 2));
	assert_int_equal(o->n_linger, 0);
	overlay_free(o);
}

static void test_forward_join_walk(void **state)
{
	struct overlay *o = mk(5);
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__ForwardJoin fj = L4LB__OVERLAY__V1__FORWARD_JOIN__INIT;
	struct node_id j = N(9), from = N(2);
	PbNodeId jn;

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, 1000000);
	rx_simple(o, 3, T(JOIN), 0, 1000000);
	node_to_pb(&j, &jn);
	m.type = T(FORWARD_JOIN);
	m.forward_join = &fj;
	fj.node = &jn;
	fj.has_ttl = 1;
	/* at ttl = PRWL: kept in the passive view and walked on */
	fj.ttl = o->p.prwl;
	n_log = 0;
	assert_int_equal(overlay_receive(o, &from, &m, 1000000), 0);
	assert_true(overlay_is_passive(o, &j));
	assert_int_equal(last(T(FORWARD_JOIN))->ttl, o->p.prwl - 1);
	assert_int_equal(count(T(FORWARD_JOIN), &from), 0); /* never back to the sender */
	/* at ttl 0: ask the joiner to be our neighbour, high priority */
	fj.ttl = 0;
	assert_int_equal(overlay_receive(o, &from, &m, 1000000), 0);
	assert_int_equal(last(T(NEIGHBOR))->flag, 1);
	assert_memory_equal(&last(T(NEIGHBOR))->to, &j, sizeof(j));
	/* garbage: a walk with an absurd ttl is refused */
	fj.ttl = 1000;
	assert_int_equal(overlay_receive(o, &from, &m, 1000000), -EPROTO);
	overlay_free(o);
}

static void pong(struct overlay *o, int from, uint64_t seq, uint64_t sent, uint64_t now)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Pong p = L4LB__OVERLAY__V1__PONG__INIT;
	struct node_id f = N(from);

	m.type = T(PONG);
	m.pong = &p;
	p.has_seq = p.has_sent_us = 1;
	p.seq = seq;
	p.sent_us = sent;
	overlay_receive(o, &f, &m, now);
}

/* The NEIGHBOR_REPLY goes out before the acceptor's new record names the
 * asker: the asker holds the link by the time it reads the record, and
 * never sees a view claiming a link it lacks (an accusation). */
static void test_neighbor_reply_before_own_record(void **state)
{
	struct overlay *o = mk(5);
	struct node_id a = N(2);
	size_t reply = SIZE_MAX, adj = SIZE_MAX;

	(void)state;
	rx_simple(o, 2, T(NEIGHBOR), 0, 1000000);
	assert_non_null(overlay_link(o, &a));
	for (size_t i = 0; i < n_log; i++) {
		if (!node_eq(&log_[i].to, &a))
			continue;
		if (log_[i].type == T(NEIGHBOR_REPLY) && reply == SIZE_MAX)
			reply = i;
		if (log_[i].type == T(ADJACENCY) && adj == SIZE_MAX)
			adj = i;
	}
	assert_true(reply != SIZE_MAX && adj != SIZE_MAX);
	assert_true(reply < adj);
	overlay_free(o);
}

/* A node that lost every link asks several passive nodes at once, even
 * ones asked a moment ago (before the partition): its own side only sees
 * a path to it again once one of them accepts, within its orphan grace. */
static void test_isolated_asks_several_passive_nodes(void **state)
{
	struct overlay *o = mk(5);
	uint64_t t0 = 2000000;
	size_t asked = 0;

	(void)state;
	for (int i = 2; i < 10; i++) {
		struct node_id n = N(i);

		member_passive_add(o, &n);
	}
	for (size_t k = 0; k < o->n_passive; k++)
		o->passive[k].asked_us = t0;
	n_log = 0;
	overlay_tick(o, t0 + (o->p.join_min_ms + 50) * 1000ULL);
	for (int i = 2; i < 10; i++) {
		struct node_id n = N(i);

		if (count(T(NEIGHBOR), &n)) {
			assert_int_equal(count(T(NEIGHBOR), &n), 1);
			assert_int_equal(last(T(NEIGHBOR))->flag, 1);
			asked++;
		}
	}
	assert_int_equal(asked, 4);
	overlay_free(o);
}

static void test_ping_suspect_confirm_sever(void **state)
{
	struct overlay *o = mk(5);
	struct node_id a = N(2), c = N(3);
	uint64_t t = 1000000;
	struct link *l;

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, t);
	/* answered pings: the window fills, the link lives on */
	for (int i = 0; i < 100; i++, t += 20000) {
		overlay_tick(o, t);
		l = overlay_link(o, &a);
		assert_non_null(l);
		if (l->unacked_seq)
			pong(o, 2, l->seq, l->sent_us[l->seq % OVERLAY_PING_RING], t + 300);
	}
	assert_true(l->rtt.n > 0);
	assert_int_equal(overlay_timeout(o, l), o->p.rtt.floor_us);
	/* a new link has no sample: it borrows the measured links' timeout,
	 * not the long initial one (a peer dying right after linking) */
	rx_simple(o, 3, T(JOIN), 0, t);
	l = overlay_link(o, &c);
	assert_int_equal(l->rtt.n, 0);
	assert_int_equal(overlay_timeout(o, l), o->p.rtt.floor_us);
	assert_true(o->p.rtt.initial_us > o->p.rtt.floor_us);
	rx_simple(o, 3, T(DISCONNECT), 0, t);
	l = overlay_link(o, &a);
	/* silence: suspected after the timeout, severed only after confirm */
	uint64_t quiet = t;

	while (overlay_link(o, &a) && t - quiet < 2000000) {
		overlay_tick(o, t);
		t += 20000;
	}
	assert_null(overlay_link(o, &a));
	assert_int_equal(o->st.severs, 1);
	assert_true(t - quiet >= o->p.rtt.floor_us + o->p.confirm_min_ms * 1000);
	assert_true(t - quiet < 500000);
	assert_true(overlay_is_passive(o, &a));
	/* a severed peer may be dead: it is not kept advertised (3, which
	 * said goodbye, is) */
	assert_false(advertised(o, 2));
	assert_true(advertised(o, 3));
	overlay_free(o);
}

static void rx_ping(struct overlay *o, int from, uint64_t seq, uint64_t now)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Ping p = L4LB__OVERLAY__V1__PING__INIT;
	struct node_id f = N(from);

	m.type = T(PING);
	m.ping = &p;
	p.has_seq = p.has_sent_us = 1;
	p.seq = seq;
	p.sent_us = now;
	assert_int_equal(overlay_receive(o, &f, &m, now), 0);
}

/* Each end pings half a period after the other, so something arrives from
 * the peer every ping_ms / 2; a peer that goes quiet is suspected from the
 * last thing heard, not only from our next unanswered ping. */
static void test_pings_interleave_and_silence_counts(void **state)
{
	struct overlay *o = mk(5);
	struct node_id a = N(2);
	uint64_t t = 1000000, half = o->p.ping_ms * 500ULL, sent;
	struct link *l;

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, t);
	overlay_tick(o, t); /* first ping at once */
	l = overlay_link(o, &a);
	assert_int_equal(l->seq, 1);
	pong(o, 2, 1, l->sent_us[1], t + 200);
	/* the peer's ping moves ours to half a period after it */
	rx_ping(o, 2, 1, t + 10000);
	assert_int_equal(l->next_ping_us, t + 10000 + half);
	/* never later than 1.5 periods after our last ping, whatever the peer
	 * does (a faster peer must not silence our own pings) */
	for (uint64_t k = 1; k <= 4; k++)
		rx_ping(o, 2, 1 + k, t + 10000 + k * half);
	assert_true(l->next_ping_us <= t + 3 * half);
	/* a healthy window, then the peer falls silent just after its ping */
	for (int i = 0; i < 40; i++) {
		t += 20000;
		overlay_tick(o, t);
		if (l->unacked_seq)
			pong(o, 2, l->seq, l->sent_us[l->seq % OVERLAY_PING_RING], t + 300);
		if (i % 5 == 0)
			rx_ping(o, 2, 100 + i, t + 400);
	}
	/* wait for our next ping and answer it: the last thing ever heard */
	uint64_t seq = l->seq;

	while (l->seq == seq) {
		t += 1000;
		overlay_tick(o, t);
	}
	sent = t;
	pong(o, 2, l->seq, l->sent_us[l->seq % OVERLAY_PING_RING], t + 300);
	assert_false(l->unacked_seq);
	/* the peer is silent from now on: suspected timeout + half a period
	 * after it was last heard, before our next ping (≥ 0.9 period away)
	 * could even be timed out */
	for (t += 1000; !l->suspect_us && t < sent + 1000000; t += 1000)
		overlay_tick(o, t);
	assert_true(l->suspect_us > 0);
	assert_true(l->suspect_us >= sent + 300 + overlay_timeout(o, l) + half);
	assert_true(l->suspect_us <= sent + 300 + overlay_timeout(o, l) + half + 1000);
	assert_true(l->suspect_us < sent + o->p.ping_ms * 900ULL + overlay_timeout(o, l));
	overlay_free(o);
}

static void test_own_lag_does_not_sever(void **state)
{
	struct overlay *o = mk(5);
	struct node_id a = N(2);
	uint64_t t = 1000000;
	struct link *l;

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, t);
	overlay_tick(o, t);
	l = overlay_link(o, &a);
	assert_true(l->unacked_seq != 0);
	/* our loop stalls for 3 s; the pong waits in the socket */
	t += 3000000;
	overlay_tick(o, t);
	assert_non_null(overlay_link(o, &a));
	assert_int_equal(o->st.lags, 1);
	l = overlay_link(o, &a);
	pong(o, 2, l->seq, l->sent_us[l->seq % OVERLAY_PING_RING], t + 100);
	overlay_tick(o, t + 20000);
	assert_non_null(overlay_link(o, &a));
	assert_int_equal(o->st.severs, 0);
	overlay_free(o);
}

static void adj_msg(struct overlay *o, int from, int node, uint64_t clock, const int *view,
		    size_t n, int expect_rc);
static uint64_t adj_now = 2000000; /* when adj_msg delivers */

static void probe_msg(struct overlay *o, int from, int type, int target, uint64_t id,
		      uint64_t now)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Probe p = L4LB__OVERLAY__V1__PROBE__INIT;
	struct node_id f = N(from), t = N(target);
	PbNodeId tp;

	node_to_pb(&t, &tp);
	m.type = type;
	m.probe = &p;
	p.target = &tp;
	p.has_id = 1;
	p.id = id;
	assert_int_equal(overlay_receive(o, &f, &m, now), 0);
}

/* Answers every outstanding ping of the links to the given nodes. */
static void answer(struct overlay *o, const int *who, size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		struct node_id id = N(who[i]);
		struct link *l = overlay_link(o, &id);

		if (l && l->unacked_seq)
			pong(o, who[i], l->seq, l->sent_us[l->seq % OVERLAY_PING_RING], now);
	}
}

static void test_indirect_probe_reprieves_stalled_link(void **state)
{
	struct overlay *o = mk(5);
	struct node_id b = N(2);
	const int all[] = { 2, 3, 4 }, helpers[] = { 3, 4 };
	uint64_t t = 1000000, quiet;
	struct sent *pr;

	(void)state;
	for (int i = 2; i <= 4; i++)
		rx_simple(o, i, T(JOIN), 0, t);
	for (int i = 0; i < 100; i++, t += 20000) {
		overlay_tick(o, t);
		answer(o, all, 3, t + 300);
	}
	/* 2's stream stalls (a lost segment waits for its retransmission);
	 * 3 and 4 answer: at the suspicion both are asked about 2 */
	quiet = t;
	n_log = 0;
	while (!count(T(PROBE), NULL) && t - quiet < 1000000) {
		overlay_tick(o, t);
		answer(o, helpers, 2, t + 300);
		t += 20000;
	}
	{
		struct node_id n3 = N(3), n4 = N(4);

		assert_int_equal(count(T(PROBE), &n3) + count(T(PROBE), &n4), 2);
	}
	pr = last(T(PROBE));
	assert_true(node_eq(&pr->about, &b));
	/* a stale or foreign ack changes nothing; the right one reprieves */
	probe_msg(o, 3, T(PROBE_ACK), 2, pr->id + 1, t);
	assert_true(overlay_link(o, &b)->suspect_us != 0);
	probe_msg(o, 3, T(PROBE_ACK), 2, pr->id, t);
	assert_int_equal(overlay_link(o, &b)->suspect_us, 0);
	assert_int_equal(o->st.probe_acks, 1);
	/* the retransmission arrives 250 ms after the stall began: no sever */
	while (t - quiet < 250000) {
		overlay_tick(o, t);
		answer(o, helpers, 2, t + 300);
		t += 20000;
	}
	assert_non_null(overlay_link(o, &b));
	answer(o, all, 3, t);
	for (int i = 0; i < 10; i++, t += 20000) {
		overlay_tick(o, t);
		answer(o, all, 3, t + 300);
	}
	assert_non_null(overlay_link(o, &b));
	assert_int_equal(o->st.severs, 0);

	/* a link that stays silent is severed at the ceiling even though the
	 * others keep hearing the peer (a one-way cut) */
	quiet = t;
	while (overlay_link(o, &b) && t - quiet < 5000000) {
		size_t before = n_log;

		overlay_tick(o, t);
		answer(o, helpers, 2, t + 300);
		for (size_t k = before; k < n_log; k++)
			if (log_[k].type == T(PROBE))
				probe_msg(o, 3, T(PROBE_ACK), 2, log_[k].id, t + 500);
		t += 20000;
	}
	assert_null(overlay_link(o, &b));
	assert_true(t - quiet >= o->p.rtt.ceil_us);
	assert_true(t - quiet < o->p.rtt.ceil_us + 200000);
	overlay_free(o);
}

static void test_probe_served_and_bounded(void **state)
{
	struct overlay *o = mk(5);
	struct node_id n2 = N(2), n9 = N(9);
	struct sent *ping;
	uint64_t t = 1000000;

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, t);
	/* 9 and 20..59 are nodes of the overlay (their records came by gossip) */
	adj_msg(o, 2, 9, 1, (const int[]){ 2 }, 1, 0);
	for (int i = 0; i < 40; i++)
		adj_msg(o, 2, 20 + i, 1, (const int[]){ 2 }, 1, 0);
	n_log = 0;
	/* an address that is no node of the overlay is never contacted */
	probe_msg(o, 2, T(PROBE), 99, 5, t);
	assert_int_equal(n_log, 0);
	assert_int_equal(o->st.probes_refused, 1);
	/* 2 asks us about 9: a seq-0 Ping goes to 9 */
	probe_msg(o, 2, T(PROBE), 9, 77, t);
	ping = last(T(PING));
	assert_non_null(ping);
	assert_true(node_eq(&ping->to, &n9));
	assert_int_equal(ping->seq, 0);
	/* an answer from someone else is no answer */
	pong(o, 8, 0, ping->id, t + 100);
	assert_int_equal(count(T(PROBE_ACK), NULL), 0);
	pong(o, 9, 0, ping->id, t + 200);
	assert_int_equal(count(T(PROBE_ACK), &n2), 1);
	assert_true(node_eq(&last(T(PROBE_ACK))->about, &n9));
	assert_int_equal(last(T(PROBE_ACK))->id, 77);
	/* once: a replayed pong acks nothing more */
	pong(o, 9, 0, ping->id, t + 300);
	assert_int_equal(count(T(PROBE_ACK), NULL), 1);
	/* about ourselves or about the asker: nothing to do */
	n_log = 0;
	probe_msg(o, 2, T(PROBE), 1, 1, t);
	probe_msg(o, 2, T(PROBE), 2, 1, t);
	assert_int_equal(n_log, 0);
	/* a flood is bounded by the table, not by the asker's rate */
	for (int i = 0; i < 40; i++)
		probe_msg(o, 2, T(PROBE), 20 + i, (uint64_t)i, t);
	assert_int_equal(count(T(PING), NULL), OVERLAY_PROBES);
	assert_int_equal(o->st.probe_drops, 40 - OVERLAY_PROBES);
	/* a seq-0 ping (someone's probe) is answered, but does not make the
	 * pinger a neighbour */
	n_log = 0;
	{
		PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
		L4lb__Overlay__V1__Ping p = L4LB__OVERLAY__V1__PING__INIT;
		struct node_id f = N(30);

		m.type = T(PING);
		m.ping = &p;
		p.has_seq = p.has_sent_us = 1;
		p.sent_us = 5;
		assert_int_equal(overlay_receive(o, &f, &m, t), 0);
		assert_int_equal(count(T(PONG), &f), 1);
		assert_null(overlay_link(o, &f));
		assert_int_equal(count(T(DISCONNECT), NULL), 0);
	}
	overlay_free(o);
}

static void test_unknown_type_ignored(void **state)
{
	struct overlay *o = mk(5);
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	struct node_id f = N(2);

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, 1000000);
	n_log = 0;
	/* a type from a newer version: counted, not an error, link kept */
	m.has_type = 1;
	m.type = (L4lb__Overlay__V1__PeerMessage__Type)99;
	assert_int_equal(overlay_receive(o, &f, &m, 1000000), 0);
	assert_int_equal(o->st.unknown, 1);
	assert_int_equal(o->st.bad, 0);
	assert_int_equal(n_log, 0);
	assert_non_null(overlay_link(o, &f));
	overlay_free(o);
}

static void adj_msg(struct overlay *o, int from, int node, uint64_t clock, const int *view,
		    size_t n, int expect_rc)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Adjacency a = L4LB__OVERLAY__V1__ADJACENCY__INIT, *ap = &a;
	PbNodeId nid, ids[8], *ptrs[8];
	struct node_id nn = N(node), vv[8], f = N(from);

	node_to_pb(&nn, &nid);
	for (size_t i = 0; i < n; i++) {
		vv[i] = N(view[i]);
		node_to_pb(&vv[i], &ids[i]);
		ptrs[i] = &ids[i];
	}
	a.node = &nid;
	a.has_epoch = a.has_clock = a.has_ttl = 1;
	a.epoch = 1;
	a.clock = clock;
	a.ttl = 5;
	a.n_active = n;
	a.active = ptrs;
	m.type = T(ADJACENCY);
	m.n_adjacency = 1;
	m.adjacency = &ap;
	assert_int_equal(overlay_receive(o, &f, &m, adj_now), expect_rc);
}

/* An evicted peer is alive: it stays in our record until a node reached
 * not through it lists it (it relinked), so that it never looks pathless
 * while its other links go at the same moment. */
/* A record with an absurd version (only a forger makes one) is refused:
 * adopted for our own address it would wrap our clock to 0. */
static void test_absurd_versions_refused(void **state)
{
	struct overlay *o = mk(5);
	struct node_id n7 = N(7);

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, 1000000);
	adj_msg(o, 2, 7, UINT64_MAX, (const int[]){ 2 }, 1, -EPROTO);
	adj_msg(o, 2, 7, ADJ_VERSION_MAX + 1, (const int[]){ 2 }, 1, -EPROTO);
	assert_null(adj_find(o->adj, &n7));
	adj_msg(o, 2, 7, ADJ_VERSION_MAX, (const int[]){ 2 }, 1, 0);
	assert_non_null(adj_find(o->adj, &n7));
	overlay_free(o);
}

static void test_evicted_peer_lingers_until_relinked(void **state)
{
	struct overlay *o = mk(2);
	int v, keep, view[1];
	struct node_id vn;

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, 1000000);
	rx_simple(o, 3, T(JOIN), 0, 1000000);
	rx_simple(o, 4, T(JOIN), 0, 1000000);
	vn = last(T(DISCONNECT))->to;
	v = vn.ip[3];
	keep = v == 2 ? 3 : 2;
	assert_null(overlay_link(o, &vn));
	assert_int_equal(o->n_linger, 1);
	assert_true(advertised(o, v));
	/* the victim's record lists only us: no other edge, it stays */
	view[0] = 1;
	adj_msg(o, keep, v, 3, view, 1, 0);
	overlay_tick(o, 2000000);
	assert_true(advertised(o, v));
	/* our neighbour `keep` now lists it: relinked, the linger ends */
	view[0] = v;
	adj_msg(o, keep, keep, 3, view, 1, 0);
	overlay_tick(o, 2020000);
	assert_false(advertised(o, v));
	assert_int_equal(o->n_linger, 0);
	/* and it is still reachable, through keep */
	assert_true(adj_find(o->adj, &vn)->reachable);
	overlay_free(o);
}

static void test_gossip_dedup_and_cascade(void **state)
{
	struct overlay *o = mk(5);
	int v1[] = { 1, 3 }, v2[] = { 1 };
	struct node_id c = N(3);
	struct link *l;

	(void)state;
	rx_simple(o, 2, T(JOIN), 0, 1000000);
	rx_simple(o, 3, T(JOIN), 0, 1000000);
	rx_simple(o, 4, T(JOIN), 0, 1000000);
	n_log = 0;
	adj_msg(o, 2, 2, 5, v1, 2, 0);
	/* forwarded once to the others (not back to 2), ttl decremented */
	assert_int_equal(count(T(ADJACENCY), NULL), 2);
	assert_int_equal(last(T(ADJACENCY))->ttl, 4);
	adj_msg(o, 4, 2, 5, v1, 2, 0); /* the same version via another path */
	assert_int_equal(count(T(ADJACENCY), NULL), 2);
	/* node 2 dropped 3, our neighbour: check 3 at once (silent for a
	 * second here: pinged, and suspected on the spot) */
	l = overlay_link(o, &c);
	l->unacked_seq = 0;
	n_log = 0;
	adj_msg(o, 2, 2, 6, v2, 1, 0);
	assert_true(count(T(PING), &c) >= 1);
	assert_true(l->acc.at_us && l->suspect_us);
	/* a malformed record (3-byte address): refused, nothing stored */
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Adjacency a = L4LB__OVERLAY__V1__ADJACENCY__INIT, *ap = &a;
	PbNodeId bad = L4LB__OVERLAY__V1__NODE_ID__INIT;
	uint8_t ip3[3] = { 1, 2, 3 };
	struct node_id from = N(2);
	size_t known = o->adj->n;

	bad.has_ip = bad.has_port = 1;
	bad.ip.data = ip3;
	bad.ip.len = 3;
	bad.port = 1;
	a.node = &bad;
	a.has_epoch = a.has_clock = 1;
	m.type = T(ADJACENCY);
	m.n_adjacency = 1;
	m.adjacency = &ap;
	assert_int_equal(overlay_receive(o, &from, &m, 2000000), -EPROTO);
	assert_int_equal(o->adj->n, known);
	overlay_free(o);
}

/*
 * Cascading check: a neighbour whose own clock is slow (an RTT window
 * inflated by a loaded host: timeout 4 x 50 ms + 20 ms, confirmation half
 * of it) severs a dead peer soon after two other nodes dropped it,
 * instead of waiting out its own timeout; a peer that still answers is
 * kept.
 */
static void test_cascading_check_is_fast(void **state)
{
	struct overlay *o = mk(5);
	const int all[] = { 2, 3, 4 }, alive[] = { 2, 4 }, before[] = { 1, 3, 4 }, after[] = { 1 };
	const int five[] = { 3 };
	struct node_id dead = N(3), live = N(4);
	uint64_t t = 1000000, quiet, accused;

	(void)state;
	for (int i = 2; i <= 4; i++)
		rx_simple(o, i, T(JOIN), 0, t);
	for (size_t k = 0; k < o->n_active; k++)
		for (int i = 0; i < RTT_WINDOW; i++)
			rtt_add(&o->active[k].rtt, 50000);
	assert_int_equal(overlay_timeout(o, &o->active[0]), 220000);
	adj_now = t;
	adj_msg(o, 2, 2, 5, before, 3, 0);
	for (int i = 0; i < 50; i++, t += 20000) {
		overlay_tick(o, t);
		answer(o, all, 3, t + 300);
	}
	/* 3 dies; 2 and 4 answer */
	quiet = t;
	for (; t < quiet + 200000; t += 20000) {
		overlay_tick(o, t);
		answer(o, alive, 2, t + 300);
	}
	assert_non_null(overlay_link(o, &dead));
	assert_int_equal(o->st.timeouts, 0);
	/* 2 severed 3 (and evicted 4, which is alive): one node alone may
	 * have evicted a live peer, so 3 is only pinged */
	adj_now = t;
	adj_msg(o, 2, 2, 6, after, 1, 0);
	answer(o, alive, 2, t + 300);
	assert_int_equal(o->st.timeouts, 0);
	/* 5, another neighbour of 3, severed it too */
	accused = adj_now = t;
	adj_msg(o, 2, 5, 1, five, 1, 0);
	adj_msg(o, 2, 5, 2, NULL, 0, 0);
	answer(o, alive, 2, t + 300);
	for (; overlay_link(o, &dead) && t < quiet + 2000000; t += 20000) {
		overlay_tick(o, t);
		answer(o, alive, 2, t + 300);
	}
	assert_null(overlay_link(o, &dead));
	assert_int_equal(o->st.cascade_severs, 1);
	/* suspected at once (silent longer than half its timeout) and
	 * confirmed after the minimum, not after the inflated 220 + 110 ms */
	assert_true(t - accused <= (o->p.confirm_min_ms + 3 * o->p.tick_ms) * 1000);
	assert_true(t - quiet < 220000 + 110000);
	/* the live one was pinged, answered, and stays */
	assert_non_null(overlay_link(o, &live));
	assert_int_equal(overlay_link(o, &live)->acc.at_us, 0);
	for (uint64_t end = t + 1000000; t < end; t += 20000) {
		overlay_tick(o, t);
		answer(o, alive, 2, t + 300);
	}
	assert_non_null(overlay_link(o, &live));
	assert_int_equal(o->st.severs, 1);
	overlay_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_adds_and_forwards),
		cmocka_unit_test(test_full_view_evicts_with_disconnect),
		cmocka_unit_test(test_evicted_peer_lingers_until_relinked),
		cmocka_unit_test(test_neighbor_priority),
		cmocka_unit_test(test_disconnect_moves_to_passive),
		cmocka_unit_test(test_forward_join_walk),
		cmocka_unit_test(test_neighbor_reply_before_own_record),
		cmocka_unit_test(test_isolated_asks_several_passive_nodes),
		cmocka_unit_test(test_ping_suspect_confirm_sever),
		cmocka_unit_test(test_indirect_probe_reprieves_stalled_link),
		cmocka_unit_test(test_probe_served_and_bounded),
		cmocka_unit_test(test_unknown_type_ignored),
		cmocka_unit_test(test_own_lag_does_not_sever),
		cmocka_unit_test(test_pings_interleave_and_silence_counts),
		cmocka_unit_test(test_gossip_dedup_and_cascade),
		cmocka_unit_test(test_cascading_check_is_fast),
		cmocka_unit_test(test_absurd_versions_refused),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
