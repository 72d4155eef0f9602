/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IPVS counters a /metrics scrape serves, kept between scrapes so that
 * one scrape never reads the whole table: the services and their counters
 * come from one dump per scrape, the destinations of at most `slice`
 * services (one dump each) are read again per scrape, in turn, those never
 * read first; the other services' destinations are served as last read.
 * Pure: the kernel is reached through a source (ipvs_stats.c: netlink).
 */
#ifndef IPVSD_IPVS_STATS_CACHE_H
#define IPVSD_IPVS_STATS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ipvsd/model.h"

struct ipvs_counts {
	uint64_t conns, inpkts, outpkts, inbytes, outbytes;
};

struct stats_dest {
	uint8_t af;
	uint8_t addr[16];
	uint16_t port; /* host order */
	uint8_t has_active, has_inactive;
	uint32_t active, inactive;
	struct ipvs_counts c;
};

struct stats_svc {
	struct svc_key key;
	struct ipvs_counts c;
	struct stats_dest *dests;
	size_t n_dests, cap_dests;
	uint64_t read; /* the refresh that last read its destinations (0: never) */
};

/* Appends (growing the array). 0 or -ENOMEM. */
int stats_svc_add_dest(struct stats_svc *s, const struct stats_dest *d);

/* What a scrape reads from the kernel. services: every service with its
 * counters (dests empty), into *out (the caller frees it, and each
 * service's dests); dests: the destinations of service s into s (emptied
 * first). 0 or -errno. */
struct stats_source {
	int (*services)(void *arg, struct stats_svc **out, size_t *n);
	int (*dests)(void *arg, struct stats_svc *s);
	void *arg;
};

struct stats_cache {
	struct stats_svc *svcs; /* sorted by key */
	size_t n;
	struct svc_key next; /* the rotation goes on after this service */
	uint64_t dest_dumps; /* destination dumps since start */
	uint64_t refreshes;
};

/* Reads the services, carries over the destinations of those that stay,
 * and reads the destinations of at most `slice` services. On an error the
 * cache keeps what it had read. 0 or -errno. */
int stats_cache_refresh(struct stats_cache *c, const struct stats_source *src, size_t slice);
/* Services whose destinations were read at least once. */
size_t stats_cache_read(const struct stats_cache *c);
void stats_cache_clear(struct stats_cache *c);

#endif
