// SPDX-License-Identifier: Apache-2.0
#include "overlayd/overlay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/log.h"

void overlay_params_default(struct overlay_params *p)
{
	memset(p, 0, sizeof(*p));
	p->active_max = 5;
	p->passive_max = 30;
	p->arwl = 6;
	p->prwl = 3;
	p->ka = 3;
	p->kp = 4;
	p->shuffle_walk = 6;
	p->shuffle_ms = 10000;
	p->tick_ms = 20;
	p->ping_ms = 100;
	/* loopback/LAN RTTs are well under 1 ms: the floor decides */
	p->rtt.floor_us = 120000;
	p->rtt.ceil_us = 2000000;
	p->rtt.initial_us = 500000;
	p->rtt.margin_us = 20000;
	p->rtt.factor = 4;
	p->rtt.pct = 99;
	p->confirm_min_ms = 60;
	p->probe_k = 3;
	p->lag_ms = 50;
	p->join_min_ms = 200;
	p->join_max_ms = 5000;
	p->fill_ms = 500;
	p->heal_ms = 1000;
	p->retry_ms = 5000;
	p->digest_ms = 30000;
	p->expire_ms = 600000;
	p->grace_ms = 500;
	p->linger_ms = 2000;
	p->gossip_ttl = 32;
	p->seed = 1;
}

uint32_t overlay_rand(struct overlay *o)
{
	/* xorshift32: deterministic per seed, which the simulation relies on */
	uint32_t x = o->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	o->rng = x;
	return x;
}

struct overlay *overlay_new(const struct overlay_params *p, const struct node_id *self,
			    uint64_t epoch, const struct node_id *seeds, size_t n_seeds,
			    const struct overlay_ops *ops, void *ctx, uint64_t now_us)
{
	struct overlay *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->p = *p;
	if (o->p.active_max > OVERLAY_MAX_ACTIVE)
		o->p.active_max = OVERLAY_MAX_ACTIVE;
	if (o->p.active_max < 1)
		o->p.active_max = 1;
	if (o->p.passive_max > OVERLAY_MAX_PASSIVE)
		o->p.passive_max = OVERLAY_MAX_PASSIVE;
	o->ops = *ops;
	o->ctx = ctx;
	o->self = *self;
	o->epoch = epoch;
	o->rng = p->seed ? p->seed : 1;
	for (size_t i = 0; i < n_seeds && o->n_seeds < OVERLAY_MAX_SEEDS; i++)
		if (!node_eq(&seeds[i], self))
			o->seeds[o->n_seeds++] = seeds[i];
	if (!(o->adj = adj_table_new()) || !adj_get(o->adj, self, now_us)) {
		overlay_free(o);
		return NULL;
	}
	o->tick_due_us = now_us + (uint64_t)p->tick_ms * 1000;
	o->join_at_us = now_us;
	o->join_backoff_ms = p->join_min_ms;
	o->fill_at_us = now_us + (uint64_t)p->fill_ms * 1000;
	o->heal_at_us = now_us + (uint64_t)p->heal_ms * 1000;
	o->shuffle_at_us = now_us + (uint64_t)p->shuffle_ms * 1000;
	o->digest_at_us = now_us + (uint64_t)p->digest_ms * 1000;
	o->expire_at_us = now_us + 1000000;
	o->lhm_decay_us = now_us;
	gossip_self_changed(o, now_us);
	return o;
}

void overlay_free(struct overlay *o)
{
	if (!o)
		return;
	adj_table_free(o->adj);
	free(o);
}

int overlay_send(struct overlay *o, const struct node_id *to, PeerMessage *m)
{
	int rc;

	m->has_type = 1;
	rc = o->ops.send(o->ctx, to, m);

	if (rc == -ENOBUFS)
		o->st.send_drops++;
	else if (rc == 0)
		o->st.msgs_tx++;
	return rc;
}

struct link *overlay_link(struct overlay *o, const struct node_id *n)
{
	for (size_t i = 0; i < o->n_active; i++)
		if (node_eq(&o->active[i].node, n))
			return &o->active[i];
	return NULL;
}

int overlay_is_passive(const struct overlay *o, const struct node_id *n)
{
	for (size_t i = 0; i < o->n_passive; i++)
		if (node_eq(&o->passive[i].node, n))
			return 1;
	return 0;
}

uint32_t overlay_timeout(const struct overlay *o, const struct link *l)
{
	uint32_t t = 0;

	if (l->rtt.n)
		return rtt_timeout(&l->rtt, &o->p.rtt, o->lhm + 1);
	/* A new link has no sample yet: borrow the longest timeout of the
	 * measured links (same network, same host), so that a peer dying
	 * right after linking is not given the long initial timeout. */
	for (size_t i = 0; i < o->n_active; i++)
		if (o->active[i].rtt.n) {
			uint32_t x = rtt_timeout(&o->active[i].rtt, &o->p.rtt, o->lhm + 1);

			if (x > t)
				t = x;
		}
	return t ? t : rtt_timeout(&l->rtt, &o->p.rtt, o->lhm + 1);
}

void overlay_recompute(struct overlay *o, uint64_t now_us)
{
	char b[NODE_STR_MAX];

	size_t changed;

	if (o->n_active && !o->linked)
		o->adj->accuse_after_us = now_us + OVERLAY_LEARN_US;
	o->linked = o->n_active != 0;
	/* nodes in grace must be re-checked as time passes */
	if (!o->dirty && !o->n_grace)
		return;
	o->dirty = 0;
	ping_untaint(o, now_us);
	changed = adj_reach(o->adj, &o->self, now_us, (uint64_t)o->p.grace_ms * 1000);
	o->n_grace = 0;
	for (size_t i = 0; i < o->adj->n; i++)
		o->n_grace += o->adj->recs[i]->pathless_us != 0;
	if (!changed)
		return;
	o->generation++;
	for (size_t i = 0; i < o->adj->n; i++) {
		struct adj_record *r = o->adj->recs[i];

		if (r->since_us == now_us && r->flipped)
			log_info("node %s %s at mono_us=%llu", node_ip_str(&r->node, b),
				 r->reachable ? "reachable" : "unreachable",
				 (unsigned long long)now_us);
	}
	if (o->ops.changed)
		o->ops.changed(o->ctx);
}

/* Lifeguard's local health: if our own loop ran late, pongs may be
 * sitting unread; shift the deadlines instead of accusing peers. Checked
 * before a message too: after a stall the loop may read another node's
 * record dropping a peer (a cascading check judges the link at once)
 * before that peer's pongs and before the timer that would have shifted;
 * judged on the unshifted clocks, the stall counted as the peer's silence
 * and the suspicion it started lay in the future once shifted, severing
 * the link at the next late moment without a confirmation. */
static void own_lag(struct overlay *o, uint64_t now_us)
{
	uint64_t late = now_us - o->tick_due_us;

	if (!o->tick_due_us || now_us <= o->tick_due_us ||
	    late <= (uint64_t)o->p.lag_ms * 1000)
		return;
	/* the shift is enough: raising the multiplier on every lag made a
	 * busy host slow to detect (lhm grows on refutations) */
	o->st.lags++;
	o->lagged_us = now_us;
	ping_own_lag(o, late);
	/* long enough for our peers to have severed us (a stall is a silent
	 * crash to them; said at info, as it explains their alarm): what we
	 * find closed now is no accusation for an orphan grace */
	if (late >= o->p.rtt.floor_us) {
		o->adj->self_doubt_until_us = now_us + (uint64_t)o->p.grace_ms * 1000;
		log_info("loop stalled %llu us at mono_us=%llu: peers may have dropped us",
			 (unsigned long long)late, (unsigned long long)now_us);
	} else {
		log_debug("loop late by %llu us at mono_us=%llu", (unsigned long long)late,
			  (unsigned long long)now_us);
	}
	/* as if the tick were on time now: the lag is not shifted twice */
	o->tick_due_us = now_us;
}

int overlay_receive(struct overlay *o, const struct node_id *from, const PeerMessage *m,
		    uint64_t now_us)
{
	struct link *l = overlay_link(o, from);
	int rc;

	o->st.msgs_rx++;
	if (node_eq(from, &o->self))
		return -EPROTO;
	own_lag(o, now_us);
	if (l)
		ping_heard(l, now_us);
	switch (m->type) {
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PING:
		ping_on_ping(o, from, m, now_us);
		rc = 0;
		break;
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PONG:
		ping_on_pong(o, from, m, now_us);
		rc = 0;
		break;
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__ADJACENCY:
		rc = gossip_on_adjacency(o, from, m, now_us);
		break;
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__DIGEST:
		rc = gossip_on_digest(o, from, m);
		break;
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PROBE:
		rc = ping_on_probe(o, from, m, now_us);
		break;
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PROBE_ACK:
		rc = ping_on_probe_ack(o, m, now_us);
		break;
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO:
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__JOIN:
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__FORWARD_JOIN:
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__NEIGHBOR:
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__NEIGHBOR_REPLY:
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__DISCONNECT:
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__SHUFFLE:
	case L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__SHUFFLE_REPLY:
		rc = member_receive(o, from, m, now_us);
		break;
	default:
		/* a newer peer's message: not an error, so that new types can
		 * be added without old nodes dropping the link */
		o->st.unknown++;
		rc = 0;
		break;
	}
	if (rc < 0)
		o->st.bad++;
	overlay_recompute(o, now_us);
	return rc;
}

void overlay_link_down(struct overlay *o, const struct node_id *peer, uint64_t now_us)
{
	own_lag(o, now_us);
	for (size_t i = 0; i < o->n_active; i++)
		if (node_eq(&o->active[i].node, peer)) {
			char b[NODE_STR_MAX];

			log_info("link to %s down at mono_us=%llu", node_str(peer, b),
				 (unsigned long long)now_us);
			member_active_remove(o, i, DROP_DOWN, now_us);
			break;
		}
	overlay_recompute(o, now_us);
}

void overlay_tick(struct overlay *o, uint64_t now_us)
{
	own_lag(o, now_us);
	/* called every tick_ms unless overlay_next_tick says otherwise */
	o->tick_due_us = now_us + (uint64_t)o->p.tick_ms * 1000;
	if (o->lhm && now_us - o->lhm_decay_us > OVERLAY_LHM_DECAY_US) {
		o->lhm--;
		o->lhm_decay_us = now_us;
	}
	ping_tick(o, now_us);
	member_tick(o, now_us);
	member_linger_tick(o, now_us);
	if (now_us >= o->digest_at_us && o->n_active) {
		gossip_send_digest(o, &o->active[overlay_rand(o) % o->n_active].node);
		o->digest_at_us = now_us + (uint64_t)o->p.digest_ms * 1000;
	}
	if (now_us >= o->expire_at_us) {
		if (adj_expire(o->adj, now_us, (uint64_t)o->p.expire_ms * 1000))
			o->dirty = 1;
		o->expire_at_us = now_us + 1000000;
	}
	overlay_recompute(o, now_us);
}

/* The earliest of a timer and `due`. */
static uint64_t earliest(uint64_t due, uint64_t at_us)
{
	return at_us < due ? at_us : due;
}

uint64_t overlay_next_tick(struct overlay *o, uint64_t now_us)
{
	uint64_t tick = (uint64_t)o->p.tick_ms * 1000;
	uint64_t due = ping_next_due(o);

	/* judged every tick as before (0: now): nodes in their orphan grace,
	 * lingering peers, a rescue, an isolated node joining, records to
	 * recompute, a view with room whose asks a reachability change may
	 * have shown lost (membership.c fills it at the next tick) */
	if (o->n_grace || o->n_linger || o->adj->n_pathless || !o->n_active || o->dirty ||
	    (o->n_active < o->p.active_max && o->generation != o->fill_gen))
		due = 0;
	if (o->n_active < o->p.active_max)
		due = earliest(due, o->fill_at_us);
	due = earliest(due, o->heal_at_us);
	due = earliest(due, o->shuffle_at_us);
	due = earliest(due, o->digest_at_us);
	due = earliest(due, o->expire_at_us);
	if (o->lhm)
		due = earliest(due, o->lhm_decay_us + OVERLAY_LHM_DECAY_US + 1);
	/* due already and not done by the last tick: a state the tick judges
	 * as time passes (a link answering late), every tick as before */
	if (due <= now_us)
		due = now_us + tick;
	else
		due = earliest(due, now_us + OVERLAY_MAX_SLEEP_US);
	o->tick_due_us = due;
	return due;
}

uint64_t overlay_poll(struct overlay *o, uint64_t now_us)
{
	uint64_t was = o->tick_due_us, due;

	/* A tick due already and not run yet stays due: input read in the
	 * loop turn whose timer expired (libevent runs the sockets' callbacks
	 * before the turn's expired timers), or late input that found our
	 * own lag. Re-armed a tick from now, it was put off again at every
	 * turn that also had input, for as long as the node stays busy. */
	if (was <= now_us)
		return was;
	/* the links only: the other timers keep their own times */
	if (ping_next_due(o) <= now_us + (uint64_t)o->p.ping_early_ms * 1000) {
		ping_tick(o, now_us);
		overlay_recompute(o, now_us);
	}
	due = overlay_next_tick(o, now_us);
	/* "a tick from now" (the state is judged as time passes) is not
	 * later than the tick already due: again at every input, it would
	 * put the tick off for as long as input comes faster than a tick (a
	 * busy node in doubt), and a lingering peer that died would stay
	 * advertised meanwhile */
	if (due == now_us + (uint64_t)o->p.tick_ms * 1000 && was > now_us && was < due)
		o->tick_due_us = due = was;
	return due;
}
