// SPDX-License-Identifier: Apache-2.0
/*
 * HyParView's SHUFFLE on the real core, with a recording transport: the
 * random walk forwards a shuffle with one hop less, its last node replies
 * to the origin with ids of its passive view and merges the ids it got,
 * and the origin merges the reply, evicting first the ids it sent away
 * when its passive view is full.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/log.h"
#include "overlayd/overlay.h"
#include "tests/overlayd_test_node.h"

#define T(x) L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__##x

/* The last SHUFFLE / SHUFFLE_REPLY sent, unpacked again, and to whom. */
static PeerMessage *sent_shuffle, *sent_reply;
static struct node_id shuffle_to, reply_to;

static PeerMessage *copy(const PeerMessage *m)
{
	size_t len = l4lb__overlay__v1__peer_message__get_packed_size(m);
	uint8_t *buf = malloc(len);
	PeerMessage *c;

	assert_non_null(buf);
	l4lb__overlay__v1__peer_message__pack(m, buf);
	c = l4lb__overlay__v1__peer_message__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(c);
	return c;
}

static void forget_sent(void)
{
	if (sent_shuffle)
		l4lb__overlay__v1__peer_message__free_unpacked(sent_shuffle, NULL);
	if (sent_reply)
		l4lb__overlay__v1__peer_message__free_unpacked(sent_reply, NULL);
	sent_shuffle = sent_reply = NULL;
}

static int t_send(void *ctx, const struct node_id *to, const PeerMessage *m)
{
	(void)ctx;
	if (m->type == T(SHUFFLE)) {
		if (sent_shuffle)
			l4lb__overlay__v1__peer_message__free_unpacked(sent_shuffle, NULL);
		sent_shuffle = copy(m);
		shuffle_to = *to;
	} else if (m->type == T(SHUFFLE_REPLY)) {
		if (sent_reply)
			l4lb__overlay__v1__peer_message__free_unpacked(sent_reply, NULL);
		sent_reply = copy(m);
		reply_to = *to;
	}
	return 0;
}

static const struct overlay_ops ops = { t_send, t_close_nothing, NULL };

static int in_passive(const struct overlay *o, uint8_t i)
{
	struct node_id n = N(i);

	for (size_t k = 0; k < o->n_passive; k++)
		if (node_eq(&o->passive[k].node, &n))
			return 1;
	return 0;
}

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

/* Node 1 with active links to 2 and 5 and passive entries 40..40+n-1. */
static struct overlay *core(unsigned passive_max, uint8_t n_passive)
{
	struct overlay_params p;
	struct node_id self = N(1), seed = N(2);
	struct overlay *o;

	overlay_params_default(&p);
	p.passive_max = passive_max;
	/* the first shuffle before the unanswered pings sever the links */
	p.shuffle_ms = 100;
	o = overlay_new(&p, &self, 1, &seed, 1, &ops, NULL, 1000000);
	assert_non_null(o);
	join(o, 2, 1000000);
	join(o, 5, 1000000);
	for (uint8_t i = 0; i < n_passive; i++) {
		struct node_id n = N((uint8_t)(40 + i));

		member_passive_add(o, &n);
	}
	assert_int_equal(o->n_passive, n_passive);
	forget_sent();
	return o;
}

/* A SHUFFLE from 2 on behalf of origin 9 with ids 9, 20, 21. */
static int shuffle_in(struct overlay *o, unsigned ttl, uint64_t id)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Shuffle s = L4LB__OVERLAY__V1__SHUFFLE__INIT;
	struct node_id from = N(2), origin = N(9), ids[3] = { N(9), N(20), N(21) };
	PbNodeId on, pb[3], *pp[3];

	for (int i = 0; i < 3; i++) {
		node_to_pb(&ids[i], &pb[i]);
		pp[i] = &pb[i];
	}
	node_to_pb(&origin, &on);
	m.has_type = 1;
	m.type = T(SHUFFLE);
	m.shuffle = &s;
	s.origin = &on;
	s.has_ttl = s.has_id = 1;
	s.ttl = ttl;
	s.id = id;
	s.n_nodes = 3;
	s.nodes = pp;
	return overlay_receive(o, &from, &m, 2000000);
}

/* Mid-walk: forwarded to another active link (not back, not to the
 * origin) with one hop less and the same ids; nothing merged. */
static void test_shuffle_walk_forwards(void **state)
{
	struct overlay *o = core(30, 3);
	struct node_id five = N(5);

	(void)state;
	assert_int_equal(shuffle_in(o, 3, 77), 0);
	assert_non_null(sent_shuffle);
	assert_true(node_eq(&shuffle_to, &five));
	assert_int_equal(sent_shuffle->shuffle->ttl, 2);
	assert_int_equal(sent_shuffle->shuffle->id, 77);
	assert_int_equal(sent_shuffle->shuffle->n_nodes, 3);
	assert_null(sent_reply);
	assert_int_equal(o->n_passive, 3);
	assert_false(in_passive(o, 20));
	forget_sent();
	overlay_free(o);
}

/* End of the walk (no hop left): a reply to the origin, same id, with ids
 * of this node's passive view, and the received ids merged (the origin
 * too: it is a live node worth knowing). */
static void test_shuffle_end_replies_and_merges(void **state)
{
	struct overlay *o = core(30, 3);
	struct node_id origin = N(9);

	(void)state;
	assert_int_equal(shuffle_in(o, 0, 78), 0);
	assert_null(sent_shuffle);
	assert_non_null(sent_reply);
	assert_true(node_eq(&reply_to, &origin));
	assert_int_equal(sent_reply->shuffle_reply->id, 78);
	assert_true(sent_reply->shuffle_reply->n_nodes >= 1);
	assert_true(sent_reply->shuffle_reply->n_nodes <= 3);
	for (size_t i = 0; i < sent_reply->shuffle_reply->n_nodes; i++) {
		struct node_id n;

		assert_int_equal(node_from_pb(sent_reply->shuffle_reply->nodes[i], &n), 0);
		assert_true(n.ip[3] >= 40 && n.ip[3] < 43); /* from the passive view */
	}
	assert_true(in_passive(o, 9));
	assert_true(in_passive(o, 20));
	assert_true(in_passive(o, 21));
	assert_int_equal(o->n_passive, 6);
	forget_sent();
	overlay_free(o);
}

/* The origin's side: its periodic shuffle goes to an active link with
 * itself and ids of its views; the reply (same id) is merged into a full
 * passive view by evicting ids it sent away, not the ones it kept; a reply
 * with another id is ignored. */
static void test_shuffle_reply_merged_with_eviction(void **state)
{
	struct overlay *o = core(30, 30);
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__ShuffleReply r = L4LB__OVERLAY__V1__SHUFFLE_REPLY__INIT;
	struct node_id in[2] = { N(30), N(31) }, from = N(5), self = N(1), n;
	PbNodeId pb[2], *pp[2];
	int sent[256] = { 0 }, kept_before[256] = { 0 }, n_sent_passive = 0;
	uint64_t now = 1000000;

	(void)state;
	/* run the clock past the shuffle period */
	while (!sent_shuffle && now < 1000000 + 2 * (uint64_t)o->p.shuffle_ms * 1000) {
		now += 20000;
		overlay_tick(o, now);
	}
	assert_non_null(sent_shuffle);
	assert_true(overlay_link(o, &shuffle_to) != NULL);
	assert_int_equal(node_from_pb(sent_shuffle->shuffle->origin, &n), 0);
	assert_true(node_eq(&n, &self));
	assert_int_equal(sent_shuffle->shuffle->ttl, o->p.shuffle_walk);
	for (size_t i = 0; i < sent_shuffle->shuffle->n_nodes; i++) {
		assert_int_equal(node_from_pb(sent_shuffle->shuffle->nodes[i], &n), 0);
		sent[n.ip[3]] = 1;
	}
	assert_true(sent[1]); /* itself */
	for (uint8_t i = 40; i < 70; i++)
		kept_before[i] = !sent[i];
	for (int i = 0; i < 2; i++) {
		node_to_pb(&in[i], &pb[i]);
		pp[i] = &pb[i];
	}
	m.has_type = 1;
	m.type = T(SHUFFLE_REPLY);
	m.shuffle_reply = &r;
	r.n_nodes = 2;
	r.nodes = pp;
	r.has_id = 1;
	r.id = sent_shuffle->shuffle->id + 1; /* not ours */
	assert_int_equal(overlay_receive(o, &from, &m, now), 0);
	assert_false(in_passive(o, 30));
	r.id = sent_shuffle->shuffle->id;
	assert_int_equal(overlay_receive(o, &from, &m, now), 0);
	assert_true(in_passive(o, 30));
	assert_true(in_passive(o, 31));
	assert_int_equal(o->n_passive, 30);
	/* the two evicted were among the passive ids sent away (kp of them,
	 * at least 2), the ones kept are all still there */
	for (uint8_t i = 40; i < 70; i++)
		n_sent_passive += sent[i];
	assert_true(n_sent_passive >= 2);
	for (uint8_t i = 40; i < 70; i++)
		if (kept_before[i])
			assert_true(in_passive(o, i));
	forget_sent();
	overlay_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shuffle_walk_forwards),
		cmocka_unit_test(test_shuffle_end_replies_and_merges),
		cmocka_unit_test(test_shuffle_reply_merged_with_eviction),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
