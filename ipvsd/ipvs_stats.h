/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel's own IPVS counters per service (VIP) and per destination
 * (backend), exported as metrics: connections, packets and bytes in and out
 * (counters), active and inactive connections (gauges). Read on ipvsd's one
 * IPVS socket (ipvs_nl.h: no request of the reconciler is ever in flight
 * while a scrape runs, both being on the one event loop), at most once per
 * IPVS_STATS_CACHE_MS (a scrape in between shows the previous read). A
 * scrape never reads the whole table: the services come from one dump, the
 * destinations of at most IPVS_STATS_SLICE services are read again
 * (ipvs_stats_cache.h), the others are served from the cache, so at 10,000
 * services a backend's series is up to 10000 / IPVS_STATS_SLICE reads old. At most IPVS_STATS_MAX_DESTS
 * backends are exported.
 */
#ifndef IPVSD_IPVS_STATS_H
#define IPVSD_IPVS_STATS_H

#include <stdint.h>

#include "ipvsd/ipvs_stats_cache.h"

#define IPVS_STATS_CACHE_MS 2000
#define IPVS_STATS_SLICE 128
#define IPVS_STATS_MAX_DESTS 100000

struct nlattr;
/* Reads a nested IPVS_*_ATTR_STATS64 (u64 values) or, when the kernel has
 * no 64-bit stats, IPVS_*_ATTR_STATS (u32 connections and packets). 0, or
 * -EINVAL when neither is usable. */
int ipvs_counts_parse(struct nlattr *stats64, struct nlattr *stats32, struct ipvs_counts *out);

struct ipvs_nl;
/* A metrics collector step: refreshes the series when the cache is old.
 * nl NULL (a dry run without IPVS): no kernel series. */
void ipvs_stats_collect(struct ipvs_nl *nl);

#endif
