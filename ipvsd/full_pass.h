/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The periodic full reconcile, cut into slices so that it never holds the
 * event loop for long: IPVS lists destinations one service per netlink dump
 * (a round trip each, ~4 s for 10,000 services in the test VM), and a
 * reachability or VIP table snapshot arriving meanwhile must not wait for
 * all of them. A pass reads the service list first, keeping the
 * destinations ipvsd already knows, then dumps the destinations of a few
 * services per slice, as many as fit a time budget, and reconciles just
 * those services right away against the desired state of that moment: a
 * snapshot applied between two slices is never undone by a later slice,
 * which only compares the kernel with what is wanted now.
 * Pure: the dumps are the caller's `visit`, the clock is passed in.
 */
#ifndef IPVSD_FULL_PASS_H
#define IPVSD_FULL_PASS_H

#include <stdint.h>

#include "ipvsd/model.h"
#include "ipvsd/plan.h"

enum pass_stage {
	PASS_IDLE,     /* no pass running */
	PASS_SERVICES, /* the service list (a dump read over several slices) */
	PASS_ADDRS,    /* the interface and its addresses (the same) */
	PASS_MEMBERS,  /* the ipset members (the same) */
	PASS_DESTS,    /* destinations, a few services per slice */
	PASS_FINAL,    /* addresses and members of no wanted service */
};

struct full_pass {
	enum pass_stage stage;
	struct key_set keys; /* services whose destinations are dumped, sorted */
	size_t next;         /* the first of them not yet visited */
	int again;           /* asked for while running: another pass follows */
	int count_repairs;   /* a periodic pass after the first sync */
	uint64_t start_us;
	uint64_t longest_us; /* the longest slice */
	uint64_t busy_us;    /* all slices together (the rest: the loop between) */
	uint64_t per_svc_us; /* what one service's slice share costs (estimate) */
	unsigned slices;
	size_t changes; /* made by its slices: drift repaired, drains ended */
	unsigned rereads; /* the running stage's dump was started again */
};

/* A stage's dump started again this many times is read the next time in
 * one go (bounded: as long as the dumps of old). */
#define FULL_PASS_REREADS 3

/* Whether the destinations of a dumped service are worth reading. */
typedef int (*full_pass_want_fn)(const struct svc_key *k, void *arg);
/* Reads one service's destinations (a dump). 0 or -errno. */
typedef int (*full_pass_visit_fn)(const struct svc_key *k, void *arg);

/*
 * After the service list was read into `fresh` (sorted, no destinations):
 * the destinations `model` holds for services still there move to `fresh`
 * (they stay what ipvsd last knew until their own slice reads them), and the
 * keys to visit become the services of `fresh` that `want` accepts plus
 * every desired service (one deleted behind ipvsd's back is put back in its
 * slice). 0 or -ENOMEM.
 */
int full_pass_begin(struct full_pass *p, struct ipvs_table *fresh, struct ipvs_table *model,
		    const struct ipvs_table *desired, full_pass_want_fn want, void *arg);

/*
 * One slice: visits up to max keys (at least one) from where the last
 * slice stopped. *first and *n: the keys visited (sorted), to be
 * reconciled. 0, or visit's error (the keys visited before it are in
 * *first, *n).
 */
int full_pass_slice(struct full_pass *p, size_t max, full_pass_visit_fn visit, void *arg,
		    const struct svc_key **first, size_t *n);

/*
 * How many services the next slice takes to last about budget_us, from
 * what the slices so far cost (full_pass_note_dests); 1 before any is
 * known, every one left for UINT64_MAX. Counting instead of reading the
 * clock after each service: a clock read is not free everywhere (in the
 * emulated test VM it is a device access).
 */
size_t full_pass_batch(const struct full_pass *p, uint64_t budget_us);
/* A slice reading and reconciling n services took us. */
void full_pass_note_dests(struct full_pass *p, size_t n, uint64_t us);

/* Every key has been visited. */
int full_pass_visited(const struct full_pass *p);

/* Notes a slice's duration (the longest is reported). */
void full_pass_note_slice(struct full_pass *p, uint64_t us);

/*
 * The last stage's keys: what no service's slice looked at — addresses on
 * the interface with no desired service on them, ipset members and
 * services in the state file (`recorded`, may be NULL) that are not
 * desired — into out (sorted). Reconciled like services, they go (the plan
 * keeps an address while a service still drains there). 0 or -ENOMEM.
 */
int full_pass_strays(const struct key_set *addrs, const struct key_set *members,
		     const struct key_set *recorded, const struct ipvs_table *desired,
		     struct key_set *out);

/*
 * A stage's dump (service list, addresses, members) spans slices, with the
 * event loop between them. How it ended (rc: 1 whole, or -errno) decides:
 * 1 use it; 0 read it again, when ipvsd itself changed what it lists
 * meanwhile (changed: the kernel resumes a dump by position, so an entry
 * added or removed behind it could make it skip or repeat another) or the
 * kernel said it was interrupted (-EINTR, -ENOBUFS), up to
 * FULL_PASS_REREADS times; else the error (-EAGAIN: changed every time).
 */
int full_pass_read_end(struct full_pass *p, int rc, int changed);
/* The budget of the stage's next step: budget_us, or no limit for the last
 * read again (nothing can change under a dump read in one go). */
uint64_t full_pass_read_budget(const struct full_pass *p, uint64_t budget_us);

/* Which stage's list a change made by ipvsd alters (PASS_SERVICES,
 * PASS_ADDRS, PASS_MEMBERS: that read goes again if it spans the change),
 * or PASS_IDLE for a destination: the service list does not hold them, and
 * the destinations are read one service at a time, in one go. */
enum pass_stage full_pass_list_of(enum plan_op_type t);

/* Back to idle, keys freed (again and the statistics are kept). */
void full_pass_end(struct full_pass *p);

#endif
