/* SPDX-License-Identifier: Apache-2.0 */
/*
 * overlayd's TCP transport: frames of a 4-byte big-endian length and a
 * PeerMessage, size-checked before decoding; a Hello first on every
 * connection names the peer; bounded output queue per connection. A peer
 * that sends garbage is disconnected and counted, nothing else changes.
 */
#ifndef OVERLAYD_NET_H
#define OVERLAYD_NET_H

#include <event2/event.h>

#include "overlayd/overlay.h"

#define NET_MAX_FRAME (1u << 20)
#define NET_MAX_QUEUE (512u << 10) /* bytes waiting per connection */

struct net;

/* Listens on `listen` (address may be 0.0.0.0). NULL on error (logged). */
struct net *net_new(struct event_base *base, const struct node_id *self, uint64_t epoch,
		    const struct node_id *listen);
void net_free(struct net *n);
/* The core it feeds; set before the loop runs. */
void net_attach(struct net *n, struct overlay *o);
/* The transport callbacks for overlay_new (ctx = the net). */
extern const struct overlay_ops net_ops_template;
/* Per-connection housekeeping (idle non-active links); call every tick. */
void net_tick(struct net *n, uint64_t now_us);

/* byte counters for status */
void net_stats(const struct net *n, uint64_t *rx, uint64_t *tx, size_t *conns);

/* Length of the frame at the start of buf (4-byte big-endian header), or
 * -EMSGSIZE when it is 0 or larger than max. Pure, unit-tested. */
long net_frame_len(const unsigned char *hdr, size_t max);

#endif
