// SPDX-License-Identifier: Apache-2.0
/*
 * Dissemination of adjacency records: flooding over the active links with
 * seen-checks (a record is forwarded only the first time its version is
 * seen, so each node sends each version at most once per link), and
 * anti-entropy by digest when a link is established and periodically.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "overlayd/overlay.h"

typedef L4lb__Overlay__V1__Adjacency PbAdj;

#define GOSSIP_BATCH 64 /* records per message on anti-entropy */

/* Builds the wire form of r into a (pointing into r and the arrays). */
static void adj_to_pb(const struct adj_record *r, PbAdj *a, PbNodeId *node, PbNodeId *ids,
		      PbNodeId **ptrs, unsigned ttl)
{
	l4lb__overlay__v1__adjacency__init(a);
	node_to_pb(&r->node, node);
	a->node = node;
	a->has_epoch = a->has_clock = a->has_ttl = 1;
	a->epoch = r->epoch;
	a->clock = r->clock;
	a->ttl = ttl;
	for (size_t i = 0; i < r->n_active; i++) {
		node_to_pb(&r->active[i], &ids[i]);
		ptrs[i] = &ids[i];
	}
	a->n_active = r->n_active;
	a->active = ptrs;
}

/* Sends records to one peer, or floods them to every active link except
 * `except` when to is NULL. */
static void send_records(struct overlay *o, const struct node_id *to, const struct node_id *except,
			 struct adj_record **recs, size_t n, unsigned ttl)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	PbAdj *a = calloc(n, sizeof(*a));
	PbAdj **ap = calloc(n, sizeof(*ap));
	PbNodeId *nodes = calloc(n, sizeof(*nodes));
	size_t total = 0, k = 0;
	PbNodeId *ids;
	PbNodeId **ptrs;

	for (size_t i = 0; i < n; i++)
		total += recs[i]->n_active;
	ids = calloc(total + 1, sizeof(*ids));
	ptrs = calloc(total + 1, sizeof(*ptrs));
	if (!a || !ap || !nodes || !ids || !ptrs)
		goto done;
	for (size_t i = 0; i < n; i++) {
		adj_to_pb(recs[i], &a[i], &nodes[i], ids + k, ptrs + k, ttl);
		ap[i] = &a[i];
		k += recs[i]->n_active;
	}
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__ADJACENCY;
	m.n_adjacency = n;
	m.adjacency = ap;
	if (to) {
		overlay_send(o, to, &m);
	} else {
		for (size_t i = 0; i < o->n_active; i++)
			if (!except || !node_eq(&o->active[i].node, except))
				overlay_send(o, &o->active[i].node, &m);
	}
done:
	free(a);
	free(ap);
	free(nodes);
	free(ids);
	free(ptrs);
}

void gossip_self_changed(struct overlay *o, uint64_t now_us)
{
	struct node_id view[2 * OVERLAY_MAX_ACTIVE];
	size_t n = 0;
	struct adj_record *r;

	/* the advertised view: the active links and the lingering peers */
	for (size_t i = 0; i < o->n_active; i++)
		view[n++] = o->active[i].node;
	for (size_t i = 0; i < o->n_linger; i++)
		view[n++] = o->linger[i].node;
	o->clock++;
	adj_update(o->adj, &o->self, o->epoch, o->clock, view, n, now_us, NULL, 0, NULL);
	o->dirty = 1;
	if ((r = adj_find(o->adj, &o->self)))
		send_records(o, NULL, NULL, &r, 1, o->p.gossip_ttl);
}

void gossip_send_digest(struct overlay *o, const struct node_id *to)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Digest d = L4LB__OVERLAY__V1__DIGEST__INIT;
	L4lb__Overlay__V1__DigestEntry *e = calloc(o->adj->n + 1, sizeof(*e));
	L4lb__Overlay__V1__DigestEntry **ep = calloc(o->adj->n + 1, sizeof(*ep));
	PbNodeId *ids = calloc(o->adj->n + 1, sizeof(*ids));
	size_t n = 0;

	if (!e || !ep || !ids)
		goto done;
	for (size_t i = 0; i < o->adj->n; i++) {
		struct adj_record *r = o->adj->recs[i];

		if (!r->have)
			continue;
		l4lb__overlay__v1__digest_entry__init(&e[n]);
		node_to_pb(&r->node, &ids[n]);
		e[n].node = &ids[n];
		e[n].has_epoch = e[n].has_clock = 1;
		e[n].epoch = r->epoch;
		e[n].clock = r->clock;
		ep[n] = &e[n];
		n++;
	}
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__DIGEST;
	m.digest = &d;
	d.n_entries = n;
	d.entries = ep;
	overlay_send(o, to, &m);
done:
	free(e);
	free(ep);
	free(ids);
}

/* Anti-entropy runs between members of each other's views. Not only the
 * active view: a link's two ends add each other at different moments (the
 * JOIN's contact sends its digest before its reply), and refusing those
 * digests left stale records that the 5 % loss simulation turned into
 * false alarms. A node in none of our views is refused: a stranger's
 * digest would make us send it our whole table. */
static int digest_peer(struct overlay *o, const struct node_id *n)
{
	if (overlay_link(o, n) || overlay_is_passive(o, n))
		return 1;
	for (size_t i = 0; i < o->n_linger; i++)
		if (node_eq(&o->linger[i].node, n))
			return 1;
	return 0;
}

int gossip_on_digest(struct overlay *o, const struct node_id *from, const PeerMessage *m)
{
	const L4lb__Overlay__V1__Digest *d = m->digest;
	struct adj_record *batch[GOSSIP_BATCH];
	uint8_t *current = NULL; /* by table index: the peer's version is not older */
	size_t nb = 0;
	int rc = 0;

	if (!d)
		return -EPROTO;
	if (!digest_peer(o, from)) {
		o->st.digests_refused++;
		return 0;
	}
	/* No honest node knows more nodes than a table can hold. */
	if (d->n_entries > ADJ_MAX_NODES)
		return -EPROTO;
	/* out of memory: skip this repair (the next digest retries), do not
	 * blame the peer */
	if (!(current = calloc(o->adj->n + 1, 1)))
		return 0;
	/* Each entry decoded once and looked up in the sorted table; the
	 * table is not changed here, so the indexes stay valid. */
	for (size_t k = 0; k < d->n_entries; k++) {
		const L4lb__Overlay__V1__DigestEntry *e = d->entries[k];
		struct node_id n;
		long i;

		if (!e || node_from_pb(e->node, &n) < 0) {
			rc = -EPROTO;
			goto done;
		}
		/* a binary search: a digest costs O(entries · log known) */
		if ((i = adj_index_counted(o->adj, &n, &o->st.digest_cmps)) < 0)
			continue;
		if (adj_version_cmp(o->adj->recs[i]->epoch, o->adj->recs[i]->clock, e->epoch,
				    e->clock) <= 0)
			current[i] = 1;
	}
	/* Send every record the peer lacks or holds an older version of. */
	for (size_t i = 0; i < o->adj->n; i++) {
		struct adj_record *r = o->adj->recs[i];

		if (!r->have || current[i])
			continue;
		batch[nb++] = r;
		if (nb == GOSSIP_BATCH) {
			send_records(o, from, NULL, batch, nb, o->p.gossip_ttl);
			nb = 0;
		}
	}
	if (nb)
		send_records(o, from, NULL, batch, nb, o->p.gossip_ttl);
done:
	free(current);
	return rc;
}

void gossip_relay(struct overlay *o, struct adj_record *r, const struct node_id *except)
{
	send_records(o, NULL, except, &r, 1, o->p.gossip_ttl);
}

/* A neighbour of ours was dropped by someone else: check it now
 * (cascading check). Without this, a dead node stays reachable until the
 * slowest of its neighbours has waited out its own timeout. */
static void cascade(struct overlay *o, const struct node_id *by, const struct node_id *removed,
		    size_t n, uint64_t now_us)
{
	for (size_t i = 0; i < n; i++) {
		struct link *l = overlay_link(o, &removed[i]);

		if (l)
			ping_accused(o, l, by, now_us);
		else
			member_linger_accused(o, &removed[i], by, now_us);
	}
}

/* Our own record from an earlier life is taken over (its version, then
 * clock + 1), the epoch kept in the state dir and bumped at every start.
 * A forged one near the version bound would put our next clock or next
 * life's epoch past ADJ_VERSION_MAX, where every peer refuses our records,
 * for good once saved: honest versions stay far below half of it. */
static int own_version_ok(const struct overlay *o, const struct node_id *node, const PbAdj *a)
{
	return !node_eq(node, &o->self) ||
	       (a->epoch < ADJ_VERSION_MAX / 2 && a->clock < ADJ_VERSION_MAX / 2);
}

/* One record of an ADJACENCY message into node and view, or -EPROTO. */
static int adj_from_pb(const PbAdj *a, struct node_id *node, struct node_id *view)
{
	if (!a || node_from_pb(a->node, node) < 0 || a->n_active > ADJ_MAX_ACTIVE ||
	    !a->has_epoch || !a->has_clock || a->epoch > ADJ_VERSION_MAX ||
	    a->clock > ADJ_VERSION_MAX)
		return -EPROTO;
	for (size_t k = 0; k < a->n_active; k++)
		if (node_from_pb(a->active[k], &view[k]) < 0)
			return -EPROTO;
	return 0;
}

int gossip_on_adjacency(struct overlay *o, const struct node_id *from, const PeerMessage *m,
			uint64_t now_us)
{
	struct node_id node, view[ADJ_MAX_ACTIVE];
	struct link *l = overlay_link(o, from);
	/* Records from a neighbour that does not answer us (yet) are kept,
	 * tainted (adj_reach), and passed on only once it answers
	 * (gossip_relay): a cut that lets only its side's traffic through
	 * would carry that side's drops of our side's nodes to every node
	 * here, whose links to us answer. So are records from a node that is
	 * not our neighbour at all: in a cut like that it is the far-side
	 * node we just severed, still flooding to us over its own connection
	 * until it severs us too (its link to us is the one nothing answers),
	 * and otherwise a link one end has not added yet (the JOIN's contact
	 * floods before its reply comes: released once the link answers) or
	 * a stranger. A link that answers floods them at once as before. */
	int relay = l && !ping_doubtful(o, l, now_us);

	/* All or nothing: a malformed record anywhere refuses the whole
	 * message before any record is stored or forwarded. */
	for (size_t i = 0; i < m->n_adjacency; i++)
		if (adj_from_pb(m->adjacency[i], &node, view) < 0 ||
		    !own_version_ok(o, &node, m->adjacency[i]))
			return -EPROTO;
	for (size_t i = 0; i < m->n_adjacency; i++) {
		const PbAdj *a = m->adjacency[i];
		struct node_id removed[ADJ_MAX_ACTIVE];
		size_t n_removed = 0;
		enum adj_verdict v;
		struct adj_record *r;

		(void)adj_from_pb(a, &node, view); /* checked above */
		o->st.records_rx++;
		if (node_eq(&node, &o->self)) {
			/* Our own record from an earlier life (state dir lost):
			 * jump past it so ours wins everywhere. */
			if (adj_version_cmp(a->epoch, a->clock, o->epoch, o->clock) >= 0) {
				o->epoch = a->epoch;
				o->clock = a->clock;
				gossip_self_changed(o, now_us);
			}
			continue;
		}
		v = adj_update(o->adj, &node, a->epoch, a->clock, view, a->n_active, now_us,
			       removed, ADJ_MAX_ACTIVE, &n_removed);
		if (v == ADJ_INVALID)
			return -EPROTO;
		if (v == ADJ_SAME && relay && (r = adj_find(o->adj, &node)) && r->taint_us) {
			/* the same version over a link that answers */
			r->taint_us = 0;
			o->dirty = 1;
			gossip_relay(o, r, from);
		}
		if (v != ADJ_NEWER)
			continue;
		if ((r = adj_find(o->adj, &node))) {
			r->taint_us = relay ? 0 : now_us;
			r->taint_from = *from;
		}
		o->st.records_new++;
		o->dirty = 1;
		cascade(o, &node, removed, n_removed, now_us);
		if (relay && a->has_ttl && a->ttl > 0 && (r = adj_find(o->adj, &node)))
			send_records(o, NULL, from, &r, 1, a->ttl - 1);
	}
	return 0;
}
