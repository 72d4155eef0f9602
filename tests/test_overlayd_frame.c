// SPDX-License-Identifier: Apache-2.0
/* Frames and the cluster-key handshake (overlayd/frame.c), two ends of a
 * connection driven by hand: accept, reject (keyless, wrong key, reflected
 * nonce, missing proof), tampered and replayed frames. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "overlayd/frame.h"

#define T(x) L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__##x

static const char KEY[] = "0123456789abcdef-cluster-secret";
static const char OTHER[] = "0123456789abcdef-cluster-secreT";

struct wire {
	uint8_t buf[4096];
	size_t len;
};

/* Packs m on s into w; returns frame_pack's result. */
static int put(struct frame_sec *s, PeerMessage *m, struct wire *w)
{
	return frame_pack(s, m, w->buf, &w->len);
}

/* Decodes w on s (length checked first, as the transport does). */
static int get(struct frame_sec *s, const struct wire *w, int *type)
{
	PeerMessage *m;
	long len = frame_len(w->buf, FRAME_MAX);
	int rc;

	assert_int_equal(len, (long)w->len - FRAME_HDR);
	rc = frame_decode(s, w->buf + FRAME_HDR, (size_t)len, &m);
	if (rc == 0) {
		if (type)
			*type = (int)m->type;
		l4lb__overlay__v1__peer_message__free_unpacked(m, NULL);
	}
	return rc;
}

static int send_hello(struct frame_sec *s, struct wire *w)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Hello h = L4LB__OVERLAY__V1__HELLO__INIT;
	L4lb__Overlay__V1__NodeId id = L4LB__OVERLAY__V1__NODE_ID__INIT;
	uint8_t ip[4] = { 10, 0, 0, 1 }, auth[32];

	id.has_ip = 1;
	id.ip.data = ip;
	id.ip.len = 4;
	m.has_type = 1;
	m.type = T(HELLO);
	m.hello = &h;
	h.from = &id;
	frame_hello(s, &h, auth);
	return put(s, &m, w);
}

static int send_ping(struct frame_sec *s, struct wire *w, uint64_t seq)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Ping p = L4LB__OVERLAY__V1__PING__INIT;

	m.has_type = 1;
	m.type = T(PING);
	m.ping = &p;
	p.has_seq = 1;
	p.seq = seq;
	return put(s, &m, w);
}

/* Both ends send their first Hello as the connection opens (untagged),
 * then read the peer's. */
static void hellos(struct frame_sec *a, struct frame_sec *b)
{
	struct wire wa, wb;

	assert_int_equal(send_hello(a, &wa), 0);
	assert_int_equal(send_hello(b, &wb), 0);
	assert_int_equal(get(b, &wa, NULL), 0);
	assert_int_equal(get(a, &wb, NULL), 0);
}

/* A full keyed handshake; both ends end up FRAME_UP. */
static void handshake(struct frame_sec *a, struct frame_sec *b)
{
	struct wire w;

	hellos(a, b);
	assert_int_equal(a->state, FRAME_AUTH);
	assert_int_equal(b->state, FRAME_AUTH);
	assert_int_equal(send_hello(a, &w), 0); /* now with the proof */
	assert_int_equal(get(b, &w, NULL), 0);
	assert_int_equal(send_hello(b, &w), 0);
	assert_int_equal(get(a, &w, NULL), 0);
	assert_int_equal(a->state, FRAME_UP);
	assert_int_equal(b->state, FRAME_UP);
}

static void test_hmac_rfc4231(void **state)
{
	/* RFC 4231 test case 2 */
	static const uint8_t want[32] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
		0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
		0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
	};
	const void *parts[] = { "what do ya want ", "for nothing?" };
	const size_t lens[] = { 16, 12 };
	uint8_t out[32];

	(void)state;
	assert_int_equal(frame_hmac("Jefe", 4, parts, lens, 2, out), 0);
	assert_memory_equal(out, want, 32);
}

static void test_key_length_bounds(void **state)
{
	char big[FRAME_KEY_MAX + 1] = { 0 };
	struct frame_key *k;

	(void)state;
	assert_null(frame_key_new("short", 5));
	assert_null(frame_key_new(big, sizeof(big)));
	assert_non_null(k = frame_key_new(KEY, FRAME_KEY_MIN));
	frame_key_free(k);
	frame_key_free(NULL);
}

static void test_open_mode(void **state)
{
	struct frame_sec a, b;
	struct wire w;
	int type = 0;

	(void)state;
	assert_int_equal(frame_sec_init(&a, NULL), 0);
	assert_int_equal(frame_sec_init(&b, NULL), 0);
	/* anything before the Hello is refused */
	assert_int_equal(send_ping(&a, &w, 1), 0);
	assert_int_equal(get(&b, &w, NULL), -EPROTO);
	hellos(&a, &b);
	assert_int_equal(b.state, FRAME_UP);
	assert_int_equal(send_ping(&a, &w, 2), 0);
	assert_int_equal(get(&b, &w, &type), 0);
	assert_int_equal(type, T(PING));
	/* garbage after the handshake */
	w.buf[FRAME_HDR] = 0xff;
	assert_int_equal(get(&b, &w, NULL), -EPROTO);
}

static void test_keyed_accept(void **state)
{
	struct frame_key *k = frame_key_new(KEY, sizeof(KEY) - 1);
	struct frame_sec a, b;
	struct wire w;
	int type = 0;

	(void)state;
	assert_int_equal(frame_sec_init(&a, k), 0);
	assert_int_equal(frame_sec_init(&b, k), 0);
	/* nothing but a Hello goes out before the peer's nonce is known */
	assert_int_equal(send_ping(&a, &w, 1), -EAGAIN);
	handshake(&a, &b);
	for (uint64_t i = 1; i <= 3; i++) {
		assert_int_equal(send_ping(&a, &w, i), 0);
		assert_int_equal(get(&b, &w, &type), 0);
		assert_int_equal(type, T(PING));
		assert_int_equal(send_ping(&b, &w, i), 0);
		assert_int_equal(get(&a, &w, &type), 0);
	}
	/* a second Hello once up is refused: the identity is settled */
	assert_int_equal(send_hello(&a, &w), 0);
	assert_int_equal(get(&b, &w, NULL), -EPROTO);
	frame_sec_free(&a);
	frame_sec_free(&b);
	frame_key_free(k);
}

static void test_keyless_peer_rejected(void **state)
{
	struct frame_key *k = frame_key_new(KEY, sizeof(KEY) - 1);
	struct frame_sec honest, stranger;
	struct wire w;

	(void)state;
	assert_int_equal(frame_sec_init(&honest, k), 0);
	assert_int_equal(frame_sec_init(&stranger, NULL), 0);
	assert_int_equal(send_hello(&stranger, &w), 0);
	assert_int_equal(get(&honest, &w, NULL), -EACCES);
	assert_int_not_equal(honest.state, FRAME_UP);
	frame_sec_free(&honest);
	frame_key_free(k);
}

static void test_wrong_key_rejected(void **state)
{
	struct frame_key *k = frame_key_new(KEY, sizeof(KEY) - 1);
	struct frame_key *bad = frame_key_new(OTHER, sizeof(OTHER) - 1);
	struct frame_sec honest, stranger;
	struct wire w;

	(void)state;
	assert_int_equal(frame_sec_init(&honest, k), 0);
	assert_int_equal(frame_sec_init(&stranger, bad), 0);
	hellos(&honest, &stranger);
	/* its proof (and the tag on it) are computed with the wrong key */
	assert_int_equal(send_hello(&stranger, &w), 0);
	assert_int_equal(get(&honest, &w, NULL), -EACCES);
	assert_int_equal(honest.state, FRAME_AUTH);
	frame_sec_free(&honest);
	frame_sec_free(&stranger);
	frame_key_free(k);
	frame_key_free(bad);
}

static void test_proof_required(void **state)
{
	struct frame_key *k = frame_key_new(KEY, sizeof(KEY) - 1);
	struct frame_sec a, b;
	struct wire w;

	(void)state;
	assert_int_equal(frame_sec_init(&a, k), 0);
	assert_int_equal(frame_sec_init(&b, k), 0);
	hellos(&a, &b);
	/* a correctly tagged frame that is not the proof does not let it in */
	assert_int_equal(send_ping(&a, &w, 1), 0);
	assert_int_equal(get(&b, &w, NULL), -EACCES);
	assert_int_equal(b.state, FRAME_AUTH);
	frame_sec_free(&a);
	frame_sec_free(&b);
	frame_key_free(k);
}

static void test_reflected_nonce_rejected(void **state)
{
	struct frame_key *k = frame_key_new(KEY, sizeof(KEY) - 1);
	struct frame_sec a, mirror;
	struct wire w;

	(void)state;
	assert_int_equal(frame_sec_init(&a, k), 0);
	assert_int_equal(frame_sec_init(&mirror, k), 0);
	/* a stranger that echoes our own nonce back */
	memcpy(mirror.nonce, a.nonce, FRAME_NONCE);
	assert_int_equal(send_hello(&mirror, &w), 0);
	assert_int_equal(get(&a, &w, NULL), -EACCES);
	frame_sec_free(&a);
	frame_sec_free(&mirror);
	frame_key_free(k);
}

static void test_tampered_frame_rejected(void **state)
{
	struct frame_key *k = frame_key_new(KEY, sizeof(KEY) - 1);
	struct frame_sec a, b;
	struct wire w;

	(void)state;
	assert_int_equal(frame_sec_init(&a, k), 0);
	assert_int_equal(frame_sec_init(&b, k), 0);
	handshake(&a, &b);
	assert_int_equal(send_ping(&a, &w, 7), 0);
	w.buf[w.len - FRAME_TAG - 1] ^= 1; /* the ping's seq */
	assert_int_equal(get(&b, &w, NULL), -EACCES);
	/* and a flipped tag bit */
	frame_sec_free(&a);
	frame_sec_free(&b);
	assert_int_equal(frame_sec_init(&a, k), 0);
	assert_int_equal(frame_sec_init(&b, k), 0);
	handshake(&a, &b);
	assert_int_equal(send_ping(&a, &w, 7), 0);
	w.buf[w.len - 1] ^= 0x80;
	assert_int_equal(get(&b, &w, NULL), -EACCES);
	frame_sec_free(&a);
	frame_sec_free(&b);
	frame_key_free(k);
}

static void test_replay_rejected(void **state)
{
	struct frame_key *k = frame_key_new(KEY, sizeof(KEY) - 1);
	struct frame_sec a, b, a2, b2;
	struct wire w, copy;

	(void)state;
	assert_int_equal(frame_sec_init(&a, k), 0);
	assert_int_equal(frame_sec_init(&b, k), 0);
	handshake(&a, &b);
	assert_int_equal(send_ping(&a, &w, 1), 0);
	copy = w;
	assert_int_equal(get(&b, &w, NULL), 0);
	/* the same bytes again on the same connection */
	assert_int_equal(get(&b, &copy, NULL), -EACCES);

	/* a frame recorded on one connection, played into a new one (a
	 * stranger replaying a captured session) */
	assert_int_equal(frame_sec_init(&a2, k), 0);
	assert_int_equal(frame_sec_init(&b2, k), 0);
	handshake(&a2, &b2);
	assert_int_equal(get(&b2, &copy, NULL), -EACCES);
	frame_sec_free(&a);
	frame_sec_free(&b);
	frame_sec_free(&a2);
	frame_sec_free(&b2);
	frame_key_free(k);
}

static void test_replayed_handshake_rejected(void **state)
{
	struct frame_key *k = frame_key_new(KEY, sizeof(KEY) - 1);
	struct frame_sec a, b, victim;
	struct wire ha, pa;

	(void)state;
	/* record a's Hello and proof from a real handshake with b */
	assert_int_equal(frame_sec_init(&a, k), 0);
	assert_int_equal(frame_sec_init(&b, k), 0);
	assert_int_equal(send_hello(&a, &ha), 0);
	{
		struct wire hb;

		assert_int_equal(send_hello(&b, &hb), 0);
		assert_int_equal(get(&a, &hb, NULL), 0);
	}
	assert_int_equal(get(&b, &ha, NULL), 0);
	assert_int_equal(send_hello(&a, &pa), 0);
	assert_int_equal(get(&b, &pa, NULL), 0);
	/* replay both to a new connection: its nonce differs, so the proof
	 * (and the tag) no longer check */
	assert_int_equal(frame_sec_init(&victim, k), 0);
	assert_int_equal(get(&victim, &ha, NULL), 0);
	assert_int_equal(get(&victim, &pa, NULL), -EACCES);
	assert_int_not_equal(victim.state, FRAME_UP);
	frame_sec_free(&a);
	frame_sec_free(&b);
	frame_sec_free(&victim);
	frame_key_free(k);
}

static void test_frame_len(void **state)
{
	unsigned char ok[4] = { 0, 0, 1, 0 }, zero[4] = { 0 }, huge[4] = { 0xff, 0xff, 0xff, 0xff };

	(void)state;
	assert_int_equal(frame_len(ok, FRAME_MAX), 256);
	assert_int_equal(frame_len(zero, FRAME_MAX), -EMSGSIZE);
	assert_int_equal(frame_len(huge, FRAME_MAX), -EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_key_length_bounds),
		cmocka_unit_test(test_open_mode),
		cmocka_unit_test(test_keyed_accept),
		cmocka_unit_test(test_keyless_peer_rejected),
		cmocka_unit_test(test_wrong_key_rejected),
		cmocka_unit_test(test_proof_required),
		cmocka_unit_test(test_reflected_nonce_rejected),
		cmocka_unit_test(test_tampered_frame_rejected),
		cmocka_unit_test(test_replay_rejected),
		cmocka_unit_test(test_replayed_handshake_rejected),
		cmocka_unit_test(test_frame_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
