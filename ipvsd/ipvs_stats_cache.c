// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/ipvs_stats_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"

int stats_svc_add_dest(struct stats_svc *s, const struct stats_dest *d)
{
	if (array_grow((void **)&s->dests, &s->cap_dests, s->n_dests + 1, sizeof(*d), 8) < 0)
		return -ENOMEM;
	s->dests[s->n_dests++] = *d;
	return 0;
}

static void svcs_free(struct stats_svc *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].dests);
	free(s);
}

void stats_cache_clear(struct stats_cache *c)
{
	svcs_free(c->svcs, c->n);
	memset(c, 0, sizeof(*c));
}

static int svc_cmp(const void *a, const void *b)
{
	return svc_key_cmp(&((const struct stats_svc *)a)->key, &((const struct stats_svc *)b)->key);
}

/* The new service list takes over the destinations the old one read (both
 * sorted: one merge walk); the old list is freed. */
static void carry_over(struct stats_cache *c, struct stats_svc *svcs, size_t n)
{
	size_t i = 0, j = 0;

	while (i < n && j < c->n) {
		int cmp = svc_key_cmp(&svcs[i].key, &c->svcs[j].key);

		if (cmp < 0) {
			i++;
		} else if (cmp > 0) {
			j++;
		} else {
			struct stats_svc *o = &c->svcs[j++];

			free(svcs[i].dests);
			svcs[i].dests = o->dests;
			svcs[i].n_dests = o->n_dests;
			svcs[i].cap_dests = o->cap_dests;
			svcs[i].read = o->read;
			o->dests = NULL;
			i++;
		}
	}
	svcs_free(c->svcs, c->n);
	c->svcs = svcs;
	c->n = n;
}

/* Read aside: a dump failing part way (after the source emptied what it
 * was given) leaves the destinations last read, served until the next try. */
static int read_dests(struct stats_cache *c, const struct stats_source *src, struct stats_svc *s)
{
	struct stats_svc t = { .key = s->key, .c = s->c };
	int rc = src->dests(src->arg, &t);

	c->dest_dumps++;
	if (rc == 0) {
		struct stats_dest *old = s->dests;

		s->dests = t.dests;
		s->n_dests = t.n_dests;
		s->cap_dests = t.cap_dests;
		s->read = c->refreshes;
		t.dests = old;
	}
	free(t.dests);
	return rc;
}

int stats_cache_refresh(struct stats_cache *c, const struct stats_source *src, size_t slice)
{
	struct stats_svc *svcs = NULL;
	size_t n = 0, done = 0, start;
	int rc;

	if ((rc = src->services(src->arg, &svcs, &n)) < 0)
		return rc;
	c->refreshes++;
	if (n > 1)
		qsort(svcs, n, sizeof(*svcs), svc_cmp);
	carry_over(c, svcs, n);
	/* services never read first: a new VIP's backends show at once */
	for (size_t i = 0; i < c->n && done < slice; i++) {
		if (c->svcs[i].read)
			continue;
		if ((rc = read_dests(c, src, &c->svcs[i])) < 0)
			return rc;
		done++;
	}
	/* then the others in turn, after the last one read */
	for (start = 0; start < c->n && svc_key_cmp(&c->svcs[start].key, &c->next) <= 0; start++)
		;
	for (size_t k = 0; k < c->n && done < slice; k++) {
		struct stats_svc *s = &c->svcs[(start + k) % c->n];

		if (s->read == c->refreshes)
			continue; /* read just now, as a new one */
		if ((rc = read_dests(c, src, s)) < 0)
			return rc;
		c->next = s->key;
		done++;
	}
	return 0;
}

size_t stats_cache_read(const struct stats_cache *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += c->svcs[i].read != 0;
	return n;
}
