// SPDX-License-Identifier: Apache-2.0
#include "overlayd/frame.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define T(x) L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__##x

static const char LABEL_FRAMES[] = "l4lb-overlay-v1 frames";
static const char LABEL_AUTH[] = "l4lb-overlay-v1 auth";

struct frame_key {
	size_t len;
	uint8_t k[];
};

struct frame_key *frame_key_new(const void *key, size_t len)
{
	struct frame_key *k;

	if (len < FRAME_KEY_MIN || len > FRAME_KEY_MAX || !(k = malloc(sizeof(*k) + len)))
		return NULL;
	k->len = len;
	memcpy(k->k, key, len);
	return k;
}

void frame_key_free(struct frame_key *k)
{
	if (!k)
		return;
	OPENSSL_cleanse(k->k, k->len);
	free(k);
}

/* HMAC is fetched once: fetching per use costs more than the MAC itself. */
static EVP_MAC *hmac_alg(void)
{
	static EVP_MAC *mac;

	if (!mac)
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	return mac;
}

static EVP_MAC_CTX *mac_new(const void *key, size_t len)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *c;

	if (!hmac_alg() || !(c = EVP_MAC_CTX_new(hmac_alg())))
		return NULL;
	if (!EVP_MAC_init(c, key, len, params)) {
		EVP_MAC_CTX_free(c);
		return NULL;
	}
	return c;
}

/* One MAC over the parts with a keyed context; re-initialising with a NULL
 * key keeps the key (OpenSSL's HMAC reinit). */
static int mac_parts(EVP_MAC_CTX *c, int reinit, const void *const *parts, const size_t *lens,
		     size_t n, uint8_t out[32])
{
	size_t ol = 0;

	if (reinit && !EVP_MAC_init(c, NULL, 0, NULL))
		return -EIO;
	for (size_t i = 0; i < n; i++)
		if (!EVP_MAC_update(c, parts[i], lens[i]))
			return -EIO;
	if (!EVP_MAC_final(c, out, &ol, 32) || ol != 32)
		return -EIO;
	return 0;
}

int frame_hmac(const void *key, size_t key_len, const void *const *parts, const size_t *lens,
	       size_t n, uint8_t out[32])
{
	EVP_MAC_CTX *c = mac_new(key, key_len);
	int rc;

	if (!c)
		return -ENOMEM;
	rc = mac_parts(c, 0, parts, lens, n, out);
	EVP_MAC_CTX_free(c);
	return rc;
}

int frame_sec_init(struct frame_sec *s, const struct frame_key *key)
{
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->state = FRAME_HELLO;
	if (key && getrandom(s->nonce, sizeof(s->nonce), 0) != (ssize_t)sizeof(s->nonce))
		return -errno ? -errno : -EIO;
	return 0;
}

void frame_sec_free(struct frame_sec *s)
{
	if (!s)
		return;
	EVP_MAC_CTX_free(s->tx);
	EVP_MAC_CTX_free(s->rx);
	s->tx = s->rx = NULL;
}

long frame_len(const unsigned char *hdr, size_t max)
{
	uint32_t len = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
		       ((uint32_t)hdr[2] << 8) | hdr[3];

	if (len == 0 || len > max)
		return -EMSGSIZE;
	return (long)len;
}

/* K_dir for frames from the side with nonce `from` to the one with `to`. */
static EVP_MAC_CTX *dir_key(const struct frame_key *k, const uint8_t *from, const uint8_t *to)
{
	const void *parts[] = { LABEL_FRAMES, from, to };
	const size_t lens[] = { sizeof(LABEL_FRAMES) - 1, FRAME_NONCE, FRAME_NONCE };
	uint8_t d[32];
	EVP_MAC_CTX *c;

	if (frame_hmac(k->k, k->len, parts, lens, 3, d) < 0)
		return NULL;
	c = mac_new(d, sizeof(d));
	OPENSSL_cleanse(d, sizeof(d));
	return c;
}

static int tag(EVP_MAC_CTX *c, uint64_t seq, const uint8_t *p, size_t len, uint8_t out[32])
{
	uint8_t sb[8];
	const void *parts[] = { sb, p };
	const size_t lens[] = { sizeof(sb), len };

	for (int i = 0; i < 8; i++)
		sb[i] = (uint8_t)(seq >> (56 - 8 * i));
	return mac_parts(c, 1, parts, lens, 2, out);
}

/* The proof a side with nonce `sender` shows to the one with `receiver`. */
static int proof(const struct frame_key *k, const uint8_t *receiver, const uint8_t *sender,
		 uint8_t out[32])
{
	const void *parts[] = { LABEL_AUTH, receiver, sender };
	const size_t lens[] = { sizeof(LABEL_AUTH) - 1, FRAME_NONCE, FRAME_NONCE };

	return frame_hmac(k->k, k->len, parts, lens, 3, out);
}

int frame_seal(struct frame_sec *s, uint8_t *buf, size_t plen, size_t *len)
{
	size_t body = plen + (s->tx ? FRAME_TAG : 0);
	uint8_t t[32];

	if (body == 0 || body > FRAME_MAX)
		return -EMSGSIZE;
	buf[0] = (uint8_t)(body >> 24);
	buf[1] = (uint8_t)(body >> 16);
	buf[2] = (uint8_t)(body >> 8);
	buf[3] = (uint8_t)body;
	if (s->tx) {
		if (tag(s->tx, ++s->tx_seq, buf + FRAME_HDR, plen, t) < 0)
			return -EIO;
		memcpy(buf + FRAME_HDR + plen, t, FRAME_TAG);
	}
	*len = FRAME_HDR + body;
	return 0;
}

int frame_pack(struct frame_sec *s, const PeerMessage *m, uint8_t *buf, size_t *len)
{
	size_t plen = l4lb__overlay__v1__peer_message__get_packed_size(m);

	if (plen + FRAME_TAG > FRAME_MAX)
		return -EMSGSIZE;
	if (s->key && !s->tx && m->type != T(HELLO))
		return -EAGAIN;
	l4lb__overlay__v1__peer_message__pack(m, buf + FRAME_HDR);
	return frame_seal(s, buf, plen, len);
}

void frame_hello(const struct frame_sec *s, L4lb__Overlay__V1__Hello *h, uint8_t *auth_buf)
{
	if (!s->key)
		return;
	h->has_nonce = 1;
	h->nonce.data = (uint8_t *)s->nonce;
	h->nonce.len = FRAME_NONCE;
	if (s->state != FRAME_HELLO && proof(s->key, s->peer_nonce, s->nonce, auth_buf) == 0) {
		h->has_auth = 1;
		h->auth.data = auth_buf;
		h->auth.len = 32;
	}
}

static int is_hello(const PeerMessage *m)
{
	return m->type == T(HELLO) && m->hello;
}

/* The peer's first frame: its Hello, untagged. */
static int on_hello(struct frame_sec *s, const PeerMessage *m)
{
	const L4lb__Overlay__V1__Hello *h = m->hello;

	if (!is_hello(m))
		return -EPROTO;
	if (!s->key) {
		s->state = FRAME_UP;
		return 0;
	}
	if (!h->has_nonce || h->nonce.len != FRAME_NONCE)
		return -EACCES; /* a peer without the key */
	/* our own nonce sent back: both directions would share one key, and
	 * our frames could be reflected to us */
	if (CRYPTO_memcmp(h->nonce.data, s->nonce, FRAME_NONCE) == 0)
		return -EACCES;
	memcpy(s->peer_nonce, h->nonce.data, FRAME_NONCE);
	if (!(s->tx = dir_key(s->key, s->nonce, s->peer_nonce)) ||
	    !(s->rx = dir_key(s->key, s->peer_nonce, s->nonce)))
		return -ENOMEM;
	s->state = FRAME_AUTH;
	return 0;
}

static int check_proof(struct frame_sec *s, const PeerMessage *m)
{
	uint8_t want[32];

	if (!is_hello(m) || !m->hello->has_auth || m->hello->auth.len != sizeof(want))
		return -EACCES;
	if (proof(s->key, s->nonce, s->peer_nonce, want) < 0)
		return -EIO;
	if (CRYPTO_memcmp(want, m->hello->auth.data, sizeof(want)) != 0)
		return -EACCES;
	s->state = FRAME_UP;
	return 0;
}

int frame_decode(struct frame_sec *s, const uint8_t *body, size_t len, PeerMessage **out)
{
	PeerMessage *m;
	uint8_t t[32];
	int rc = 0;

	*out = NULL;
	if (len > FRAME_MAX)
		return -EMSGSIZE;
	if (s->rx) {
		if (len <= FRAME_TAG)
			return -EACCES;
		len -= FRAME_TAG;
		if ((rc = tag(s->rx, s->rx_seq + 1, body, len, t)) < 0)
			return rc;
		if (CRYPTO_memcmp(t, body + len, FRAME_TAG) != 0)
			return -EACCES;
		s->rx_seq++;
	}
	if (!(m = l4lb__overlay__v1__peer_message__unpack(NULL, len, body)))
		return -EPROTO;
	switch (s->state) {
	case FRAME_HELLO:
		rc = on_hello(s, m);
		break;
	case FRAME_AUTH:
		rc = check_proof(s, m);
		break;
	case FRAME_UP:
		/* keyed: the identity was settled by the handshake */
		if (s->key && m->type == T(HELLO))
			rc = -EPROTO;
		break;
	}
	if (rc < 0) {
		l4lb__overlay__v1__peer_message__free_unpacked(m, NULL);
		return rc;
	}
	*out = m;
	return 0;
}
