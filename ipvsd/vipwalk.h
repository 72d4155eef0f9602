/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A walker over the raw protobuf wire format of a VIP_TABLE envelope: for
 * each VIP its key, where its bytes are and a hash of them, without
 * unpacking anything. Pure and bounds-checked (bytes in, entries out), so
 * it is fuzzed on its own. It vouches only for what it fully understands:
 * anything else (other envelope bodies, repeated bodies, unexpected wire
 * types, a VIP key out of range, two VIPs with one key) is -EPROTO, and the
 * caller takes the full unpack path, which judges the message as before.
 */
#ifndef IPVSD_VIPWALK_H
#define IPVSD_VIPWALK_H

#include <stddef.h>
#include <stdint.h>

#include "ipvsd/model.h"

struct vipwalk_entry {
	struct svc_key key;
	uint32_t off, len; /* the Vip message's bytes within the envelope */
	uint64_t hash;     /* of those bytes */
};

struct vipwalk {
	uint64_t epoch, gen; /* the table's publisher_epoch and generation */
	struct vipwalk_entry *e; /* sorted by vipwalk_key_cmp, keys unique */
	size_t n, cap;
};

/* Walks one packed Envelope into w (its entries replaced). 0, -EPROTO (not
 * something the walker vouches for) or -ENOMEM. */
int vipwalk_parse(const uint8_t *data, size_t len, struct vipwalk *w);
void vipwalk_clear(struct vipwalk *w);

/* vipd's order (protocol, family, address, port), so that its tables come
 * already sorted. */
int vipwalk_key_cmp(const struct svc_key *a, const struct svc_key *b);

#endif
