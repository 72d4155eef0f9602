// SPDX-License-Identifier: Apache-2.0
/*
 * The adaptive ping of the active links. Both ends of a link ping every
 * ping_ms from the moment it joins the view, half a period apart: each end
 * schedules its next ping half a period after the peer's, so that every
 * ping_ms / 2 something arrives from the peer (a pong or its own ping).
 * That halves the messages of pinging every ping_ms / 2 from one end while
 * keeping the same evidence rate.
 *
 * A link is suspected when its oldest unanswered ping is older than the
 * timeout derived from its RTT window, or when nothing at all came from
 * the peer for the timeout plus half a period while a ping is unanswered;
 * a suspicion is confirmed (the link severed) only if a fresh ping sent at
 * that moment stays unanswered for max(timeout/2, confirm_min) more, plus
 * confirm_min while another of our links is suspected too (several at
 * once: our side or the network, as when loss starts and every stream
 * stalls for an RTO the RTT windows have not seen yet; added, not doubled,
 * so that a loaded host whose links all look late is not slowed much).
 * An answer to any ping clears the suspicion.
 *
 * A lost segment stalls a TCP stream for a retransmission timeout (Linux:
 * at least 200 ms), longer than the suspicion takes. So at suspicion time
 * probe_k other neighbours are also asked to ping the peer over their own
 * connections (SWIM's indirect probe); if one of them hears it, the peer
 * is alive and only our stream is late: the link gets another timeout
 * (reprieve) instead of being severed. A peer nobody hears is severed as
 * before, so a crash is detected as fast; a link silent beyond the
 * ceiling is severed whatever others hear (a one-way cut).
 *
 * Cascading check: when another node's record drops our peer, the peer is
 * pinged at once and judged on a short clock until it is heard again
 * (check_link). A dead node stays reachable until every neighbour has
 * dropped it, so without this the slowest neighbour's clock decides, and
 * on a loaded host that clock is the longest (its RTT window, and so its
 * timeout, grew with the load).
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "overlayd/overlay.h"

void ping_link_init(struct link *l, const struct node_id *n, uint64_t now_us)
{
	memset(l, 0, sizeof(*l));
	l->node = *n;
	l->since_us = now_us;
	l->next_ping_us = now_us; /* ping at once: no warm-up period */
}

static void send_ping(struct overlay *o, struct link *l, uint64_t now_us)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Ping p = L4LB__OVERLAY__V1__PING__INIT;

	l->seq++;
	l->sent_us[l->seq % OVERLAY_PING_RING] = now_us;
	if (!l->unacked_seq) {
		l->unacked_seq = l->seq;
		l->unacked_us = now_us;
	}
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PING;
	m.ping = &p;
	p.has_seq = p.has_sent_us = 1;
	p.seq = l->seq;
	p.sent_us = now_us;
	l->pings++;
	o->st.pings++;
	overlay_send(o, &l->node, &m);
	/* ±10 % jitter so the links of one node do not ping in lockstep */
	l->next_ping_us = now_us + (uint64_t)o->p.ping_ms * 900 +
			  overlay_rand(o) % ((uint64_t)o->p.ping_ms * 200 + 1);
}

static void send_probe(struct overlay *o, const struct node_id *to, int type,
		       const struct node_id *target, uint64_t id)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Probe p = L4LB__OVERLAY__V1__PROBE__INIT;
	PbNodeId t;

	node_to_pb(target, &t);
	m.type = type;
	m.probe = &p;
	p.target = &t;
	p.has_id = 1;
	p.id = id;
	overlay_send(o, to, &m);
}

/* Asks up to probe_k other neighbours to ping l's peer for us. A node
 * with fewer neighbours than that asks other reachable nodes too (the
 * transport connects on demand): a node with two links is the one that a
 * single failed probe would orphan. */
static void ask_helpers(struct overlay *o, struct link *l)
{
	struct node_id cand[OVERLAY_MAX_ACTIVE];
	size_t n = 0, asked = 0;

	for (size_t i = 0; i < o->n_active; i++)
		if (&o->active[i] != l)
			cand[n++] = o->active[i].node;
	l->probe_id = ((uint64_t)overlay_rand(o) << 32) | overlay_rand(o);
	for (; asked < o->p.probe_k && n; asked++) {
		size_t pick = overlay_rand(o) % n;

		send_probe(o, &cand[pick], L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PROBE,
			   &l->node, l->probe_id);
		o->st.probes_sent++;
		cand[pick] = cand[--n];
	}
	if (asked >= o->p.probe_k || !o->adj->n)
		return;
	for (size_t k = 0, start = overlay_rand(o) % o->adj->n;
	     k < o->adj->n && asked < o->p.probe_k; k++) {
		const struct adj_record *r = o->adj->recs[(start + k) % o->adj->n];

		if (!r->reachable || !r->node.port || node_eq(&r->node, &o->self) ||
		    node_eq(&r->node, &l->node) || overlay_link(o, &r->node))
			continue;
		send_probe(o, &r->node, L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PROBE, &l->node,
			   l->probe_id);
		o->st.probes_sent++;
		asked++;
	}
}

/* Another of our links is suspected too: several at once point at our own
 * side or the network (Lifeguard's local health), not at both peers. With
 * `unaccused`, only links whose peer two other nodes have not dropped
 * (several neighbours dead at once are each dropped by others). */
static int others_suspected(const struct overlay *o, const struct link *l, int unaccused)
{
	for (size_t i = 0; i < o->n_active; i++)
		if (&o->active[i] != l && o->active[i].suspect_us &&
		    !(unaccused && o->active[i].acc.at_us && o->active[i].acc.n >= 2))
			return 1;
	return 0;
}

uint64_t accused_timeout(const struct overlay *o, uint64_t timeout_us)
{
	return timeout_us / 2 > o->p.rtt.floor_us ? timeout_us / 2 : o->p.rtt.floor_us;
}

/* Judges active link i: suspects it, severs it (returns 1: the link is
 * gone and i now holds another) or pings it when due (returns 0). */
static int check_link(struct overlay *o, size_t i, uint64_t now_us)
{
	struct link *l = &o->active[i];
	uint64_t t = overlay_timeout(o, l);
	uint64_t confirm = t / 2;
	uint64_t silent = l->unacked_seq && now_us > l->unacked_us ? now_us - l->unacked_us : 0;
	uint64_t heard = l->heard_us > l->since_us ? l->heard_us : l->since_us;
	uint64_t half = (uint64_t)o->p.ping_ms * 500;
	uint64_t cmin = (uint64_t)o->p.confirm_min_ms * 1000;
	int late = silent > t || (l->unacked_seq && now_us > heard && now_us - heard > t + half);
	int cascading;
	char b[NODE_STR_MAX];

	if (confirm < cmin)
		confirm = cmin;
	if (l->acc.at_us && heard >= l->acc.at_us)
		l->acc.at_us = 0; /* it spoke since: alive, the usual clock again */
	/* not while our own view is doubtful: other links suspected for
	 * themselves, or our loop ran late lately (the host is starved, and
	 * a peer on it may be too, alive; a starved peer is what the long
	 * clock of a loaded host is for) */
	cascading = l->acc.at_us && l->acc.n >= 2 && !others_suspected(o, l, 1) &&
		    (!o->lagged_us || now_us - o->lagged_us > OVERLAY_LAG_DOUBT_US);
	if (cascading) {
		/* Cascading check: two other nodes dropped the peer, each
		 * after its own timeout and its helpers' probes (one alone may
		 * have evicted a live peer, or lost it to a stalled stream;
		 * two seldom, and the second of five neighbours still comes
		 * long before the slowest), so our timeout is halved
		 * (not below the floor) and the confirmation is the minimum.
		 * Not shorter: a lost segment stalls a stream for a
		 * retransmission timeout, which the window has seen (it is why
		 * the window is long) and the floor would not cover: a short
		 * clock turned each false sever under loss into a cascade of
		 * them. A peer that answers, directly or through a helper,
		 * clears it. */
		uint64_t ta = accused_timeout(o, t);

		late |= silent > ta || (l->unacked_seq && now_us > heard && now_us - heard > ta + half);
		confirm = cmin;
	}
	if (others_suspected(o, l, 0))
		confirm += cmin;
	if (late && (now_us >= l->reprieve_us || silent > o->p.rtt.ceil_us)) {
		if (!l->suspect_us && silent <= o->p.rtt.ceil_us) {
			l->suspect_us = now_us;
			l->timeouts++;
			o->st.timeouts++;
			log_debug("link %s suspected at mono_us=%llu (%llu us unanswered%s)",
				  node_str(&l->node, b), (unsigned long long)now_us,
				  (unsigned long long)silent, cascading ? ", cascading check" : "");
			send_ping(o, l, now_us);
			ask_helpers(o, l);
		} else if (silent > o->p.rtt.ceil_us || now_us - l->suspect_us > confirm) {
			log_info("link %s severed at mono_us=%llu: no answer for %llu us%s",
				 node_str(&l->node, b), (unsigned long long)now_us,
				 (unsigned long long)(now_us - l->unacked_us),
				 cascading ? " (dropped by two other nodes)" : "");
			o->st.severs++;
			if (cascading)
				o->st.cascade_severs++;
			member_active_remove(o, i, DROP_FAILED, now_us);
			return 1;
		}
	}
	if (now_us + (uint64_t)o->p.ping_early_ms * 1000 >= l->next_ping_us)
		send_ping(o, l, now_us);
	return 0;
}

uint64_t ping_next_due(const struct overlay *o)
{
	uint64_t due = UINT64_MAX, floor = o->p.rtt.floor_us;
	uint64_t half = (uint64_t)o->p.ping_ms * 500;

	for (size_t i = 0; i < o->n_active; i++) {
		const struct link *l = &o->active[i];

		/* judged on clocks check_link shortens and lengthens: every tick */
		if (l->suspect_us || l->acc.at_us)
			return 0;
		if (l->next_ping_us < due)
			due = l->next_ping_us;
		if (l->unacked_seq) {
			/* the soonest check_link can find it late: every
			 * timeout is at least the floor */
			uint64_t heard = l->heard_us > l->since_us ? l->heard_us : l->since_us;
			uint64_t late = l->unacked_us + floor;

			if (heard + floor + half < late)
				late = heard + floor + half;
			if (late < due)
				due = late;
		}
	}
	return due;
}

void ping_tick(struct overlay *o, uint64_t now_us)
{
	for (size_t i = 0; i < o->n_active;)
		if (!check_link(o, i, now_us))
			i++;
}

int accusation_add(struct accusation *a, const struct node_id *by, uint64_t now_us)
{
	if (!a->at_us) {
		a->at_us = now_us;
		a->first = *by;
		a->n = 1;
		return 1;
	}
	if (a->n < 2 && !node_eq(&a->first, by))
		a->n = 2;
	return 0;
}

/* Pinged at the first accusation; judged at once rather than at the next
 * tick, a tick being a fifth of what a cascade is meant to save. */
void ping_accused(struct overlay *o, struct link *l, const struct node_id *by, uint64_t now_us)
{
	if (accusation_add(&l->acc, by, now_us) && !l->unacked_seq)
		send_ping(o, l, now_us);
	check_link(o, (size_t)(l - o->active), now_us);
}

void ping_heard(struct link *l, uint64_t now_us)
{
	l->heard_us = now_us;
}

void ping_own_lag(struct overlay *o, uint64_t lag_us)
{
	for (size_t i = 0; i < o->n_active; i++) {
		struct link *l = &o->active[i];

		if (l->unacked_seq)
			l->unacked_us += lag_us;
		if (l->heard_us)
			l->heard_us += lag_us;
		if (l->suspect_us)
			l->suspect_us += lag_us;
	}
	for (size_t i = 0; i < o->n_linger; i++)
		if (o->linger[i].unacked_us)
			o->linger[i].unacked_us += lag_us;
}

/* Is a ping sent at sent_us overdue: older than twice the link's usual
 * RTT plus the margin (not more than the confirmation time, which is the
 * least a cut of our link to it has lasted when that neighbour's record
 * drops one of our side: its own sever took longer)? A false doubt only
 * defers an accusation until the answer comes. */
static int overdue(const struct overlay *o, const struct rtt_window *w, uint64_t sent_us,
		   uint64_t now_us)
{
	uint64_t expect = 2ULL * rtt_percentile(w, o->p.rtt.pct) + o->p.rtt.margin_us;
	uint64_t cmin = (uint64_t)o->p.confirm_min_ms * 1000;

	if (expect > cmin)
		expect = cmin;
	return sent_us && now_us > sent_us && now_us - sent_us > expect;
}

int ping_doubtful(const struct overlay *o, const struct link *l, uint64_t now_us)
{
	/* a new link too until its first answer: the digest exchanged when
	 * it opens brings the peer's records before any ping could show that
	 * our traffic reaches it */
	return l->suspect_us ||
	       (l->unacked_seq && (!l->answered_us || overdue(o, &l->rtt, l->unacked_us, now_us)));
}

void ping_untaint(struct overlay *o, uint64_t now_us)
{
	struct adj_record *self = adj_find(o->adj, &o->self);
	int answered = 0;

	for (size_t i = 0; i < o->adj->n; i++) {
		struct adj_record *r = o->adj->recs[i];
		const struct link *l;

		if (r->taint_us && (l = overlay_link(o, &r->taint_from)) &&
		    l->answered_us >= r->taint_us) {
			r->taint_us = 0;
			gossip_relay(o, r, &r->taint_from);
		}
		r->tainted = r->taint_us != 0;
	}
	/* our own record too while none of our links answers: we are more
	 * likely cut off (or on a lossy network) than all our neighbours
	 * dead, and the nodes we dropped are more likely alive too */
	for (size_t i = 0; i < o->n_active && !answered; i++)
		answered = !ping_doubtful(o, &o->active[i], now_us);
	if (self)
		self->tainted = !answered;
}

/* A neighbour suspects its link to target: ping it for them. */
int ping_on_probe(struct overlay *o, const struct node_id *from, const PeerMessage *m,
		  uint64_t now_us)
{
	struct probe_req *slot = NULL;
	struct node_id target;

	if (!m->probe || node_from_pb(m->probe->target, &target) < 0)
		return -EPROTO;
	if (node_eq(&target, &o->self) || node_eq(&target, from))
		return 0;
	/* Only nodes of the overlay: a probe for any other address would make
	 * this node connect wherever a peer asks (a scanner or reflector). */
	if (!adj_find(o->adj, &target)) {
		o->st.probes_refused++;
		return 0;
	}
	/* bounded: a slot is free once answered or older than the ceiling */
	for (size_t i = 0; i < OVERLAY_PROBES && !slot; i++)
		if (!o->probes[i].token || now_us - o->probes[i].at_us > o->p.rtt.ceil_us)
			slot = &o->probes[i];
	if (!slot) {
		o->st.probe_drops++;
		return 0;
	}
	slot->requester = *from;
	slot->target = target;
	slot->id = m->probe->id;
	slot->token = ++o->probe_token;
	slot->at_us = now_us;
	o->st.probes_served++;
	ping_send_bare(o, &target, slot->token);
	return 0;
}

void ping_send_bare(struct overlay *o, const struct node_id *to, uint64_t token)
{
	PeerMessage pm = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Ping p = L4LB__OVERLAY__V1__PING__INIT;

	pm.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PING;
	pm.ping = &p;
	p.has_seq = p.has_sent_us = 1;
	p.seq = 0;
	p.sent_us = token;
	overlay_send(o, to, &pm);
}

/* Someone heard the peer we suspect: only our stream to it is late. */
int ping_on_probe_ack(struct overlay *o, const PeerMessage *m, uint64_t now_us)
{
	struct node_id target;
	struct link *l;
	char b[NODE_STR_MAX];

	if (!m->probe || node_from_pb(m->probe->target, &target) < 0)
		return -EPROTO;
	l = overlay_link(o, &target);
	if (!l || !l->suspect_us || !m->probe->has_id || m->probe->id != l->probe_id)
		return 0;
	o->st.probe_acks++;
	l->suspect_us = 0;
	l->acc.at_us = 0;
	l->reprieve_us = now_us + overlay_timeout(o, l);
	log_debug("link %s answered through a neighbour", node_str(&l->node, b));
	return 0;
}

/* The answer to a probe's Ping (seq 0): tell whoever asked. */
static void probe_answered(struct overlay *o, const struct node_id *from, uint64_t token)
{
	for (size_t i = 0; i < OVERLAY_PROBES; i++) {
		struct probe_req *r = &o->probes[i];

		if (r->token && r->token == token && node_eq(&r->target, from)) {
			send_probe(o, &r->requester, L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PROBE_ACK,
				   &r->target, r->id);
			r->token = 0;
			return;
		}
	}
}

void ping_on_ping(struct overlay *o, const struct node_id *from, const PeerMessage *m,
		  uint64_t now_us)
{
	PeerMessage r = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Pong p = L4LB__OVERLAY__V1__PONG__INIT;
	struct link *l;

	if (!m->ping)
		return;
	r.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PONG;
	r.pong = &p;
	p.has_seq = m->ping->has_seq;
	p.seq = m->ping->seq;
	p.has_sent_us = m->ping->has_sent_us;
	p.sent_us = m->ping->sent_us;
	overlay_send(o, from, &r);
	/* seq 0: an indirect probe, from a node that is not our neighbour */
	if (!m->ping->seq)
		return;
	if ((l = overlay_link(o, from))) {
		/* ping half a period after the peer, but at most 1.5 periods
		 * after our last ping (a faster peer must not silence ours) */
		uint64_t want = now_us + (uint64_t)o->p.ping_ms * 500;
		uint64_t last = l->seq ? l->sent_us[l->seq % OVERLAY_PING_RING] : l->since_us;
		uint64_t cap = last + (uint64_t)o->p.ping_ms * 1500;

		l->next_ping_us = want < cap ? want : cap;
	}
	/* A peer that pings us believes we are its neighbour: if we are not,
	 * take it back when there is room, else tell it so. */
	if (!overlay_link(o, from)) {
		if (o->n_active < o->p.active_max) {
			member_active_add(o, from, now_us);
		} else {
			PeerMessage d = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
			L4lb__Overlay__V1__Disconnect dc = L4LB__OVERLAY__V1__DISCONNECT__INIT;

			d.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__DISCONNECT;
			d.disconnect = &dc;
			dc.has_alive = 1;
			dc.alive = 1;
			overlay_send(o, from, &d);
		}
	}
}

void ping_on_pong(struct overlay *o, const struct node_id *from, const PeerMessage *m,
		  uint64_t now_us)
{
	struct link *l = overlay_link(o, from);
	uint64_t seq;

	if (!m->pong || !m->pong->has_seq)
		return;
	if (m->pong->seq == 0) {
		probe_answered(o, from, m->pong->sent_us);
		member_linger_answered(o, from, m->pong->sent_us);
		return;
	}
	if (!l)
		return;
	seq = m->pong->seq;
	/* only answers to pings we sent, echoing the time we sent them */
	if (seq == 0 || seq > l->seq || seq + OVERLAY_PING_RING <= l->seq ||
	    l->sent_us[seq % OVERLAY_PING_RING] != m->pong->sent_us)
		return;
	l->pongs++;
	o->st.pongs++;
	rtt_add(&l->rtt, (uint32_t)(now_us - m->pong->sent_us));
	if (m->pong->sent_us > l->answered_us)
		l->answered_us = m->pong->sent_us;
	if (l->suspect_us) {
		/* a suspicion the peer answered: we may be the slow one */
		o->st.refuted++;
		l->suspect_us = 0;
		if (o->lhm < 8)
			o->lhm++;
		o->lhm_decay_us = now_us;
	}
	if (l->unacked_seq && seq >= l->unacked_seq) {
		if (seq < l->seq) {
			l->unacked_seq = seq + 1;
			l->unacked_us = l->sent_us[(seq + 1) % OVERLAY_PING_RING];
		} else {
			l->unacked_seq = 0;
			l->unacked_us = 0;
		}
	}
}
