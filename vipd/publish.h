/* SPDX-License-Identifier: Apache-2.0 */
/* The VIP table as the l4lb.v1.VipTable snapshot envelope. */
#ifndef VIPD_PUBLISH_H
#define VIPD_PUBLISH_H

#include <stdint.h>

#include "common/envelope.h"
#include "vipd/vip_table.h"

struct snapshot_meta {
	uint64_t generation, epoch, updated_unix_ms;
	const char *source;
};

/* Packs a VIP_TABLE envelope. 0 or -ENOMEM/-EMSGSIZE. */
int publish_pack(const struct vip_table *t, const struct snapshot_meta *meta, struct ipc_buf *out);

/*
 * The same bytes, from each VIP's cached packed form (packing only VIPs
 * whose cache is empty, see vip_uncache) and the envelope assembled by
 * hand: what the daemon uses, so that a small change costs little.
 */
int publish_pack_cached(struct vip_table *t, const struct snapshot_meta *meta,
			struct ipc_buf *out);
/* Tests only: publish_pack_cached's bound instead of ENVELOPE_MAX_SIZE
 * (0 restores it), so that a small table reaches it. */
void publish_set_max_len(size_t len);

/* Protobuf varints, for messages assembled from cached bytes (delta.c). */
size_t publish_varint_len(size_t x);
uint8_t *publish_put_varint(uint8_t *p, size_t x);

/* The reverse, for tests and tools: NULL with *why on bad input. */
struct vip_table *publish_unpack(const Envelope *env, const char **why);

#endif
