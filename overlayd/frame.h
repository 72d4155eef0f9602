/* SPDX-License-Identifier: Apache-2.0 */
/*
 * overlayd's frames and the optional cluster-key authentication, without
 * any I/O: bytes in, message or error out (fuzzable), and messages in,
 * bytes out. One struct frame_sec per TCP connection.
 *
 * Open mode (no key): a frame is a 4-byte big-endian length and a
 * PeerMessage; the first frame each way is a Hello.
 *
 * Keyed mode (--cluster-key-file), see proto/README.md:
 *  1. each side sends Hello{from, epoch, nonce: 16 random bytes}, untagged;
 *  2. once it has the peer's nonce, each side derives one key per direction,
 *     K_dir = HMAC-SHA256(K, "l4lb-overlay-v1 frames" | N_sender | N_receiver),
 *     and from then on appends to every frame a 16-byte tag,
 *     HMAC-SHA256(K_dir, seq | payload) truncated, seq being the frame's
 *     number in that direction (64-bit big-endian, from 1, not sent): a
 *     frame replayed, reordered, dropped or moved to another connection
 *     fails its tag;
 *  3. its first tagged frame is a Hello whose auth is
 *     HMAC-SHA256(K, "l4lb-overlay-v1 auth" | N_receiver | N_sender); the
 *     peer is trusted (FRAME_UP) only after it checked.
 * A peer without the key cannot produce either, so it cannot join, and
 * cannot inject or forge adjacency records on any link.
 */
#ifndef OVERLAYD_FRAME_H
#define OVERLAYD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "proto/overlay.pb-c.h"

typedef L4lb__Overlay__V1__PeerMessage PeerMessage;

#define FRAME_HDR 4
#define FRAME_MAX (1u << 20) /* largest frame body accepted or sent */
#define FRAME_NONCE 16
#define FRAME_TAG 16
#define FRAME_KEY_MIN 16     /* bytes of key material required */
#define FRAME_KEY_MAX 4096

struct frame_key;

/* The cluster key; NULL on error (too short/long: -EINVAL, logged by the
 * caller). */
struct frame_key *frame_key_new(const void *key, size_t len);
void frame_key_free(struct frame_key *k);

enum frame_state {
	FRAME_HELLO, /* waiting for the peer's Hello */
	FRAME_AUTH,  /* keyed: waiting for the peer's proof */
	FRAME_UP,    /* the peer is who holds the key (or open mode) */
};

struct frame_sec {
	const struct frame_key *key; /* NULL: open mode */
	enum frame_state state;
	uint8_t nonce[FRAME_NONCE], peer_nonce[FRAME_NONCE];
	void *tx, *rx;               /* per-direction MAC contexts once derived */
	uint64_t tx_seq, rx_seq;
};

/* A fresh connection's state with a random nonce; 0 or -errno. */
int frame_sec_init(struct frame_sec *s, const struct frame_key *key);
void frame_sec_free(struct frame_sec *s);
/* Keyed mode: frames can be tagged (the peer's Hello has arrived). */
static inline int frame_can_send(const struct frame_sec *s)
{
	return !s->key || s->tx;
}

/* Length of the frame whose 4-byte header is hdr, or -EMSGSIZE when it is
 * 0 or larger than max. */
long frame_len(const unsigned char *hdr, size_t max);

/*
 * Header, m and (when keys are derived) the tag into buf, which has room for
 * FRAME_HDR + m's packed size + FRAME_TAG bytes. -EMSGSIZE when too large, -EAGAIN in keyed mode before the peer's
 * Hello (only Hello frames go out untagged).
 */
int frame_pack(struct frame_sec *s, const PeerMessage *m, uint8_t *buf, size_t *len);
/* The same for a message packed earlier (plen bytes at buf + FRAME_HDR, room
 * for the tag after them), e.g. queued before the handshake ended. */
int frame_seal(struct frame_sec *s, uint8_t *buf, size_t plen, size_t *len);

/* Fills h (pointing into s and from) with this side's Hello: the nonce in
 * keyed mode, and the proof once the peer's nonce is known. */
void frame_hello(const struct frame_sec *s, L4lb__Overlay__V1__Hello *h, uint8_t *auth_buf);

/*
 * One frame body (after the header): checks and strips the tag, decodes,
 * and runs the handshake. Returns 0 with *out (free with
 * l4lb__overlay__v1__peer_message__free_unpacked), or:
 *   -EPROTO  undecodable, or not a Hello where one is required;
 *   -EACCES  keyed mode: no nonce (a keyless peer), own nonce reflected,
 *            a bad tag (wrong key, tampered, replayed) or a bad proof.
 * After a Hello in FRAME_HELLO state, keyed mode moves to FRAME_AUTH and
 * the caller must send its proof (frame_hello + frame_pack); the peer's
 * proof moves it to FRAME_UP. Open mode goes to FRAME_UP at the Hello.
 */
int frame_decode(struct frame_sec *s, const uint8_t *body, size_t len, PeerMessage **out);

/* HMAC-SHA256 of the concatenation of n parts (exposed for its test). */
int frame_hmac(const void *key, size_t key_len, const void *const *parts, const size_t *lens,
	       size_t n, uint8_t out[32]);

#endif
