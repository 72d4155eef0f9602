/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How much overlayd may hold in its output queues: each connection at most
 * NET_MAX_QUEUE; its first OUT_BUDGET_OWN bytes are its own, always
 * granted, and what all connections hold beyond their own shares together
 * is at most OUT_BUDGET_TOTAL. The own shares are not taken from the
 * shared part: a few peers that do not read cannot starve the pings and
 * pongs of the honest links, and many connections each holding a little
 * (512 at their own share are 4 MiB) do not use up the shared part either.
 * Worst case: NET_MAX_CONNS (512) x 8 KiB + 4 MiB = 8 MiB (per connection
 * alone it was 512 x 512 KiB = 256 MiB). Pure: the transport (net.c)
 * passes the sizes in.
 */
#ifndef OVERLAYD_OUT_BUDGET_H
#define OVERLAYD_OUT_BUDGET_H

#include <stddef.h>

#define OUT_BUDGET_OWN (8u << 10)    /* per connection, always allowed */
#define OUT_BUDGET_TOTAL (4u << 20)  /* beyond the own shares, all connections together */

enum out_verdict {
	OUT_OK,
	OUT_LINK_FULL,   /* this connection's queue is at its own bound */
	OUT_BUDGET_FULL, /* the shared budget is spent */
};

/* The part of a connection's `queued` bytes that counts against the shared
 * budget (what is beyond its own share); summed over the connections, it
 * is the `shared` of out_budget_admit. */
size_t out_budget_beyond(size_t queued);
/* May `len` more bytes go onto a connection holding `queued` bytes (at most
 * `link_max`) while all connections hold `shared` beyond their own shares? */
enum out_verdict out_budget_admit(size_t queued, size_t shared, size_t len, size_t link_max);

#endif
