/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VipTableDelta: what changed between two published VIP tables, for
 * readers that follow changes without copying megabytes of snapshot each
 * time (ipvsd). The previous table is remembered as each VIP's key and
 * packed bytes; a new table is compared with it VIP by VIP (exact bytes,
 * no hashes), so an incremental patch and a full rebuild give the same
 * delta. Pure apart from delta_publish's socket.
 */
#ifndef VIPD_DELTA_H
#define VIPD_DELTA_H

#include <stdint.h>

#include "common/envelope.h"
#include "common/ipc.h"
#include "vipd/publish.h"
#include "vipd/vip_table.h"

struct delta_key {
	uint8_t proto, family;
	uint16_t port;
	uint8_t ip[16];
	size_t off, len; /* its packed bytes in delta_state.bytes */
};

struct delta_state {
	int have;          /* a table was published (and remembered) */
	uint64_t epoch, gen;
	struct delta_key *k; /* the last table's VIPs, in its (sorted) order */
	size_t n, cap;
	uint8_t *bytes;
	size_t len, bcap;
	struct ipc_pub *pub; /* NULL: build only (tests) */
	size_t max_len;      /* 0: ENVELOPE_MAX_SIZE; tests set less to reach it */
};

/*
 * The delta from the remembered table to t (every VIP packed: after
 * publish_pack_cached) as a packed VIP_TABLE_DELTA envelope, then t is
 * remembered. Without a remembered table of the same epoch, or if the delta
 * would be too large for one message (counted deltas_too_large, logged), it
 * is a heartbeat at meta->generation (base = generation, empty), which tells
 * readers behind it to fetch a snapshot. 0 or -ENOMEM (nothing remembered
 * then: the next one is a heartbeat).
 */
int delta_build(struct delta_state *d, const struct vip_table *t,
		const struct snapshot_meta *meta, struct ipc_buf *out);
/* delta_build and publish it on d->pub. */
void delta_publish(struct delta_state *d, const struct vip_table *t,
		   const struct snapshot_meta *meta);
void delta_state_clear(struct delta_state *d);

#endif
