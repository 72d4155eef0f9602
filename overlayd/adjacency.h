/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The adjacency table: every node heard of, with its latest adjacency
 * record (its active view, versioned by (epoch, clock): the epoch is bumped
 * at every start of that node, the clock at every change of its view), and
 * the reachability computed from self over directed edges node → its
 * advertised active view. Pure: no I/O, times are passed in.
 */
#ifndef OVERLAYD_ADJACENCY_H
#define OVERLAYD_ADJACENCY_H

#include <stddef.h>
#include <stdint.h>

#include "overlayd/node.h"

#define ADJ_MAX_ACTIVE 64   /* a record listing more is refused */
/* Versions above this are refused: an honest epoch is about the wall clock
 * in ms (~2^41) and a clock counts changes, so only a forged record gets
 * near it, and one at 2^64 - 1 would wrap its victim's next clock++. */
#define ADJ_VERSION_MAX (1ULL << 62)
#define ADJ_MAX_NODES 65536 /* the table never grows beyond this */

struct adj_record {
	struct node_id node;
	int have;                /* 0: only named in others' views so far */
	uint64_t epoch, clock;
	struct node_id *active;
	size_t n_active;
	uint64_t updated_us;     /* when the record last changed here */
	/* reachability, from adj_reach */
	int reachable;
	uint64_t since_us;       /* in the current reachable state since */
	struct node_id via;      /* self's neighbour on a shortest path (len 0: none) */
	unsigned hops;
	int flipped;             /* reachable state changed in the last adj_reach */
	uint64_t pathless_us;    /* 0, or since when no path reaches it (in grace) */
	/* Kept by the caller: this version came (at taint_us, from
	 * taint_from) only over a link whose peer did not answer us then;
	 * `tainted` until that peer answers a later ping (adj_reach). */
	uint64_t taint_us;
	struct node_id taint_from;
	int tainted;
	/* Kept by the caller: self dropped this node from its view alive
	 * (evicted it or was told to), so self's record accuses it not. */
	int dropped_alive;
	int mark;                /* scratch for the BFS */
};

struct adj_table {
	struct adj_record **recs; /* sorted by address */
	size_t n, cap;
	size_t self;              /* filled by adj_reach */
	size_t n_pathless;        /* nodes in their orphan grace, by adj_reach */
	/* until then our own record accuses nobody: our loop just stalled,
	 * and the links it lost meanwhile say more about us than about them */
	uint64_t self_doubt_until_us;
	/* until then nobody's record accuses: we just got our first link
	 * (a start, a rejoin) and read the others' records in a burst whose
	 * order says nothing about who dropped whom */
	uint64_t accuse_after_us;
};

struct adj_table *adj_table_new(void);
void adj_table_free(struct adj_table *t);

/* (epoch, clock) ordering: <0, 0, >0. */
int adj_version_cmp(uint64_t e1, uint64_t c1, uint64_t e2, uint64_t c2);

struct adj_record *adj_find(const struct adj_table *t, const struct node_id *n);
/* Finds or adds a node (without a record); NULL when full or no memory. */
struct adj_record *adj_get(struct adj_table *t, const struct node_id *n, uint64_t now_us);
/* Index of a record in t->recs, or -1. */
long adj_index(const struct adj_table *t, const struct node_id *n);
/* adj_index, counting its comparisons in *cmps (a digest's cost bound). */
long adj_index_counted(const struct adj_table *t, const struct node_id *n, uint64_t *cmps);

enum adj_verdict { ADJ_NEWER, ADJ_SAME, ADJ_OLDER, ADJ_INVALID };

/*
 * Offers a record. Stored only when newer than the one held (ADJ_NEWER);
 * duplicates and older versions change nothing, which is what suppresses
 * re-flooding. `removed` (may be NULL) receives up to max_removed nodes the
 * old version listed and the new one does not; *n_removed their count.
 */
enum adj_verdict adj_update(struct adj_table *t, const struct node_id *node, uint64_t epoch,
			    uint64_t clock, const struct node_id *active, size_t n_active,
			    uint64_t now_us, struct node_id *removed, size_t max_removed,
			    size_t *n_removed);

/*
 * BFS from self; returns how many nodes changed reachable state (or path).
 * A node that loses every path stays reachable for grace_us unless it is
 * accused: a reachable node it lists as a neighbour no longer lists it
 * (that neighbour dropped it; self only while it still has a link). An
 * unaccused node that lost its paths is usually alive and orphaned by its
 * neighbours' deaths, and rejoins within the grace; a dead node is accused
 * by the live neighbours that severed it. A `tainted` record accuses no one.
 */
size_t adj_reach(struct adj_table *t, const struct node_id *self, uint64_t now_us,
		 uint64_t grace_us);

/* Removes records of nodes unreachable for longer than max_age_us (never
 * self); returns how many. */
size_t adj_expire(struct adj_table *t, uint64_t now_us, uint64_t max_age_us);

#endif
