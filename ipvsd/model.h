/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipvsd's picture of IPVS: a table of services, each with its destinations,
 * kept sorted so that two tables (desired, kernel) are diffed in one pass.
 * Pure data, no kernel access: built from the VIP table or from a dump.
 */
#ifndef IPVSD_MODEL_H
#define IPVSD_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define IPVS_SCHED_MAX 16

/* A service or an ipset member: family, protocol, address, port. */
struct svc_key {
	uint8_t af;    /* AF_INET or AF_INET6 */
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port; /* host order */
	uint8_t addr[16];
};

struct ipvs_dest {
	uint8_t addr[16];
	uint16_t port; /* host order */
	uint32_t weight;
	uint32_t fwd; /* IP_VS_CONN_F_* forwarding method (kernel dumps) */
	uint32_t active, inactive;
	/* VIP table candidates only: the node running the backend */
	uint8_t agent_len; /* 0: unknown, 4 or 16 */
	uint8_t agent[16];
};

struct ipvs_svc {
	struct svc_key key;
	char sched[IPVS_SCHED_MAX];
	/* The rest of the definition: ipvsd's own is no flags (no persistence),
	 * timeout 0 and the full netmask (ipvs_svc_own_def); a kernel dump
	 * holds what is there, which `ipvsadm -E` may have changed. */
	uint32_t flags;   /* IP_VS_SVC_F_*, the kernel's own HASHED left out */
	uint32_t timeout; /* persistence, seconds */
	uint32_t netmask; /* persistence granularity: v4 mask, v6 prefix length */
	struct ipvs_dest *dests;
	size_t n_dests, cap_dests;
};

struct ipvs_table {
	struct ipvs_svc *svcs;
	size_t n, cap;
};

struct ipvs_table *ipvs_table_new(void);
void ipvs_table_free(struct ipvs_table *t);
/* Empties the table, keeping it usable. */
void ipvs_table_clear(struct ipvs_table *t);
/* A deep copy, or NULL. */
struct ipvs_table *ipvs_table_dup(const struct ipvs_table *t);

/* Appends a service (no dests); the table must be sorted again before any
 * lookup. NULL on ENOMEM. */
struct ipvs_svc *ipvs_table_add(struct ipvs_table *t, const struct svc_key *k, const char *sched);
int ipvs_svc_add_dest(struct ipvs_svc *s, const struct ipvs_dest *d);
/* Inserts a deep copy of s in order (replacing a service of the same key).
 * 0 or -ENOMEM. */
int ipvs_table_put_copy(struct ipvs_table *t, const struct ipvs_svc *s);
/* Sorts services and destinations; merges duplicates (the higher weight). */
void ipvs_table_sort(struct ipvs_table *t);
/* Binary search in a sorted table. */
struct ipvs_svc *ipvs_table_find(const struct ipvs_table *t, const struct svc_key *k);
struct ipvs_dest *ipvs_svc_find_dest(const struct ipvs_svc *s, const uint8_t *addr, uint16_t port);
/* Removes a service / destination, keeping order. */
void ipvs_table_remove(struct ipvs_table *t, struct ipvs_svc *s);
void ipvs_svc_remove_dest(struct ipvs_svc *s, struct ipvs_dest *d);
/* Inserts in order (sorted table); returns the existing one if present. */
struct ipvs_svc *ipvs_table_insert(struct ipvs_table *t, const struct svc_key *k, const char *sched);
struct ipvs_dest *ipvs_svc_insert_dest(struct ipvs_svc *s, const struct ipvs_dest *d);
size_t ipvs_table_dest_count(const struct ipvs_table *t);

/* The netmask ipvsd gives its services: one address (v4 mask, v6 prefix). */
static inline uint32_t ipvs_own_netmask(int af) { return af == 10 ? 128 : 0xffffffffu; }
/* Sets s's flags, timeout and netmask to ipvsd's own (a new service, and
 * what a NEW/SET_SERVICE of ipvsd's writes). */
void ipvs_svc_own_def(struct ipvs_svc *s);
/* Whether two services have the same definition: scheduler, flags,
 * timeout, netmask (destinations aside). */
int ipvs_svc_same_def(const struct ipvs_svc *a, const struct ipvs_svc *b);

int svc_key_cmp(const struct svc_key *a, const struct svc_key *b);

/*
 * Keys of the services that differ between two sorted tables (in one, not
 * the other, or other definition or destinations), in order, into keys[max].
 * Returns their number; more than max means "too many to list".
 */
size_t ipvs_table_diff_keys(const struct ipvs_table *a, const struct ipvs_table *b,
			    struct svc_key *keys, size_t max);
/*
 * Reads from the kernel aside, taken only when the read went through
 * whole: a dump failing part way leaves what ipvsd knew (a service short
 * of destinations would have the next plan add them again, or lose track
 * of draining ones). read fills its argument and returns 0 or -errno,
 * which these return.
 */
typedef int (*ipvs_read_dests_fn)(struct ipvs_svc *into, void *arg);
int ipvs_svc_read_aside(struct ipvs_svc *s, ipvs_read_dests_fn read, void *arg);
/* *t replaced by the table read (the old one freed) when whole. */
typedef int (*ipvs_read_table_fn)(struct ipvs_table *into, void *arg);
int ipvs_table_read_aside(struct ipvs_table **t, ipvs_read_table_fn read, void *arg);

/* "tcp 11.0.0.1:80", "udp [fd01:c::1]:53" */
char *svc_key_format(const struct svc_key *k, char *buf, size_t size);
/* "10.0.0.1:8080" or "[fd00::1]:8080" for an address of family af. */
char *addr_port_format(int af, const uint8_t *addr, uint16_t port, char *buf, size_t size);
static inline size_t af_len(int af) { return af == 10 /* AF_INET6 */ ? 16 : 4; }

#endif
