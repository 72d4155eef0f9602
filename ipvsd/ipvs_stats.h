/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel's own IPVS counters per service (VIP) and per destination
 * (backend), exported as metrics: connections, packets and bytes in and out
 * (counters), active and inactive connections (gauges). Dumped on a
 * generic netlink socket of its own, at most once per IPVS_STATS_CACHE_MS
 * (a scrape in between shows the previous dump), and bounded to
 * IPVS_STATS_MAX_DESTS backends so a huge table cannot stall the loop.
 */
#ifndef IPVSD_IPVS_STATS_H
#define IPVSD_IPVS_STATS_H

#include <stdint.h>

#define IPVS_STATS_CACHE_MS 2000
#define IPVS_STATS_MAX_DESTS 100000

struct ipvs_counts {
	uint64_t conns, inpkts, outpkts, inbytes, outbytes;
};

struct nlattr;
/* Reads a nested IPVS_*_ATTR_STATS64 (u64 values) or, when the kernel has
 * no 64-bit stats, IPVS_*_ATTR_STATS (u32 connections and packets). 0, or
 * -EINVAL when neither is usable. */
int ipvs_counts_parse(struct nlattr *stats64, struct nlattr *stats32, struct ipvs_counts *out);

/* A metrics collector step: refreshes the series when the cache is old.
 * The socket stays open for the next scrape (the kernel closes it at exit). */
void ipvs_stats_collect(void);

#endif
