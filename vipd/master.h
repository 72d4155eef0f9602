/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The master client: libcurl's multi interface on the libevent loop (the
 * daemon never blocks). SUBSCRIBE stream by default, GET_STATE (or legacy
 * /state) polling as fallback (no v1 API, SUBSCRIBE refused) or by option;
 * follows 307 to the leader, goes back to a configured --master (the next
 * one) on failure, jittered exponential backoff.
 * Everything received goes through the streaming parser into core_record.
 */
#ifndef VIPD_MASTER_H
#define VIPD_MASTER_H

#include <event2/event.h>

#include "vipd/core.h"
#include "vipd/options.h"

struct master;

struct master *master_new(struct event_base *base, const struct vipd_options *o, struct core *c);
void master_free(struct master *m);

/* Backoff after `failures` consecutive failures: min doubling, each with
 * ±25 % jitter from `rnd` (0..RAND_MAX), never above max (2 s and 30 s by
 * default). Pure, unit-tested. */
unsigned master_backoff_ms(unsigned failures, unsigned min, unsigned max, long rnd);

/* Bounds on the heartbeat interval a SUBSCRIBED names (the stream is dead
 * after 3 intervals without an event): a tiny one would make vipd
 * reconnect without end, a huge one would disable the liveness check. */
#define MASTER_HEARTBEAT_MIN_S 0.5
#define MASTER_HEARTBEAT_MAX_S 300.0
#define MASTER_HEARTBEAT_DEFAULT_S 15.0

/* The heartbeat interval to use for the one a SUBSCRIBED gave (0: none,
 * the default). One out of bounds is clamped and counted under
 * master_heartbeat. Pure but for the report. */
double master_heartbeat_s(double given);

#endif
