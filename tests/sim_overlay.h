/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A deterministic discrete-event simulation of N overlay cores: injected
 * clock, an in-memory network with a fixed one-way delay, messages packed
 * and unpacked on the way as on TCP. Included by the overlayd unit tests.
 *
 * Packet loss (loss_ppm) is modelled as TCP sees it: nothing is lost, a
 * lost segment arrives one retransmission timeout later (200 ms, Linux's
 * minimum, plus up to 60 ms of timer slack, doubling when the
 * retransmission is lost too), and everything
 * sent after it on the same connection waits behind it (in order).
 */
#ifndef TESTS_SIM_OVERLAY_H
#define TESTS_SIM_OVERLAY_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlayd/overlay.h"

#define SIM_MAX 64

enum sim_ev { EV_TICK, EV_MSG, EV_DOWN };

struct sim_event {
	uint64_t at, seq;
	int kind, from, to;
	int carried; /* sent over a connection a one-way partition still carries */
	uint8_t *buf;
	size_t len;
};

struct sim;

struct sim_node {
	struct sim *sim;
	int id;
	struct overlay *o;
	int alive;     /* 0: crashed */
	uint64_t epoch;
	int part;      /* partition group */
	/* for measurements: when each peer was last seen unreachable here */
	uint64_t unreach_at[SIM_MAX];
	int false_alarm;
};

struct sim {
	int n;
	uint64_t now, seq, delay_us;
	struct sim_node nodes[SIM_MAX];
	unsigned char conn[SIM_MAX][SIM_MAX];
	unsigned char cut[SIM_MAX][SIM_MAX]; /* from→to dropped */
	/* One-way partition (sim_partition_oneway): the lower part drops its
	 * input from the higher part, as an input filter does; the higher
	 * part still receives over the connections open when it began, until
	 * they close (a new connection's handshake must cross both ways). */
	int oneway;
	unsigned char carry[SIM_MAX][SIM_MAX];
	uint32_t salt;                       /* varies every node's PRNG seed */
	struct sim_event *heap;
	size_t nh, caph;
	struct overlay_params p;
	int crashed[SIM_MAX];
	uint64_t msgs, bytes;
	uint32_t loss_ppm, rng;
	uint64_t fifo[SIM_MAX][SIM_MAX]; /* last delivery time from→to */
};

static uint32_t sim_rand(struct sim *s)
{
	uint32_t x = s->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return s->rng = x;
}

/* When a message sent now from→to arrives, loss and ordering included. */
static uint64_t sim_arrival(struct sim *s, int from, int to)
{
	uint64_t at = s->now + s->delay_us, rto = 200000 + sim_rand(s) % 60000;

	while (s->loss_ppm && sim_rand(s) % 1000000 < s->loss_ppm) {
		at += rto;
		rto *= 2;
	}
	if (at < s->fifo[from][to])
		at = s->fifo[from][to];
	s->fifo[from][to] = at;
	return at;
}

static void sim_push(struct sim *s, struct sim_event e)
{
	size_t i;

	e.seq = s->seq++;
	if (s->nh == s->caph) {
		s->caph = s->caph ? s->caph * 2 : 1024;
		s->heap = realloc(s->heap, s->caph * sizeof(*s->heap));
	}
	i = s->nh++;
	while (i) {
		size_t up = (i - 1) / 2;
		struct sim_event *u = &s->heap[up];

		if (u->at < e.at || (u->at == e.at && u->seq < e.seq))
			break;
		s->heap[i] = *u;
		i = up;
	}
	s->heap[i] = e;
}

static struct sim_event sim_pop(struct sim *s)
{
	struct sim_event top = s->heap[0], last = s->heap[--s->nh];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->nh)
			break;
		if (c + 1 < s->nh && (s->heap[c + 1].at < s->heap[c].at ||
				      (s->heap[c + 1].at == s->heap[c].at &&
				       s->heap[c + 1].seq < s->heap[c].seq)))
			c++;
		if (last.at < s->heap[c].at || (last.at == s->heap[c].at && last.seq < s->heap[c].seq))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	s->heap[i] = last;
	return top;
}

static int sim_index(const struct node_id *n)
{
	return n->ip[3] - 1;
}

static struct node_id sim_id(int i)
{
	struct node_id n = { .ip = { 10, 0, 0, (uint8_t)(i + 1) }, .len = 4, .port = 61420 };

	return n;
}

/* Does e reach its receiver (partition and cuts; a crashed sender's
 * traffic is dropped)? */
static int sim_delivered(const struct sim *s, const struct sim_event *e)
{
	int pf = s->nodes[e->from].part, pt = s->nodes[e->to].part;

	if (s->cut[e->from][e->to] || s->crashed[e->from])
		return 0;
	return pf == pt || (s->oneway && pf < pt && e->carried);
}

static int sim_send(void *ctx, const struct node_id *to, const PeerMessage *m)
{
	struct sim_node *sn = ctx;
	struct sim *s = sn->sim;
	int t = sim_index(to);
	struct sim_event e = { 0 };

	if (t < 0 || t >= s->n)
		return -EHOSTUNREACH;
	if (!s->nodes[t].alive && !s->crashed[t]) {
		/* cleanly dead: connection refused */
		e.at = s->now + s->delay_us;
		e.kind = EV_DOWN;
		e.from = t;
		e.to = sn->id;
		sim_push(s, e);
		return 0;
	}
	s->conn[sn->id][t] = s->conn[t][sn->id] = 1;
	e.len = l4lb__overlay__v1__peer_message__get_packed_size(m);
	e.buf = malloc(e.len);
	l4lb__overlay__v1__peer_message__pack(m, e.buf);
	e.carried = s->carry[sn->id][t];
	e.at = sim_arrival(s, sn->id, t);
	e.kind = EV_MSG;
	e.from = sn->id;
	e.to = t;
	s->msgs++;
	s->bytes += e.len + 4;
	sim_push(s, e);
	return 0;
}

static void sim_close(void *ctx, const struct node_id *peer)
{
	struct sim_node *sn = ctx;
	struct sim *s = sn->sim;
	int t = sim_index(peer);
	struct sim_event e = { 0 };

	if (t < 0 || t >= s->n || !s->conn[sn->id][t])
		return;
	s->conn[sn->id][t] = s->conn[t][sn->id] = 0;
	e.carried = s->carry[sn->id][t];
	s->carry[sn->id][t] = s->carry[t][sn->id] = 0;
	/* the peer sees EOF after what was already in flight */
	e.at = s->now + s->delay_us + 1;
	e.kind = EV_DOWN;
	e.from = sn->id;
	e.to = t;
	sim_push(s, e);
}

static void sim_changed(void *ctx)
{
	struct sim_node *sn = ctx;
	struct sim *s = sn->sim;

	for (size_t i = 0; i < sn->o->adj->n; i++) {
		struct adj_record *r = sn->o->adj->recs[i];
		int k = sim_index(&r->node);

		if (k < 0 || k >= s->n)
			continue;
		if (!r->reachable && r->flipped) {
			sn->unreach_at[k] = s->now;
			if (s->nodes[k].alive && s->nodes[k].part == sn->part)
				sn->false_alarm++;
		}
	}
}

static const struct overlay_ops sim_ops = { sim_send, sim_close, sim_changed };

static void sim_start_node(struct sim *s, int i)
{
	struct node_id self = sim_id(i), seed = sim_id(0);
	struct overlay_params p = s->p;
	struct sim_event e = { 0 };

	p.seed = (uint32_t)(i * 7919 + 17 + s->nodes[i].epoch) + s->salt * 1000003u;
	s->nodes[i].sim = s;
	s->nodes[i].id = i;
	s->nodes[i].alive = 1;
	s->crashed[i] = 0;
	s->nodes[i].epoch++;
	overlay_free(s->nodes[i].o);
	s->nodes[i].o = overlay_new(&p, &self, s->nodes[i].epoch, &seed, 1, &sim_ops,
				    &s->nodes[i], s->now);
	e.at = s->now + (uint64_t)(i * 137) % (p.tick_ms * 1000);
	e.kind = EV_TICK;
	e.to = i;
	e.from = (int)s->nodes[i].epoch; /* tick generation, checked in run */
	sim_push(s, e);
}

static void sim_init(struct sim *s, int n)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->delay_us = 150;
	/* OVERLAY_SIM_SEED varies where losses fall (to study other runs) */
	s->rng = getenv("OVERLAY_SIM_SEED") ? (uint32_t)strtoul(getenv("OVERLAY_SIM_SEED"), NULL, 0) : 0;
	if (!s->rng)
		s->rng = 2463534242u;
	overlay_params_default(&s->p);
}

static void sim_start(struct sim *s)
{
	for (int i = 0; i < s->n; i++)
		sim_start_node(s, i);
}

static void sim_run(struct sim *s, uint64_t until_us)
{
	while (s->nh && s->heap[0].at <= until_us) {
		struct sim_event e = sim_pop(s);
		struct sim_node *to = &s->nodes[e.to];

		s->now = e.at;
		switch (e.kind) {
		case EV_TICK:
			if (!to->alive || e.from != (int)to->epoch)
				break;
			overlay_tick(to->o, s->now);
			e.at = s->now + s->p.tick_ms * 1000;
			sim_push(s, e);
			break;
		case EV_MSG: {
			PeerMessage *m;
			struct node_id from = sim_id(e.from);

			if (to->alive && sim_delivered(s, &e) &&
			    (m = l4lb__overlay__v1__peer_message__unpack(NULL, e.len, e.buf))) {
				overlay_receive(to->o, &from, m, s->now);
				l4lb__overlay__v1__peer_message__free_unpacked(m, NULL);
			}
			free(e.buf);
			break;
		}
		case EV_DOWN: {
			struct node_id from = sim_id(e.from);

			/* a live node's FIN crosses only where its data does
			 * (a dead node's: the refusal or the kill, as before) */
			if (to->alive && (!s->nodes[e.from].alive || sim_delivered(s, &e)))
				overlay_link_down(to->o, &from, s->now);
			break;
		}
		}
	}
	s->now = until_us;
}

/* From now on the nodes with a lower part drop their input from higher
 * parts (set the parts first); see struct sim. */
static inline void sim_partition_oneway(struct sim *s)
{
	s->oneway = 1;
	for (int i = 0; i < s->n; i++)
		for (int k = 0; k < s->n; k++)
			s->carry[i][k] = s->conn[i][k];
}

/* Silent crash: its traffic is dropped from now on, it stops running. */
static void sim_crash(struct sim *s, int i)
{
	s->nodes[i].alive = 0;
	s->crashed[i] = 1;
}

/* Clean kill: the kernel closes its connections (peers see EOF). */
static void sim_kill(struct sim *s, int i)
{
	s->nodes[i].alive = 0;
	s->crashed[i] = 0;
	for (int k = 0; k < s->n; k++)
		if (s->conn[i][k]) {
			struct sim_event e = { 0 };

			s->conn[i][k] = s->conn[k][i] = 0;
			s->carry[i][k] = s->carry[k][i] = 0;
			e.at = s->now + s->delay_us;
			e.kind = EV_DOWN;
			e.from = i;
			e.to = k;
			sim_push(s, e);
		}
}

static void sim_free(struct sim *s)
{
	for (int i = 0; i < s->n; i++)
		overlay_free(s->nodes[i].o);
	for (size_t i = 0; i < s->nh; i++)
		free(s->heap[i].buf);
	free(s->heap);
}

/* Does node i see node k reachable? */
static int sim_sees(struct sim *s, int i, int k)
{
	struct node_id n = sim_id(k);
	struct adj_record *r = adj_find(s->nodes[i].o->adj, &n);

	return r && r->reachable;
}

/* Every live node sees exactly the live nodes of its partition. */
static int sim_converged(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		if (!s->nodes[i].alive)
			continue;
		for (int k = 0; k < s->n; k++) {
			int want = s->nodes[k].alive && s->nodes[k].part == s->nodes[i].part;

			if (sim_sees(s, i, k) != want)
				return 0;
		}
	}
	return 1;
}

/* Runs in 10 ms steps until converged or the deadline; returns the time
 * it took (µs) or UINT64_MAX. */
static uint64_t sim_until_converged(struct sim *s, uint64_t max_us)
{
	uint64_t start = s->now;

	while (s->now - start < max_us) {
		if (sim_converged(s))
			return s->now - start;
		sim_run(s, s->now + 1000);
	}
	return sim_converged(s) ? s->now - start : UINT64_MAX;
}

/* Converged and quiet: every live node has a link, nobody is kept
 * reachable only by the orphan grace, and no node's reachability or view
 * changed for a second (joins still evict members for a while after the
 * cluster first converged). Same return as sim_until_converged. */
static uint64_t sim_until_settled(struct sim *s, uint64_t max_us)
{
	uint64_t start = s->now, gen[SIM_MAX], clk[SIM_MAX];

	while (s->now - start < max_us) {
		int ok = sim_converged(s);

		for (int i = 0; i < s->n; i++) {
			gen[i] = s->nodes[i].alive ? s->nodes[i].o->generation : 0;
			clk[i] = s->nodes[i].alive ? s->nodes[i].o->clock : 0;
		}
		sim_run(s, s->now + 1000000);
		for (int i = 0; i < s->n && ok; i++)
			ok = !s->nodes[i].alive ||
			     (s->nodes[i].o->n_active > 0 && s->nodes[i].o->n_grace == 0 &&
			      s->nodes[i].o->generation == gen[i] && s->nodes[i].o->clock == clk[i]);
		if (ok && sim_converged(s))
			return s->now - start;
	}
	return UINT64_MAX;
}

#endif
