// SPDX-License-Identifier: Apache-2.0
#include "overlayd/adjacency.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"

struct adj_table *adj_table_new(void)
{
	return calloc(1, sizeof(struct adj_table));
}

static void rec_free(struct adj_record *r)
{
	if (!r)
		return;
	free(r->active);
	free(r);
}

void adj_table_free(struct adj_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		rec_free(t->recs[i]);
	free(t->recs);
	free(t);
}

int adj_version_cmp(uint64_t e1, uint64_t c1, uint64_t e2, uint64_t c2)
{
	if (e1 != e2)
		return e1 < e2 ? -1 : 1;
	if (c1 != c2)
		return c1 < c2 ? -1 : 1;
	return 0;
}

/* Binary search: the index of n, or -(insertion point) - 1; *cmps (if
 * not NULL) counts the comparisons. */
static long search_counted(const struct adj_table *t, const struct node_id *n, uint64_t *cmps)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = node_cmp(&t->recs[mid]->node, n);

		if (cmps)
			(*cmps)++;
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static long search(const struct adj_table *t, const struct node_id *n)
{
	return search_counted(t, n, NULL);
}

long adj_index(const struct adj_table *t, const struct node_id *n)
{
	return adj_index_counted(t, n, NULL);
}

long adj_index_counted(const struct adj_table *t, const struct node_id *n, uint64_t *cmps)
{
	long i = search_counted(t, n, cmps);

	return i >= 0 ? i : -1;
}

struct adj_record *adj_find(const struct adj_table *t, const struct node_id *n)
{
	long i = search(t, n);

	return i >= 0 ? t->recs[i] : NULL;
}

struct adj_record *adj_get(struct adj_table *t, const struct node_id *n, uint64_t now_us)
{
	long i = search(t, n);
	size_t at;
	struct adj_record *r;

	if (i >= 0) {
		/* keep the latest port we were told about */
		if (n->port)
			t->recs[i]->node.port = n->port;
		return t->recs[i];
	}
	if (t->n >= ADJ_MAX_NODES)
		return NULL;
	if (array_grow((void **)&t->recs, &t->cap, t->n + 1, sizeof(*t->recs), 16) < 0)
		return NULL;
	if (!(r = calloc(1, sizeof(*r))))
		return NULL;
	r->node = *n;
	r->updated_us = now_us;
	r->since_us = now_us;
	at = (size_t)(-i - 1);
	memmove(&t->recs[at + 1], &t->recs[at], (t->n - at) * sizeof(*t->recs));
	t->recs[at] = r;
	t->n++;
	return r;
}

static int listed(const struct node_id *v, size_t n, const struct node_id *x)
{
	for (size_t i = 0; i < n; i++)
		if (node_eq(&v[i], x))
			return 1;
	return 0;
}

enum adj_verdict adj_update(struct adj_table *t, const struct node_id *node, uint64_t epoch,
			    uint64_t clock, const struct node_id *active, size_t n_active,
			    uint64_t now_us, struct node_id *removed, size_t max_removed,
			    size_t *n_removed)
{
	struct adj_record *r;
	struct node_id *copy = NULL;

	if (n_removed)
		*n_removed = 0;
	if (n_active > ADJ_MAX_ACTIVE || !node->len)
		return ADJ_INVALID;
	r = adj_find(t, node);
	if (r && r->have) {
		int c = adj_version_cmp(epoch, clock, r->epoch, r->clock);

		if (c < 0)
			return ADJ_OLDER;
		if (c == 0)
			return ADJ_SAME;
	}
	if (n_active && !(copy = malloc(n_active * sizeof(*copy))))
		return ADJ_INVALID;
	if (n_active)
		memcpy(copy, active, n_active * sizeof(*copy));
	/* every named node becomes known, so the BFS can reach it */
	for (size_t i = 0; i < n_active; i++)
		if (!adj_get(t, &active[i], now_us)) {
			free(copy);
			return ADJ_INVALID;
		}
	if (!(r = adj_get(t, node, now_us))) {
		free(copy);
		return ADJ_INVALID;
	}
	if (r->have && removed && n_removed)
		for (size_t i = 0; i < r->n_active && *n_removed < max_removed; i++)
			if (!listed(copy, n_active, &r->active[i]))
				removed[(*n_removed)++] = r->active[i];
	free(r->active);
	r->active = copy;
	r->n_active = n_active;
	r->epoch = epoch;
	r->clock = clock;
	r->have = 1;
	r->updated_us = now_us;
	return ADJ_NEWER;
}

/* Does a node reached by the BFS say it dropped r? Not self when it has
 * no link left: a node that lost all its links at once is more likely cut
 * off itself (or on a lossy network) than every neighbour dead, and its
 * view of the others is only stale until it rejoins. Nor a tainted record:
 * a cut that lets one side's traffic through (a partition filtering one
 * side's input) brings that side's drops of our side's nodes before our
 * links to it are severed, over those links, whose peers do not answer.
 * Nor self for a node it dropped alive: its linger may have ended on a
 * path that the same cut then took. Nor self just after its own loop
 * stalled: its peers dropped it meanwhile (they cannot tell a stall from
 * a crash), so it finds those links closed when it resumes, before it
 * reads the records that show the peers' other links. */
static int accused(const struct adj_table *t, const struct adj_record *r, uint64_t now_us)
{
	const struct adj_record *self = t->recs[t->self];

	if (now_us < t->accuse_after_us)
		return 0;
	for (size_t k = 0; k < r->n_active; k++) {
		const struct adj_record *n = adj_find(t, &r->active[k]);

		if (n == self && (!self->n_active || r->dropped_alive ||
				  now_us < t->self_doubt_until_us))
			continue;
		/* only a view formed after r's claim drops r: an older one
		 * may just not have the link r has added yet (a new link's
		 * two records travel separately, the acceptor's may come
		 * first), which is a race, not an accusation */
		if (n && n->mark && n->have && !n->tainted && n->updated_us >= r->updated_us &&
		    !listed(n->active, n->n_active, &r->node))
			return 1;
	}
	return 0;
}

size_t adj_reach(struct adj_table *t, const struct node_id *self, uint64_t now_us,
		 uint64_t grace_us)
{
	size_t *queue, head = 0, tail = 0, changed = 0;
	long s = search(t, self);

	if (s < 0 || !(queue = malloc(t->n * sizeof(*queue))))
		return 0;
	t->self = (size_t)s;
	t->n_pathless = 0;
	for (size_t i = 0; i < t->n; i++)
		t->recs[i]->mark = 0;
	/* mark = 1 + hops; new_via kept in a parallel pass below */
	int *via = malloc(t->n * sizeof(*via));

	if (!via) {
		free(queue);
		return 0;
	}
	for (size_t i = 0; i < t->n; i++)
		via[i] = -1;
	t->recs[s]->mark = 1;
	queue[tail++] = (size_t)s;
	while (head < tail) {
		size_t u = queue[head++];
		struct adj_record *r = t->recs[u];

		if (!r->have)
			continue;
		for (size_t k = 0; k < r->n_active; k++) {
			long v = search(t, &r->active[k]);

			if (v < 0 || t->recs[v]->mark)
				continue;
			t->recs[v]->mark = r->mark + 1;
			via[v] = (size_t)u == (size_t)s ? (int)v : via[u];
			queue[tail++] = (size_t)v;
		}
	}
	for (size_t i = 0; i < t->n; i++) {
		struct adj_record *r = t->recs[i];
		int reach = r->mark != 0;
		unsigned hops = reach ? (unsigned)r->mark - 1 : 0;

		/* a node we have no record of gets no grace, but while we
		 * learn (a first link) its record may just not be here yet */
		if (reach || !r->reachable || (!r->have && now_us >= t->accuse_after_us)) {
			r->pathless_us = 0;
		} else {
			if (!r->pathless_us)
				r->pathless_us = now_us;
			if (now_us - r->pathless_us < grace_us && !accused(t, r, now_us)) {
				reach = 1; /* grace: keep it, no path shown */
				t->n_pathless++;
			} else
				r->pathless_us = 0;
		}

		r->flipped = reach != r->reachable;
		if (r->flipped) {
			r->since_us = now_us;
			changed++;
		} else if (reach && (hops != r->hops || (via[i] >= 0 &&
				     !node_eq(&t->recs[via[i]]->node, &r->via)))) {
			changed++;
		}
		r->reachable = reach;
		r->hops = hops;
		memset(&r->via, 0, sizeof(r->via));
		if (via[i] >= 0)
			r->via = t->recs[via[i]]->node;
	}
	free(via);
	free(queue);
	return changed;
}

size_t adj_expire(struct adj_table *t, uint64_t now_us, uint64_t max_age_us)
{
	size_t w = 0, gone = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct adj_record *r = t->recs[i];

		if (!r->reachable && i != t->self && now_us - r->since_us > max_age_us &&
		    now_us - r->updated_us > max_age_us) {
			rec_free(r);
			gone++;
			continue;
		}
		t->recs[w++] = r;
	}
	t->n = w;
	return gone;
}
