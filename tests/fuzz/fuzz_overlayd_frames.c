// SPDX-License-Identifier: Apache-2.0
/*
 * What one TCP peer can send overlayd, handled as net.c does: the byte
 * stream cut into frames by their 4-byte length (frame_len), each frame
 * checked, decoded and put through the handshake (frame_decode), a Hello
 * naming the peer, and everything after it handled by a real overlay core
 * (membership, pings, probes, gossip, reachability) whose clock and
 * transport are injected; the clock advances and the timers run between
 * frames. The stream ends where overlayd would disconnect the peer.
 *
 * The first byte picks the mode: open (no cluster key); keyed, with the
 * fuzzed frames sent as they are (a peer without the key: only refusals
 * can follow); or keyed and sealed: the harness plays an honest peer that
 * holds the key, completes the handshake, and tags each fuzzed message
 * body, so that authenticated but hostile content reaches the core.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "overlayd/frame.h"
#include "overlayd/overlay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The transport: whatever the core sends must fit in a frame. */
static int fz_send(void *ctx, const struct node_id *to, const PeerMessage *m)
{
	(void)ctx;
	if (!to->len || l4lb__overlay__v1__peer_message__get_packed_size(m) + FRAME_TAG > FRAME_MAX)
		abort();
	return 0;
}

static void fz_close(void *ctx, const struct node_id *peer)
{
	(void)ctx;
	(void)peer;
}

static const struct overlay_ops fz_ops = { fz_send, fz_close, NULL };

static const struct node_id self = { { 10, 0, 0, 1 }, 4, 61420 };
static uint8_t peer_ip[4] = { 10, 0, 0, 3 };

/* overlayd's side of the connection. */
struct server {
	struct frame_sec fs;
	struct overlay *o;
	struct node_id claimed, peer;
	uint64_t now;
};

/* One frame (header and body, `have` bytes at buf) into overlayd's side,
 * as net.c's on_frame handles it. 0: go on; -1: disconnected here. */
static int server_frame(struct server *sv, const uint8_t *buf, size_t have)
{
	long len = frame_len(buf, FRAME_MAX);
	PeerMessage *m;
	int rc;

	if (len < 0 || (size_t)len > have - FRAME_HDR)
		return -1;
	if (frame_decode(&sv->fs, buf + FRAME_HDR, (size_t)len, &m) < 0)
		return -1;
	rc = 0;
	if (m->type == L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO) {
		struct node_id from;

		if (!m->hello || node_from_pb(m->hello->from, &from) < 0 ||
		    (sv->claimed.len && !node_eq(&from, &sv->claimed)) || node_eq(&from, &self))
			rc = -1;
		else
			sv->claimed = from;
		if (rc == 0 && sv->fs.state == FRAME_UP)
			sv->peer = sv->claimed;
	} else {
		/* frame_decode lets nothing but a Hello through before the
		 * handshake is complete */
		if (sv->fs.state != FRAME_UP || !sv->claimed.len)
			abort();
		sv->peer = sv->claimed;
		rc = overlay_receive(sv->o, &sv->peer, m, sv->now) < 0 ? -1 : 0;
	}
	l4lb__overlay__v1__peer_message__free_unpacked(m, NULL);
	sv->now += 25000;
	overlay_tick(sv->o, sv->now);
	return rc;
}

/* A Hello from the harness's honest peer, packed on p into buf. */
static int peer_hello(struct frame_sec *p, uint8_t *buf, size_t *len)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Hello h = L4LB__OVERLAY__V1__HELLO__INIT;
	PbNodeId id = L4LB__OVERLAY__V1__NODE_ID__INIT;
	uint8_t auth[32];

	id.has_ip = id.has_port = 1;
	id.ip.data = peer_ip;
	id.ip.len = 4;
	id.port = 61420;
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO;
	m.hello = &h;
	h.from = &id;
	h.has_epoch = 1;
	h.epoch = 3;
	frame_hello(p, &h, auth);
	return frame_pack(p, &m, buf, len);
}

/* The server's Hello, packed on its side (as net.c sends it). */
static int server_hello(struct server *sv, uint8_t *buf, size_t *len)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Hello h = L4LB__OVERLAY__V1__HELLO__INIT;
	PbNodeId id;
	uint8_t auth[32];

	node_to_pb(&self, &id);
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO;
	m.hello = &h;
	h.from = &id;
	frame_hello(&sv->fs, &h, auth);
	return frame_pack(&sv->fs, &m, buf, len);
}

/* The peer reads one frame of the server's. */
static int peer_read(struct frame_sec *p, const uint8_t *buf, size_t len)
{
	PeerMessage *m;

	if (frame_decode(p, buf + FRAME_HDR, len - FRAME_HDR, &m) < 0)
		return -1;
	l4lb__overlay__v1__peer_message__free_unpacked(m, NULL);
	return 0;
}

/* As on a new connection: both send a Hello with their nonce, read the
 * other's, then send and check the proofs; both end FRAME_UP. */
static void handshake(struct server *sv, struct frame_sec *p)
{
	uint8_t sb[512], pb[512];
	size_t sl, pl;

	if (server_hello(sv, sb, &sl) < 0 || peer_hello(p, pb, &pl) < 0 ||
	    server_frame(sv, pb, pl) < 0 || peer_read(p, sb, sl) < 0 ||
	    peer_hello(p, pb, &pl) < 0 || server_frame(sv, pb, pl) < 0 ||
	    server_hello(sv, sb, &sl) < 0 || peer_read(p, sb, sl) < 0 ||
	    sv->fs.state != FRAME_UP || p->state != FRAME_UP)
		abort(); /* two honest ends with one key always get through */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char key_bytes[] = "fuzzing cluster key, 32 bytes..";
	struct frame_key *key = NULL;
	struct node_id seed = { { 10, 0, 0, 2 }, 4, 61420 };
	struct overlay_params op;
	struct server sv = { .now = 1000000 };
	struct frame_sec p = { 0 };
	int mode, have_p = 0;
	uint8_t *buf = NULL;
	size_t off = 1;

	if (!size)
		return 0;
	mode = data[0] % 3;
	log_init("fuzz", LOG_LVL_ERROR);
	if (mode && !(key = frame_key_new(key_bytes, strlen(key_bytes))))
		abort();
	overlay_params_default(&op);
	if (!(sv.o = overlay_new(&op, &self, 7, &seed, 1, &fz_ops, NULL, sv.now)) ||
	    frame_sec_init(&sv.fs, key) < 0)
		abort();
	if (mode == 2) {
		if (frame_sec_init(&p, key) < 0)
			abort();
		have_p = 1;
		handshake(&sv, &p);
		if (!(buf = malloc(FRAME_HDR + FRAME_MAX + FRAME_TAG)))
			abort();
	}
	while (size - off >= FRAME_HDR) {
		long len = frame_len(data + off, FRAME_MAX);
		size_t body = len < 0 ? 0 : (size_t)len, out;

		if (mode < 2) { /* the bytes as they are */
			if (server_frame(&sv, data + off, size - off) < 0)
				break;
			off += FRAME_HDR + body;
			continue;
		}
		/* sealed: the body, tagged by the honest peer */
		if (len < 0 || body > size - off - FRAME_HDR || body + FRAME_TAG > FRAME_MAX)
			break;
		memcpy(buf + FRAME_HDR, data + off + FRAME_HDR, body);
		off += FRAME_HDR + body;
		if (frame_seal(&p, buf, body, &out) < 0 || server_frame(&sv, buf, out) < 0)
			break;
	}
	if (sv.peer.len)
		overlay_link_down(sv.o, &sv.peer, sv.now);
	overlay_tick(sv.o, sv.now + 60000000);
	free(buf);
	if (have_p)
		frame_sec_free(&p);
	frame_sec_free(&sv.fs);
	overlay_free(sv.o);
	frame_key_free(key);
	return 0;
}
