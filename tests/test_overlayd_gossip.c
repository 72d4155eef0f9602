// SPDX-License-Identifier: Apache-2.0
/*
 * Dissemination of adjacency records on the real core, with a recording
 * transport: an ADJACENCY message is applied all or nothing (a malformed
 * record refuses the whole message before any record is stored or
 * forwarded); a record from a node that is not our neighbour is held
 * (tainted, not passed on) until an answering link brings it too; a
 * DIGEST costs O(entries · log known) address comparisons, is refused
 * from a node in none of the views and bounded in entries.
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
#include "overlayd/overlay.h"
#include "tests/overlayd_test_node.h"

#define T(x) L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__##x

/* What the core sent: ADJACENCY records per destination's last octet. */
static size_t adj_sent[256];

static int t_send(void *ctx, const struct node_id *to, const PeerMessage *m)
{
	(void)ctx;
	if (m->type == T(ADJACENCY))
		adj_sent[to->ip[3]] += m->n_adjacency;
	return 0;
}

static const struct overlay_ops ops = { t_send, t_close_nothing, NULL };

static void join(struct overlay *o, uint8_t i, uint64_t now)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Join j = L4LB__OVERLAY__V1__JOIN__INIT;
	struct node_id n = N(i);
	PbNodeId pb;

	node_to_pb(&n, &pb);
	m.has_type = 1;
	m.type = T(JOIN);
	m.join = &j;
	j.node = &pb;
	assert_int_equal(overlay_receive(o, &n, &m, now), 0);
	assert_non_null(overlay_link(o, &n));
}

/* Node 1 with active links to 2 and 5 (joined), the record under test
 * about node 3 (one link, to 4, forwardable: ttl 3). */
struct fixture {
	struct overlay *o;
	/* the pb ids point into these: they must outlive fixture_init */
	struct node_id subject_id, link_id, bad_id;
	PbNodeId who, link, *linkp, bad_who;
	L4lb__Overlay__V1__Adjacency good, bad, *recs[2];
	PeerMessage m;
};

static void fixture_init(struct fixture *f)
{
	struct overlay_params p;
	struct node_id self = N(1), seed = N(2);

	overlay_params_default(&p);
	f->o = overlay_new(&p, &self, 1, &seed, 1, &ops, NULL, 1000000);
	assert_non_null(f->o);
	join(f->o, 2, 1000000);
	join(f->o, 5, 1000000);
	f->subject_id = N(3);
	f->link_id = N(4);
	f->bad_id = N(6);
	node_to_pb(&f->subject_id, &f->who);
	node_to_pb(&f->link_id, &f->link);
	node_to_pb(&f->bad_id, &f->bad_who);
	f->linkp = &f->link;
	l4lb__overlay__v1__adjacency__init(&f->good);
	f->good.node = &f->who;
	f->good.has_epoch = f->good.has_clock = f->good.has_ttl = 1;
	f->good.epoch = 1;
	f->good.clock = 5;
	f->good.ttl = 3;
	f->good.n_active = 1;
	f->good.active = &f->linkp;
	/* well formed but for its missing version */
	f->bad = f->good;
	f->bad.node = &f->bad_who;
	f->bad.has_clock = 0;
	f->recs[0] = &f->good;
	f->recs[1] = &f->bad;
	l4lb__overlay__v1__peer_message__init(&f->m);
	f->m.has_type = 1;
	f->m.type = T(ADJACENCY);
	f->m.n_adjacency = 2;
	f->m.adjacency = f->recs;
	memset(adj_sent, 0, sizeof(adj_sent));
}

/* Record 0 good, record 1 malformed: refused whole, nothing stored, nothing
 * forwarded, the known nodes unchanged; the good record alone is taken. */
static void test_bad_record_refuses_whole_message(void **state)
{
	struct fixture f;
	struct node_id from = N(2), subject = N(3), link = N(4), bad = N(6);
	size_t known;

	(void)state;
	fixture_init(&f);
	known = f.o->adj->n;
	assert_int_equal(overlay_receive(f.o, &from, &f.m, 1001000), -EPROTO);
	assert_null(adj_find(f.o->adj, &subject));
	assert_null(adj_find(f.o->adj, &link));
	assert_null(adj_find(f.o->adj, &bad));
	assert_int_equal(f.o->adj->n, known);
	assert_int_equal(adj_sent[5], 0);
	/* a bad record first is refused the same way */
	f.recs[0] = &f.bad;
	f.recs[1] = &f.good;
	assert_int_equal(overlay_receive(f.o, &from, &f.m, 1002000), -EPROTO);
	assert_null(adj_find(f.o->adj, &subject));
	assert_int_equal(adj_sent[5], 0);
	/* the good record alone: stored and forwarded to the other link */
	f.m.n_adjacency = 1;
	f.recs[0] = &f.good;
	assert_int_equal(overlay_receive(f.o, &from, &f.m, 1003000), 0);
	assert_non_null(adj_find(f.o->adj, &subject));
	assert_int_equal(adj_find(f.o->adj, &subject)->clock, 5);
	assert_non_null(adj_find(f.o->adj, &link));
	assert_int_equal(adj_sent[5], 1);
	assert_int_equal(adj_sent[2], 0); /* not back to its sender */
	overlay_free(f.o);
}

/* A record naming us at a version near the bound: taken over, its clock
 * + 1 (or the next life's epoch + 1, saved) would pass ADJ_VERSION_MAX and
 * every peer would refuse our records. Refused; one of an earlier life
 * below it is still taken over. */
static void test_own_record_near_version_bound(void **state)
{
	struct fixture f;
	struct node_id from = N(2), self = N(1);
	PbNodeId me;
	const struct adj_record *own;

	(void)state;
	fixture_init(&f);
	node_to_pb(&self, &me);
	f.good.node = &me;
	f.m.n_adjacency = 1;
	f.good.clock = ADJ_VERSION_MAX;
	assert_int_equal(overlay_receive(f.o, &from, &f.m, 1001000), -EPROTO);
	f.good.clock = 5;
	f.good.epoch = ADJ_VERSION_MAX;
	assert_int_equal(overlay_receive(f.o, &from, &f.m, 1002000), -EPROTO);
	assert_int_equal(f.o->epoch, 1);
	own = adj_find(f.o->adj, &self);
	assert_non_null(own);
	assert_true(own->epoch <= ADJ_VERSION_MAX && own->clock <= ADJ_VERSION_MAX);
	/* an earlier life's record: jumped past */
	f.good.epoch = 7;
	assert_int_equal(overlay_receive(f.o, &from, &f.m, 1003000), 0);
	assert_int_equal(f.o->epoch, 7);
	assert_true(adj_version_cmp(adj_find(f.o->adj, &self)->epoch,
				    adj_find(f.o->adj, &self)->clock, 7, 5) > 0);
	overlay_free(f.o);
}

/* A record from a node that is not our neighbour (here node 7, in none of
 * our views): in a one-way cut it is the far-side node we severed, still
 * flooding to us until it severs us too, and its drops of our side's
 * nodes must not reach our side as accusations. Kept, tainted (it accuses
 * no one), not passed on; the same version from a neighbour that answers
 * releases it to the other links. */
static void test_record_from_non_neighbour_held(void **state)
{
	struct fixture f;
	struct node_id stranger = N(7), link = N(2), subject = N(3);
	const struct adj_record *r;

	(void)state;
	fixture_init(&f);
	f.m.n_adjacency = 1;
	assert_null(overlay_link(f.o, &stranger));
	assert_int_equal(overlay_receive(f.o, &stranger, &f.m, 1001000), 0);
	assert_non_null(r = adj_find(f.o->adj, &subject));
	assert_int_equal(r->clock, 5);
	assert_true(r->taint_us != 0);
	assert_true(r->tainted);
	assert_int_equal(adj_sent[2], 0);
	assert_int_equal(adj_sent[5], 0);
	/* the same version over a link that answers: passed on, not back */
	assert_int_equal(overlay_receive(f.o, &link, &f.m, 1002000), 0);
	assert_int_equal(r->taint_us, 0);
	assert_false(r->tainted);
	assert_int_equal(adj_sent[5], 1);
	assert_int_equal(adj_sent[2], 0);
	overlay_free(f.o);
}

/* A digest of `n` entries: entry k < known names node 1000 + k, at (1, 10)
 * for even k (as new as ours) and (1, 5) for odd k (older); the rest name
 * nodes nobody knows. */
struct digest {
	struct node_id *ids;
	PbNodeId *pb;
	L4lb__Overlay__V1__DigestEntry *e, **ep;
	L4lb__Overlay__V1__Digest d;
	PeerMessage m;
};

static void digest_init(struct digest *g, size_t n, size_t known)
{
	g->ids = calloc(n, sizeof(*g->ids));
	g->pb = calloc(n, sizeof(*g->pb));
	g->e = calloc(n, sizeof(*g->e));
	g->ep = calloc(n, sizeof(*g->ep));
	assert_true(g->ids && g->pb && g->e && g->ep);
	for (size_t k = 0; k < n; k++) {
		g->ids[k] = N((uint32_t)(k < known ? 1000 + k : 200000 + k));
		node_to_pb(&g->ids[k], &g->pb[k]);
		l4lb__overlay__v1__digest_entry__init(&g->e[k]);
		g->e[k].node = &g->pb[k];
		g->e[k].has_epoch = g->e[k].has_clock = 1;
		g->e[k].epoch = 1;
		g->e[k].clock = k % 2 ? 5 : 10;
		g->ep[k] = &g->e[k];
	}
	l4lb__overlay__v1__digest__init(&g->d);
	g->d.n_entries = n;
	g->d.entries = g->ep;
	l4lb__overlay__v1__peer_message__init(&g->m);
	g->m.has_type = 1;
	g->m.type = T(DIGEST);
	g->m.digest = &g->d;
}

static void digest_free(struct digest *g)
{
	free(g->ids);
	free(g->pb);
	free(g->e);
	free(g->ep);
}

/* The auditor's case: 58,000 entries against 1,000 known nodes. Comparing
 * every record with every entry took 58 million comparisons (810 ms);
 * a lookup per entry in the sorted table takes at most ~log2(known) + 1
 * each. The records sent are exactly those the peer lacks or holds older. */
static void test_digest_cost_bound(void **state)
{
	const size_t entries = 58000, known = 1000;
	struct fixture f;
	struct digest g;
	struct node_id from = N(2);
	size_t sent_expected = 0;

	(void)state;
	fixture_init(&f);
	for (size_t k = 0; k < known; k++) {
		struct node_id n = N((uint32_t)(1000 + k));

		assert_int_equal(adj_update(f.o->adj, &n, 1, 10, NULL, 0, 1000000, NULL, 0, NULL),
				 ADJ_NEWER);
	}
	digest_init(&g, entries, known);
	for (size_t i = 0; i < f.o->adj->n; i++) {
		const struct adj_record *r = f.o->adj->recs[i];
		long k = (long)(r->node.ip[1] << 16 | r->node.ip[2] << 8 | r->node.ip[3]) - 1000;

		/* ours is newer than the digest's (odd k), or it is not in it */
		sent_expected += r->have && (k < 0 || (size_t)k >= known || k % 2);
	}
	assert_int_equal(sent_expected, known / 2 + 1); /* + self's record */
	f.o->st.digest_cmps = 0;
	assert_int_equal(overlay_receive(f.o, &from, &g.m, 1001000), 0);
	assert_int_equal(adj_sent[2], sent_expected);
	assert_int_equal(adj_sent[5], 0);
	/* ≤ 11 per entry for ~1,003 records (2^10 = 1,024) */
	assert_true(f.o->st.digest_cmps > 0);
	assert_true(f.o->st.digest_cmps <= entries * 11);
	digest_free(&g);
	overlay_free(f.o);
}

/* Only members of our views get anti-entropy: a stranger's digest is
 * counted and dropped (no reply, the link not blamed); one over ADJ_MAX_NODES entries
 * is malformed. */
static void test_digest_stranger_and_oversize(void **state)
{
	struct fixture f;
	struct digest g;
	struct node_id stranger = N(7), from = N(2);

	(void)state;
	fixture_init(&f);
	digest_init(&g, 10, 0);
	assert_int_equal(overlay_receive(f.o, &stranger, &g.m, 1001000), 0);
	assert_int_equal(f.o->st.digests_refused, 1);
	assert_int_equal(adj_sent[7], 0);
	assert_int_equal(f.o->st.digest_cmps, 0);
	/* the same from an active peer: answered with what it lacks (self) */
	assert_int_equal(overlay_receive(f.o, &from, &g.m, 1002000), 0);
	assert_int_equal(adj_sent[2], 1);
	assert_int_equal(f.o->st.digests_refused, 1);
	digest_free(&g);
	/* one entry too many, all naming the same node: refused whole */
	digest_init(&g, ADJ_MAX_NODES + 1, 0);
	for (size_t k = 0; k < ADJ_MAX_NODES + 1; k++)
		g.ep[k] = &g.e[0];
	adj_sent[2] = 0;
	assert_int_equal(overlay_receive(f.o, &from, &g.m, 1003000), -EPROTO);
	assert_int_equal(adj_sent[2], 0);
	g.d.n_entries = ADJ_MAX_NODES;
	assert_int_equal(overlay_receive(f.o, &from, &g.m, 1004000), 0);
	assert_int_equal(adj_sent[2], 1);
	digest_free(&g);
	overlay_free(f.o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_record_refuses_whole_message),
		cmocka_unit_test(test_digest_cost_bound),
		cmocka_unit_test(test_digest_stranger_and_oversize),
		cmocka_unit_test(test_own_record_near_version_bound),
		cmocka_unit_test(test_record_from_non_neighbour_held),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
