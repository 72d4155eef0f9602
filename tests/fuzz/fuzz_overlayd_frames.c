// SPDX-License-Identifier: Apache-2.0
/*
 * What one TCP peer can send overlayd: a byte stream cut into frames by
 * the 4-byte length prefix (frame_len, as net.c's reader does), each
 * decoded as a PeerMessage; the first must be a Hello naming the peer, and
 * everything after it is handled by a real overlay core (membership,
 * pings, gossip, reachability) whose clock and transport are injected.
 * The clock advances and the timers run between frames. The stream ends
 * where overlayd would disconnect the peer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlayd/net.h"
#include "overlayd/overlay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The transport: whatever the core sends must be a frame overlayd can put
 * on the wire. */
static int fz_send(void *ctx, const struct node_id *to, const PeerMessage *m)
{
	(void)ctx;
	if (!to->len || l4lb__overlay__v1__peer_message__get_packed_size(m) > FRAME_MAX)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node_id seed = { { 10, 0, 0, 2 }, 4, 61420 }, peer = { 0 };
	struct overlay_params p;
	struct overlay *o;
	uint64_t now = 1000000;
	size_t off = 0;

	overlay_params_default(&p);
	o = overlay_new(&p, &self, 7, &seed, 1, &fz_ops, NULL, now);
	if (!o)
		return 0;
	while (size - off >= 4) {
		long len = frame_len(data + off, FRAME_MAX);
		PeerMessage *m;
		int bad = 0;

		if (len < 0 || (size_t)len > size - off - 4)
			break; /* disconnected, or waiting for more */
		m = l4lb__overlay__v1__peer_message__unpack(NULL, (size_t)len, data + off + 4);
		off += 4 + (size_t)len;
		if (!m)
			break;
		if (m->type == L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO) {
			struct node_id from;

			if (!m->hello || node_from_pb(m->hello->from, &from) < 0 ||
			    (peer.len && !node_eq(&from, &peer)) || node_eq(&from, &self))
				bad = 1;
			else
				peer = from;
		} else if (!peer.len) {
			bad = 1;
		} else {
			bad = overlay_receive(o, &peer, m, now) < 0;
		}
		l4lb__overlay__v1__peer_message__free_unpacked(m, NULL);
		if (bad)
			break;
		now += 25000;
		overlay_tick(o, now);
	}
	if (peer.len)
		overlay_link_down(o, &peer, now);
	overlay_tick(o, now + 60000000);
	overlay_free(o);
	return 0;
}
