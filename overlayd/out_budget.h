/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How much overlayd may hold in its output queues: each connection at most
 * NET_MAX_QUEUE, and all of them together at most OUT_BUDGET_TOTAL beyond
 * OUT_BUDGET_OWN per connection. The own share is always there, so a few
 * peers that do not read cannot starve the pings and pongs of the honest
 * links by taking the shared part. Worst case: NET_MAX_CONNS (512) x 8 KiB
 * + 4 MiB = 8 MiB (per connection alone it was 512 x 512 KiB = 256 MiB).
 * Pure: the transport (net.c) passes the sizes in.
 */
#ifndef OVERLAYD_OUT_BUDGET_H
#define OVERLAYD_OUT_BUDGET_H

#include <stddef.h>

#define OUT_BUDGET_OWN (8u << 10)    /* per connection, always allowed */
#define OUT_BUDGET_TOTAL (4u << 20)  /* all connections' queues together */

enum out_verdict {
	OUT_OK,
	OUT_LINK_FULL,   /* this connection's queue is at its own bound */
	OUT_BUDGET_FULL, /* the shared budget is spent */
};

/* May `len` more bytes go onto a connection holding `queued` bytes (at most
 * `link_max`) while all connections hold `total`? */
enum out_verdict out_budget_admit(size_t queued, size_t total, size_t len, size_t link_max);

#endif
