// SPDX-License-Identifier: Apache-2.0
/*
 * Dissemination of adjacency records on the real core, with a recording
 * transport: an ADJACENCY message is applied all or nothing (a malformed
 * record refuses the whole message before any record is stored or
 * forwarded).
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_record_refuses_whole_message),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
