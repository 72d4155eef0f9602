/* SPDX-License-Identifier: Apache-2.0 */
/*
 * overlayd's TCP transport: frames (frame.h: a 4-byte big-endian length and
 * a PeerMessage, size-checked before decoding, tagged in keyed mode); a
 * Hello first on every connection names the peer, and with a cluster key
 * the peer must prove it holds the key before anything it sends counts,
 * without one the Hello must come from the address it names;
 * bounded output queue per connection. A peer that sends garbage or fails
 * the proof is disconnected and counted, nothing else changes.
 */
#ifndef OVERLAYD_NET_H
#define OVERLAYD_NET_H

#include <event2/event.h>

#include "overlayd/frame.h"
#include "overlayd/overlay.h"

#define NET_MAX_QUEUE (512u << 10) /* bytes waiting per connection */
/* A connection whose queue stays full this long is closed (its peer does
 * not read); far above what a live peer's stall lasts. */
#define NET_STALL_US 3000000u
/* Open connections, incoming and outgoing. A node needs its active view,
 * the peers that have it in theirs and a few short-lived probes and joins:
 * far fewer. Kept under the usual 1,024-descriptor soft limit so a flood of
 * connections is refused before accept() itself starts failing. */
#define NET_MAX_CONNS 512

/* net_new flags: in open mode, accept a Hello naming another address than
 * the connection's source (NAT between nodes: --trust-peer-ids). */
#define NET_TRUST_IDS 1u

struct net;

/* Listens on `listen` (address may be 0.0.0.0); peers must hold `key`
 * (NULL: open). NULL on error (logged). */
struct net *net_new(struct event_base *base, const struct node_id *self, uint64_t epoch,
		    const struct node_id *listen, const struct frame_key *key, unsigned flags);
void net_free(struct net *n);
/* The core it feeds; set before the loop runs. */
void net_attach(struct net *n, struct overlay *o);
/* fn(arg) runs after the core took input (messages, a link down), which
 * may bring its next tick sooner (overlay_next_tick). */
void net_on_input(struct net *n, void (*fn)(void *arg), void *arg);
/* The transport callbacks for overlay_new (ctx = the net). */
extern const struct overlay_ops net_ops_template;
/* Per-connection housekeeping (idle non-active links); call every tick. */
void net_tick(struct net *n, uint64_t now_us);

/* Bytes waiting in every connection's output queue together (bounded:
 * out_budget.h). */
size_t net_queued(const struct net *n);

/* byte counters for status */
void net_stats(const struct net *n, uint64_t *rx, uint64_t *tx, size_t *conns);

#endif
