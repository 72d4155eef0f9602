/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The difference between the desired and the kernel state as an ordered
 * list of changes (pure: unit-tested without a kernel). The order keeps
 * every VIP usable at all times:
 *   1. new/changed services with their destinations, weight changes;
 *   2. ipset members and VIP addresses of new VIPs;
 *   3. addresses and ipset members of removed VIPs (kept while a removed
 *      TCP service on them drains: its connections need the address);
 *   4. removed destinations: TCP drained (weight 0) and deleted once idle or
 *      after the grace period, UDP deleted at once;
 *   5. removed services: TCP drained the same way (every weight 0) and
 *      deleted once idle, after its address (step 3); UDP at once.
 * Only owned services are ever touched: inside the owned ranges, in the
 * desired table, or programmed by ipvsd before.
 */
#ifndef IPVSD_PLAN_H
#define IPVSD_PLAN_H

#include "ipvsd/model.h"

enum plan_op_type {
	OP_ADD_SVC,
	OP_SET_SVC,
	OP_ADD_DEST,
	OP_SET_DEST,
	OP_ADD_MEMBER,
	OP_ADD_ADDR,
	OP_DEL_ADDR,
	OP_DEL_MEMBER,
	OP_DEL_DEST,
	OP_DEL_SVC,
};

struct plan_op {
	enum plan_op_type type;
	struct svc_key key; /* service, member, or address (proto/port 0) */
	struct ipvs_dest dest;
	char sched[IPVS_SCHED_MAX];
};

struct plan {
	struct plan_op *ops;
	size_t n, cap;
};

/* A sorted set of keys: ipset members, or addresses (proto and port 0). */
struct key_set {
	struct svc_key *k;
	size_t n, cap;
};

int key_set_add(struct key_set *s, const struct svc_key *k);
/* Inserts in order into a sorted set (no duplicates). 0 or -ENOMEM. */
int key_set_insert(struct key_set *s, const struct svc_key *k);
void key_set_sort(struct key_set *s);
int key_set_has(const struct key_set *s, const struct svc_key *k);
void key_set_remove(struct key_set *s, const struct svc_key *k);
void key_set_clear(struct key_set *s);

/* Owned VIP ranges (--vip-range). */
struct vip_range {
	uint8_t af, plen;
	uint8_t addr[16];
};

struct owned {
	struct vip_range *ranges;
	size_t n;
	/* services programmed by ipvsd before (IP VIPs outside the ranges) */
	const struct ipvs_table *prev;
	/* ... and those its state file recorded (programmed before a restart) */
	const struct key_set *recorded;
};

/* "11.0.0.0/8", "fd01:c::/64": 0 or -EINVAL. */
int vip_range_parse(const char *s, struct vip_range *r);
int owned_contains(const struct owned *o, const struct svc_key *k);
/* In one of the ranges (not counting prev and recorded). */
int owned_in_ranges(const struct owned *o, const struct svc_key *k);
/* An address (af + addr) ipvsd may remove from its interface: in one of the
 * ranges, or the address of a service in prev or recorded. */
int owned_addr(const struct owned *o, const struct svc_key *a);

/* Destinations being drained, and since when. */
struct drain {
	struct svc_key key;
	uint8_t addr[16];
	uint16_t port;
	uint8_t seen;
	/* still a backend in the VIP table, left out because its node is
	 * unreachable: its connections will not close cleanly, so its counters
	 * are not polled; it goes when the grace period ends (or a full pass
	 * finds it idle) */
	uint8_t withheld;
	uint64_t since_ms;
};

/* Sorted by service, then address and port (lookups O(log n)); while a plan
 * is built, drains started by it are appended after d[sorted] and merged in
 * at its end. */
struct drains {
	struct drain *d;
	size_t n, cap;
	size_t sorted;
};

void drains_clear(struct drains *d);
/* The drain of a destination, or NULL. */
struct drain *drains_find(const struct drains *ds, const struct svc_key *k, const uint8_t *addr,
			  uint16_t port);

/* At most this many services are looked at per drain tick. */
#define DRAIN_TICK_MAX 256

/*
 * The draining services a drain tick looks at: up to max of them after
 * *cursor (wrapping around; then *cursor is the last one picked), so every
 * one gets its turn however many drain. A service whose drains are all
 * withheld is skipped until one's grace period ends; dump[i] says whether
 * the counters of out[i] are wanted (0: only a grace period ended). Sets
 * *looks to the number of services due for a look in all. Returns the count
 * picked, in rotation order.
 */
size_t drains_pick(const struct drains *ds, struct svc_key *cursor, uint64_t now_ms,
		   uint64_t grace_ms, struct svc_key *out, uint8_t *dump, size_t max,
		   size_t *looks);
/* The drain tick interval for `looks` services due: 250 ms while one tick
 * covers them all, longer (up to 1 s) as rotating through them takes more
 * ticks, so the loop is never busy with drains more than a fraction of its
 * time; 1 s when only grace periods are awaited. */
unsigned drains_tick_ms(size_t looks, size_t max);

struct plan_input {
	const struct ipvs_table *desired;
	const struct ipvs_table *kernel; /* may hold foreign services */
	const struct key_set *addrs;     /* addresses on the VIP interface */
	const struct key_set *members;   /* members of the ipsets */
	const struct owned *owned;
	struct drains *drains;           /* updated: started, finished */
	/* the VIP table's candidates (NULL: none): a drained destination still
	 * in it is withheld (see struct drain) */
	const struct ipvs_table *cand;
	uint64_t now_ms, grace_ms;
	/* kernel connection counters are fresh (a dump just now): idle drained
	 * destinations may go */
	int counters_fresh;
};

/* Builds the plan into p (emptied first). 0 or -ENOMEM. */
int plan_build(const struct plan_input *in, struct plan *p);
/*
 * The same plan restricted to the services `keys` (sorted) — what changed
 * in the VIP table — so that one backend change costs O(changed), not
 * O(table). Services sharing an address with a listed one are considered
 * too, so an address still in use is never removed. Drains of other
 * services are kept. 0 or -ENOMEM.
 */
int plan_build_keys(const struct plan_input *in, const struct svc_key *keys, size_t n,
		    struct plan *p);
void plan_clear(struct plan *p);
void plan_free_ops(struct plan *p);

/* Applies one change to a model of the kernel (what ipvsd programmed). */
int plan_op_model(const struct plan_op *op, struct ipvs_table *kernel, struct key_set *addrs,
		  struct key_set *members);

/* "add-service", "set-dest", ... */
const char *plan_op_action(enum plan_op_type t);
/* "add-dest tcp 11.0.0.1:80 -> 10.0.0.1:8080 weight 1" */
char *plan_op_format(const struct plan_op *op, char *buf, size_t size);

#endif
