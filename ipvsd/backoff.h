/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How long to wait before retrying a full reconcile after failures: a
 * failure that persists (a kernel refusing a change, a netlink error) would
 * otherwise dump the whole kernel state every second.
 */
#ifndef IPVSD_BACKOFF_H
#define IPVSD_BACKOFF_H

#define BACKOFF_FIRST_MS 1000u
#define BACKOFF_MAX_MS 30000u

/* The delay after `failures` consecutive failed attempts (>= 1): 1 s, 2 s,
 * 4 s, ... up to 30 s. */
unsigned backoff_ms(unsigned failures);

#endif
