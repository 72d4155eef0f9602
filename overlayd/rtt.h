/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RTT window of one link and the ping timeout derived from it: a high
 * percentile of the recent samples times a factor plus a margin, clamped to
 * [floor, ceiling]. Derived from the window, not from the last sample, so
 * one fast or slow ping does not swing it.
 */
#ifndef OVERLAYD_RTT_H
#define OVERLAYD_RTT_H

#include <stdint.h>

#define RTT_WINDOW 32

struct rtt_window {
	uint32_t us[RTT_WINDOW];
	unsigned n;    /* samples held, ≤ RTT_WINDOW */
	unsigned next; /* slot the next sample overwrites */
};

struct rtt_params {
	uint32_t floor_us;   /* never time out sooner */
	uint32_t ceil_us;    /* never wait longer */
	uint32_t initial_us; /* before any sample */
	uint32_t margin_us;
	unsigned factor;     /* times the percentile */
	unsigned pct;        /* e.g. 99 */
};

void rtt_add(struct rtt_window *w, uint32_t us);
/* The pct-th percentile (nearest rank) of the window; 0 when empty. */
uint32_t rtt_percentile(const struct rtt_window *w, unsigned pct);
/* The timeout for this window, scaled by `mult` (local health, ≥ 1). */
uint32_t rtt_timeout(const struct rtt_window *w, const struct rtt_params *p, unsigned mult);
/* Samples oldest first into out (RTT_WINDOW); returns their count. */
unsigned rtt_samples(const struct rtt_window *w, uint32_t *out);

#endif
