// SPDX-License-Identifier: Apache-2.0
/*
 * HyParView membership: the active view (open, pinged links, symmetric)
 * and the passive view (backup addresses refreshed by shuffles), JOIN,
 * FORWARD_JOIN, NEIGHBOR, DISCONNECT, SHUFFLE, plus rejoining through the
 * seeds and several passive nodes at once when isolated, rescuing nodes in
 * their orphan grace (a partition cut their links) and healing towards
 * known nodes that became unreachable (a partition that ended).
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "overlayd/overlay.h"

#define T(x) L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__##x

static void send_simple(struct overlay *o, const struct node_id *to, int type, int flag)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Join j = L4LB__OVERLAY__V1__JOIN__INIT;
	L4lb__Overlay__V1__Neighbor nb = L4LB__OVERLAY__V1__NEIGHBOR__INIT;
	L4lb__Overlay__V1__NeighborReply nr = L4LB__OVERLAY__V1__NEIGHBOR_REPLY__INIT;
	L4lb__Overlay__V1__Disconnect dc = L4LB__OVERLAY__V1__DISCONNECT__INIT;
	PbNodeId self;

	m.type = type;
	switch (type) {
	case T(JOIN):
		node_to_pb(&o->self, &self);
		j.node = &self;
		m.join = &j;
		o->st.joins++;
		break;
	case T(NEIGHBOR):
		nb.has_high_priority = 1;
		nb.high_priority = flag;
		m.neighbor = &nb;
		break;
	case T(NEIGHBOR_REPLY):
		nr.has_accepted = 1;
		nr.accepted = flag;
		m.neighbor_reply = &nr;
		break;
	case T(DISCONNECT):
		dc.has_alive = 1;
		dc.alive = 1;
		m.disconnect = &dc;
		break;
	}
	overlay_send(o, to, &m);
}

static struct passive *passive_find(struct overlay *o, const struct node_id *n)
{
	for (size_t i = 0; i < o->n_passive; i++)
		if (node_eq(&o->passive[i].node, n))
			return &o->passive[i];
	return NULL;
}

void member_passive_remove(struct overlay *o, const struct node_id *n)
{
	struct passive *p = passive_find(o, n);

	if (p)
		*p = o->passive[--o->n_passive];
}

void member_passive_add(struct overlay *o, const struct node_id *n)
{
	struct passive *p;

	if (node_eq(n, &o->self) || overlay_link(o, n) || o->p.passive_max == 0)
		return;
	if ((p = passive_find(o, n))) {
		p->node.port = n->port;
		return;
	}
	if (o->n_passive >= o->p.passive_max) {
		size_t victim = overlay_rand(o) % o->n_passive;

		o->n_passive--;
		o->passive[victim] = o->passive[o->n_passive];
	}
	memset(&o->passive[o->n_passive], 0, sizeof(o->passive[0]));
	o->passive[o->n_passive++].node = *n;
}

static struct lingering *linger_find(struct overlay *o, const struct node_id *n)
{
	for (size_t i = 0; i < o->n_linger; i++)
		if (node_eq(&o->linger[i].node, n))
			return &o->linger[i];
	return NULL;
}

/* Self dropped n alive (adj_reach: self's record does not accuse it), or
 * no longer believes so. */
static void alive_mark(struct overlay *o, const struct node_id *n, int alive, uint64_t now_us)
{
	struct adj_record *r = alive ? adj_get(o->adj, n, now_us) : adj_find(o->adj, n);

	if (r)
		r->dropped_alive = alive;
}

void member_active_remove(struct overlay *o, size_t i, enum member_drop why, uint64_t now_us)
{
	struct link *l = &o->active[i];
	struct node_id n = l->node;
	struct passive *p;
	struct lingering *lg;
	/* An evicted peer lingers only if it was heard within a ping period:
	 * one that just went silent may be dead (evictions follow a crash, as
	 * its neighbours look for new links), and lingering would hide it. */
	uint64_t heard = l->heard_us > l->since_us ? l->heard_us : l->since_us;
	uint32_t timeout = overlay_timeout(o, l);
	int answers = !l->suspect_us && now_us - heard <= (uint64_t)o->p.ping_ms * 1000 &&
		      (!l->unacked_seq || now_us <= l->unacked_us ||
		       now_us - l->unacked_us < timeout / 2);

	if (why == DROP_EVICT || why == DROP_FAILED)
		send_simple(o, &n, T(DISCONNECT), 0);
	alive_mark(o, &n, (why == DROP_EVICT && answers) || why == DROP_PEER, now_us);
	o->ops.close(o->ctx, &n);
	o->active[i] = o->active[--o->n_active];
	/* a live peer stays in our record for a while: its other links may
	 * be going at the same moment, and it must not look dead meanwhile */
	if (((why == DROP_EVICT && answers) || why == DROP_PEER) && o->p.linger_ms) {
		lg = linger_find(o, &n);
		if (!lg && o->n_linger < OVERLAY_MAX_ACTIVE)
			lg = &o->linger[o->n_linger++];
		if (lg) {
			memset(lg, 0, sizeof(*lg));
			lg->node = n;
			lg->since_us = now_us;
			lg->until_us = now_us + (uint64_t)o->p.linger_ms * 1000;
			/* the first ping half a period later: by then the peer
			 * has taken our Disconnect and closed that connection,
			 * and the ping goes over a new one */
			lg->next_ping_us = now_us + (uint64_t)o->p.ping_ms * 500;
			lg->first_token = o->probe_token + 1;
			lg->timeout_us = timeout;
		}
	}
	/* kept as a backup address (for healing), but not asked again soon */
	member_passive_add(o, &n);
	if ((p = passive_find(o, &n)))
		p->asked_us = now_us;
	gossip_self_changed(o, now_us);
}

/* Is n reached by an edge other than our own (lingering) one: a node
 * reachable not through n lists it, in a record that came after n began
 * to linger? Not an older record, nor through a link severed since the
 * last adj_reach: when a cut took our other links, records from before
 * it still show paths to the far side, and edges from there to n that
 * the cut took too; the linger would end on them, and n, no longer
 * advertised, would look dropped by us. */
static int relinked(struct overlay *o, const struct lingering *lg)
{
	const struct adj_table *t = o->adj;
	const struct node_id *n = &lg->node;

	for (size_t i = 0; i < t->n; i++) {
		const struct adj_record *y = t->recs[i];

		if (i == t->self || !y->have || !y->reachable || node_eq(&y->node, n) ||
		    node_eq(&y->via, n) || !overlay_link(o, &y->via) ||
		    y->updated_us < lg->since_us)
			continue;
		for (size_t k = 0; k < y->n_active; k++)
			if (node_eq(&y->active[k], n))
				return 1;
	}
	return 0;
}

/* A lingering peer silent as long as its link would have been severed
 * after (timeout, then confirmation): it may have crashed right after it
 * left the view, and our record must not keep it reachable. */
static int linger_silent(const struct overlay *o, const struct lingering *lg, uint64_t now_us)
{
	uint64_t cmin = (uint64_t)o->p.confirm_min_ms * 1000;
	uint64_t wait = lg->timeout_us + (lg->timeout_us / 2 > cmin ? lg->timeout_us / 2 : cmin);

	/* two other nodes dropped it: the cascading check's clock (ping.c) */
	if (lg->acc.at_us && lg->acc.n >= 2)
		wait = accused_timeout(o, lg->timeout_us) + cmin;
	return lg->unacked_us && now_us > lg->unacked_us && now_us - lg->unacked_us > wait;
}

void member_linger_tick(struct overlay *o, uint64_t now_us)
{
	int changed = 0;
	char b[NODE_STR_MAX];

	for (size_t i = 0; i < o->n_linger;) {
		struct lingering *lg = &o->linger[i];
		int silent = linger_silent(o, lg, now_us);

		if (silent) {
			log_info("lingering peer %s silent at mono_us=%llu: no longer advertised",
				 node_str(&lg->node, b), (unsigned long long)now_us);
			alive_mark(o, &lg->node, 0, now_us);
		}
		if (silent || now_us >= lg->until_us || overlay_link(o, &lg->node) ||
		    relinked(o, lg)) {
			*lg = o->linger[--o->n_linger];
			changed = 1;
			continue;
		}
		if (now_us >= lg->next_ping_us) {
			ping_send_bare(o, &lg->node, ++o->probe_token);
			if (!lg->unacked_us)
				lg->unacked_us = now_us;
			lg->next_ping_us = now_us + (uint64_t)o->p.ping_ms * 1000;
		}
		i++;
	}
	if (changed)
		gossip_self_changed(o, now_us);
}

void member_linger_answered(struct overlay *o, const struct node_id *from, uint64_t token)
{
	struct lingering *lg = linger_find(o, from);

	/* only our own pings since it lingers; an answer to an earlier one
	 * still shows the peer alive a moment ago, which is what counts */
	if (lg && token >= lg->first_token && token <= o->probe_token) {
		lg->unacked_us = 0;
		lg->acc.at_us = 0;
	}
}

void member_linger_accused(struct overlay *o, const struct node_id *n, const struct node_id *by,
			   uint64_t now_us)
{
	struct lingering *lg = linger_find(o, n);

	if (lg)
		accusation_add(&lg->acc, by, now_us);
}

void member_active_add(struct overlay *o, const struct node_id *n, uint64_t now_us)
{
	struct link *l;
	struct lingering *lg;

	if (node_eq(n, &o->self) || overlay_link(o, n))
		return;
	if (o->n_active >= o->p.active_max) {
		size_t victim = overlay_rand(o) % o->n_active;

		member_active_remove(o, victim, DROP_EVICT, now_us);
	}
	member_passive_remove(o, n);
	alive_mark(o, n, 0, now_us);
	if ((lg = linger_find(o, n)))
		*lg = o->linger[--o->n_linger];
	l = &o->active[o->n_active++];
	ping_link_init(l, n, now_us);
	o->join_backoff_ms = o->p.join_min_ms;
	gossip_self_changed(o, now_us);
	gossip_send_digest(o, n);
}

/* A random active member other than the two given (NULL allowed). */
static struct link *random_active(struct overlay *o, const struct node_id *not1,
				  const struct node_id *not2)
{
	size_t idx[OVERLAY_MAX_ACTIVE], n = 0;

	for (size_t i = 0; i < o->n_active; i++) {
		if (not1 && node_eq(&o->active[i].node, not1))
			continue;
		if (not2 && node_eq(&o->active[i].node, not2))
			continue;
		idx[n++] = i;
	}
	return n ? &o->active[idx[overlay_rand(o) % n]] : NULL;
}

static void send_forward_join(struct overlay *o, const struct node_id *to,
			      const struct node_id *joiner, unsigned ttl)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__ForwardJoin fj = L4LB__OVERLAY__V1__FORWARD_JOIN__INIT;
	PbNodeId jn;

	node_to_pb(joiner, &jn);
	m.type = T(FORWARD_JOIN);
	m.forward_join = &fj;
	fj.node = &jn;
	fj.has_ttl = 1;
	fj.ttl = ttl;
	overlay_send(o, to, &m);
}

static void ask(struct overlay *o, const struct node_id *n, int high, uint64_t now_us)
{
	struct passive *p;

	member_passive_add(o, n);
	if ((p = passive_find(o, n))) {
		p->asked_us = now_us;
		p->asked_high = high;
	}
	send_simple(o, n, T(NEIGHBOR), high);
}

static void on_join(struct overlay *o, const struct node_id *from, uint64_t now_us)
{
	int was = overlay_link(o, from) != NULL;

	member_active_add(o, from, now_us);
	send_simple(o, from, T(NEIGHBOR_REPLY), 1);
	if (was)
		return;
	for (size_t i = 0; i < o->n_active; i++)
		if (!node_eq(&o->active[i].node, from))
			send_forward_join(o, &o->active[i].node, from, o->p.arwl);
}

static void on_forward_join(struct overlay *o, const struct node_id *from, const struct node_id *n,
			    unsigned ttl, uint64_t now_us)
{
	struct link *next;

	if (node_eq(n, &o->self))
		return;
	if (ttl == 0 || o->n_active <= 1) {
		if (!overlay_link(o, n))
			ask(o, n, 1, now_us);
		return;
	}
	if (ttl == o->p.prwl)
		member_passive_add(o, n);
	next = random_active(o, from, n);
	if (next)
		send_forward_join(o, &next->node, n, ttl - 1);
	else if (!overlay_link(o, n))
		ask(o, n, 1, now_us);
}

static void on_neighbor(struct overlay *o, const struct node_id *from, int high, uint64_t now_us)
{
	int ok = overlay_link(o, from) || high || o->n_active < o->p.active_max;

	/* the reply first: the asker then holds the link before our new
	 * record (flooded by member_active_add) names it, so neither it nor
	 * those it forwards our record to see us claim a link it lacks */
	send_simple(o, from, T(NEIGHBOR_REPLY), ok);
	if (ok)
		member_active_add(o, from, now_us);
	else
		member_passive_add(o, from);
}

static void on_neighbor_reply(struct overlay *o, const struct node_id *from, int accepted,
			      uint64_t now_us)
{
	struct passive *p = passive_find(o, from);

	/* only replies to a request of ours count */
	if (!p || !p->asked_us || now_us - p->asked_us > (uint64_t)o->p.retry_ms * 1000)
		return;
	if (accepted)
		member_active_add(o, from, now_us);
	else if (o->n_active == 1 && !p->asked_high)
		/* Refused (its view is full) while we hold one link, one cut
		 * from isolation: where the views around are full (N = 10
		 * after a heal, say) every low ask is refused. Asked again at
		 * high priority, which a full view takes by evicting a member
		 * (who lingers, and refills); low first, so that a view with
		 * room is never made to evict. Once: no honest node refuses a
		 * high ask, and answering each refusal with another ask would
		 * keep the two of us at it for as long as a peer refuses. */
		ask(o, from, 1, now_us);
	else
		o->ops.close(o->ctx, from);
}

static void send_shuffle(struct overlay *o, const struct node_id *to, const struct node_id *origin,
			 unsigned ttl, uint64_t id, const struct node_id *nodes, size_t n,
			 int reply)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Shuffle s = L4LB__OVERLAY__V1__SHUFFLE__INIT;
	L4lb__Overlay__V1__ShuffleReply sr = L4LB__OVERLAY__V1__SHUFFLE_REPLY__INIT;
	PbNodeId ids[OVERLAY_MAX_ACTIVE + 16], *ptrs[OVERLAY_MAX_ACTIVE + 16], on;

	for (size_t i = 0; i < n; i++) {
		node_to_pb(&nodes[i], &ids[i]);
		ptrs[i] = &ids[i];
	}
	if (reply) {
		m.type = T(SHUFFLE_REPLY);
		m.shuffle_reply = &sr;
		sr.n_nodes = n;
		sr.nodes = ptrs;
		sr.has_id = 1;
		sr.id = id;
	} else {
		node_to_pb(origin, &on);
		m.type = T(SHUFFLE);
		m.shuffle = &s;
		s.origin = &on;
		s.has_ttl = s.has_id = 1;
		s.ttl = ttl;
		s.id = id;
		s.n_nodes = n;
		s.nodes = ptrs;
	}
	overlay_send(o, to, &m);
}

/* Merges shuffled ids into the passive view; when it is full, evicts the
 * ids we sent away first (the other side now holds them). */
static void shuffle_merge(struct overlay *o, const struct node_id *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (node_eq(&ids[i], &o->self) || overlay_link(o, &ids[i]) ||
		    passive_find(o, &ids[i]))
			continue;
		if (o->n_passive >= o->p.passive_max && o->n_shuffle_sent)
			member_passive_remove(o, &o->shuffle_sent[--o->n_shuffle_sent]);
		member_passive_add(o, &ids[i]);
	}
}

static size_t pick_passive(struct overlay *o, struct node_id *out, size_t max)
{
	size_t n = 0;

	for (size_t tries = 0; n < max && tries < max * 4 && o->n_passive; tries++) {
		const struct node_id *c = &o->passive[overlay_rand(o) % o->n_passive].node;
		int dup = 0;

		for (size_t k = 0; k < n; k++)
			dup |= node_eq(&out[k], c);
		if (!dup)
			out[n++] = *c;
	}
	return n;
}

static void start_shuffle(struct overlay *o)
{
	struct node_id ids[16];
	size_t n = 0;
	struct link *to = random_active(o, NULL, NULL);

	if (!to)
		return;
	ids[n++] = o->self;
	for (size_t i = 0; i < o->p.ka && i < 6; i++) {
		struct link *l = random_active(o, &to->node, NULL);

		if (l)
			ids[n++] = l->node;
	}
	n += pick_passive(o, ids + n, o->p.kp < 8 ? o->p.kp : 8);
	o->shuffle_id = ((uint64_t)overlay_rand(o) << 32) | overlay_rand(o);
	o->n_shuffle_sent = 0;
	for (size_t i = 1; i < n; i++)
		o->shuffle_sent[o->n_shuffle_sent++] = ids[i];
	send_shuffle(o, &to->node, &o->self, o->p.shuffle_walk, o->shuffle_id, ids, n, 0);
}

static int on_shuffle(struct overlay *o, const struct node_id *from, const PeerMessage *m)
{
	const L4lb__Overlay__V1__Shuffle *s = m->shuffle;
	struct node_id origin, ids[16], mine[16];
	size_t n = 0, nm;
	struct link *next;

	if (!s || node_from_pb(s->origin, &origin) < 0 || s->n_nodes > 16)
		return -EPROTO;
	for (size_t i = 0; i < s->n_nodes; i++)
		if (node_from_pb(s->nodes[i], &ids[n++]) < 0)
			return -EPROTO;
	if (node_eq(&origin, &o->self))
		return 0;
	if (s->ttl > 0 && s->ttl <= 64 && o->n_active > 1 &&
	    (next = random_active(o, from, &origin))) {
		send_shuffle(o, &next->node, &origin, s->ttl - 1, s->id, ids, n, 0);
		return 0;
	}
	nm = pick_passive(o, mine, n);
	send_shuffle(o, &origin, NULL, 0, s->id, mine, nm, 1);
	shuffle_merge(o, ids, n);
	return 0;
}

static int on_shuffle_reply(struct overlay *o, const PeerMessage *m)
{
	const L4lb__Overlay__V1__ShuffleReply *s = m->shuffle_reply;
	struct node_id ids[16];
	size_t n = 0;

	if (!s || s->n_nodes > 16)
		return -EPROTO;
	for (size_t i = 0; i < s->n_nodes; i++)
		if (node_from_pb(s->nodes[i], &ids[n++]) < 0)
			return -EPROTO;
	if (!s->has_id || s->id != o->shuffle_id)
		return 0;
	shuffle_merge(o, ids, n);
	return 0;
}

int member_receive(struct overlay *o, const struct node_id *from, const PeerMessage *m,
		   uint64_t now_us)
{
	struct node_id n;

	switch (m->type) {
	case T(JOIN):
		if (!m->join)
			return -EPROTO;
		on_join(o, from, now_us);
		return 0;
	case T(FORWARD_JOIN):
		if (!m->forward_join || node_from_pb(m->forward_join->node, &n) < 0 ||
		    m->forward_join->ttl > 64)
			return -EPROTO;
		on_forward_join(o, from, &n, m->forward_join->ttl, now_us);
		return 0;
	case T(NEIGHBOR):
		if (!m->neighbor)
			return -EPROTO;
		on_neighbor(o, from, m->neighbor->high_priority, now_us);
		return 0;
	case T(NEIGHBOR_REPLY):
		if (!m->neighbor_reply)
			return -EPROTO;
		on_neighbor_reply(o, from, m->neighbor_reply->accepted, now_us);
		return 0;
	case T(DISCONNECT):
		for (size_t i = 0; i < o->n_active; i++)
			if (node_eq(&o->active[i].node, from)) {
				member_active_remove(o, i, DROP_PEER, now_us);
				break;
			}
		return 0;
	case T(SHUFFLE):
		return on_shuffle(o, from, m);
	case T(SHUFFLE_REPLY):
		return on_shuffle_reply(o, m);
	default:
		return -EPROTO;
	}
}

/* How many passive nodes an isolated node asks per join attempt. */
#define MEMBER_ISOLATED_ASKS 4

/* An ask to a node that was unreachable then and is reachable now was
 * most likely lost (a partition that has ended): it does not hold the
 * node back for the retry. After a heal, a node whose links crossed the
 * partition may be left with one, every ask to the far side lost within
 * the retry (5 s); a cut of that one link would isolate it meanwhile. */
static int ask_lost(const struct overlay *o, const struct passive *p)
{
	const struct adj_record *r;

	if (!p->asked_us || !(r = adj_find(o->adj, &p->node)))
		return 0;
	return r->reachable && r->since_us > p->asked_us;
}

/* Did a reachability change since the last look leave a lost ask (the
 * view is then filled at once, not at the next fill period)? */
static int asks_lost(struct overlay *o)
{
	if (o->fill_gen == o->generation)
		return 0;
	o->fill_gen = o->generation;
	for (size_t i = 0; i < o->n_passive; i++)
		if (ask_lost(o, &o->passive[i]))
			return 1;
	return 0;
}

/* A passive node not asked within retry_us (or whose ask was lost), or
 * NULL. `skip_unreachable`: not one whose record shows it unreachable
 * (heal() asks those, at high priority; a fill ask to one would be lost,
 * and hold it back from heal() for the retry). */
static struct passive *passive_candidate(struct overlay *o, uint64_t now_us, uint64_t retry_us,
					 int skip_unreachable)
{
	size_t start, n = o->n_passive;

	if (!n)
		return NULL;
	start = overlay_rand(o) % n;
	for (size_t k = 0; k < n; k++) {
		struct passive *p = &o->passive[(start + k) % n];
		const struct adj_record *r;

		if (skip_unreachable && (r = adj_find(o->adj, &p->node)) && r->have && !r->reachable)
			continue;
		if (!p->asked_us || now_us - p->asked_us > retry_us || ask_lost(o, p))
			return p;
	}
	return NULL;
}

/* Healing: a known node that has been unreachable for a while, which we
 * may reach directly (a partition ended, or it restarted). */
static void heal(struct overlay *o, uint64_t now_us)
{
	struct adj_table *t = o->adj;
	size_t start, n = t->n;

	if (!n)
		return;
	start = overlay_rand(o) % n;
	for (size_t k = 0; k < n; k++) {
		struct adj_record *r = t->recs[(start + k) % n];
		struct passive *p;

		if (r->reachable || !r->node.port || node_eq(&r->node, &o->self) ||
		    now_us - r->since_us < (uint64_t)o->p.heal_ms * 1000)
			continue;
		p = passive_find(o, &r->node);
		if (p && p->asked_us && now_us - p->asked_us < (uint64_t)o->p.retry_ms * 1000)
			continue;
		ask(o, &r->node, 1, now_us);
		return;
	}
}

/* Rescue: a node in its orphan grace (no path shown, not accused) is
 * probably alive on our side of a partition that cut its links, in an
 * island of the mesh no one of our component links to; the islands are
 * not isolated, so nothing else makes them link up before the grace ends
 * and the whole side marks them unreachable. Ask one such node directly
 * per tick, at low priority (taken only where there is room, so it never
 * evicts a working link); on the far side the ask is lost, which costs
 * one frame. Not re-asked within the grace, which ends the rescue. */
static void rescue(struct overlay *o, uint64_t now_us)
{
	struct adj_table *t = o->adj;
	size_t start, n = t->n;

	if (!n || !t->n_pathless)
		return;
	start = overlay_rand(o) % n;
	for (size_t k = 0; k < n; k++) {
		struct adj_record *r = t->recs[(start + k) % n];
		struct passive *p;

		if (!r->pathless_us || !r->node.port || node_eq(&r->node, &o->self))
			continue;
		p = passive_find(o, &r->node);
		if (p && p->asked_us && now_us - p->asked_us < (uint64_t)o->p.grace_ms * 1000)
			continue;
		ask(o, &r->node, 0, now_us);
		return;
	}
}

void member_tick(struct overlay *o, uint64_t now_us)
{
	struct passive *p;

	if (!o->n_active && now_us >= o->join_at_us) {
		/* isolated: join through a seed, else a passive node */
		if (o->n_seeds) {
			const struct node_id *s = &o->seeds[o->next_seed++ % o->n_seeds];
			struct passive *sp;

			member_passive_add(o, s);
			if ((sp = passive_find(o, s)))
				sp->asked_us = now_us;
			send_simple(o, s, T(JOIN), 0);
		}
		/* Several passive nodes at once: after a partition the seeds
		 * and part of the passive view may be on the far side, and
		 * the nodes of our own side only see a path to us again once
		 * we link up with one of them, which must happen within their
		 * orphan grace (one asked at a time took ~1.3 s). */
		for (unsigned k = 0; k < MEMBER_ISOLATED_ASKS; k++)
			if ((p = passive_candidate(o, now_us, o->p.join_min_ms * 1000ULL, 0)))
				ask(o, &p->node, 1, now_us);
		o->join_at_us = now_us + o->join_backoff_ms * 1000;
		o->join_backoff_ms *= 2;
		if (o->join_backoff_ms > o->p.join_max_ms)
			o->join_backoff_ms = o->p.join_max_ms;
	}
	/* asks_lost first: it marks the generation seen (overlay_next_tick
	 * ticks every tick_ms until it is) */
	if (o->n_active && o->n_active < o->p.active_max &&
	    (asks_lost(o) || now_us >= o->fill_at_us)) {
		if ((p = passive_candidate(o, now_us, o->p.retry_ms * 1000ULL, 1)))
			ask(o, &p->node, 0, now_us);
		o->fill_at_us = now_us + (uint64_t)o->p.fill_ms * 1000;
	}
	rescue(o, now_us);
	if (now_us >= o->heal_at_us) {
		heal(o, now_us);
		o->heal_at_us = now_us + (uint64_t)o->p.heal_ms * 1000;
	}
	if (now_us >= o->shuffle_at_us) {
		start_shuffle(o);
		o->shuffle_at_us = now_us + (uint64_t)o->p.shuffle_ms * 900 +
				   overlay_rand(o) % ((uint64_t)o->p.shuffle_ms * 200 + 1);
	}
}
