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

/*
 * Failed passes in a row, counted once per pass however many of its steps
 * fail: a pass in slices meets the same refused change in every slice, and
 * counting each would reach the longest delay within one pass.
 */
struct retry {
	unsigned failures; /* failed passes in a row */
	int in_pass;       /* a pass runs */
	int pass_failed;   /* ... and something in it failed */
};

/* Something failed. Outside a pass that is a failed attempt of its own:
 * returns 1 with the delay before the next pass in *ms. Inside a pass it is
 * noted for the pass's end: returns 0. */
int retry_fail(struct retry *t, unsigned *ms);
void retry_pass_begin(struct retry *t);
/* The pass ended: 1 with the delay in *ms if anything in it failed, else 0
 * (and the count starts again: the next failure retries after 1 s). */
int retry_pass_end(struct retry *t, unsigned *ms);

#endif
