// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"

struct ipvs_table *ipvs_table_new(void)
{
	return calloc(1, sizeof(struct ipvs_table));
}

void ipvs_table_clear(struct ipvs_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->svcs[i].dests);
	t->n = 0;
}

void ipvs_table_free(struct ipvs_table *t)
{
	if (!t)
		return;
	ipvs_table_clear(t);
	free(t->svcs);
	free(t);
}

struct ipvs_table *ipvs_table_dup(const struct ipvs_table *t)
{
	struct ipvs_table *c = ipvs_table_new();

	if (!c)
		return NULL;
	c->svcs = calloc(t->n ? t->n : 1, sizeof(*c->svcs));
	if (!c->svcs)
		goto fail;
	c->cap = t->n ? t->n : 1;
	for (size_t i = 0; i < t->n; i++) {
		struct ipvs_svc *s = &c->svcs[i];

		*s = t->svcs[i];
		s->dests = NULL;
		s->cap_dests = s->n_dests;
		if (s->n_dests) {
			s->dests = malloc(s->n_dests * sizeof(*s->dests));
			if (!s->dests) {
				s->n_dests = 0;
				c->n = i + 1;
				goto fail;
			}
			memcpy(s->dests, t->svcs[i].dests, s->n_dests * sizeof(*s->dests));
		}
		c->n = i + 1;
	}
	return c;
fail:
	ipvs_table_free(c);
	return NULL;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	return array_grow(p, cap, need, elem, 4);
}

struct ipvs_svc *ipvs_table_add(struct ipvs_table *t, const struct svc_key *k, const char *sched)
{
	struct ipvs_svc *s;

	if (grow((void **)&t->svcs, &t->cap, t->n + 1, sizeof(*t->svcs)) < 0)
		return NULL;
	s = &t->svcs[t->n++];
	memset(s, 0, sizeof(*s));
	s->key = *k;
	snprintf(s->sched, sizeof(s->sched), "%s", sched ? sched : "");
	ipvs_svc_own_def(s);
	return s;
}

int ipvs_svc_add_dest(struct ipvs_svc *s, const struct ipvs_dest *d)
{
	if (grow((void **)&s->dests, &s->cap_dests, s->n_dests + 1, sizeof(*s->dests)) < 0)
		return -ENOMEM;
	s->dests[s->n_dests++] = *d;
	return 0;
}

int svc_key_cmp(const struct svc_key *a, const struct svc_key *b)
{
	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	int c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

static int dest_cmp3(const uint8_t *a, uint16_t ap, const struct ipvs_dest *b)
{
	int c = memcmp(a, b->addr, 16);

	if (c)
		return c;
	return ap < b->port ? -1 : ap > b->port ? 1 : 0;
}

static int dest_cmp(const void *a, const void *b)
{
	const struct ipvs_dest *x = a;

	return dest_cmp3(x->addr, x->port, b);
}

static int svc_cmp(const void *a, const void *b)
{
	return svc_key_cmp(&((const struct ipvs_svc *)a)->key, &((const struct ipvs_svc *)b)->key);
}

static void svc_sort(struct ipvs_svc *s)
{
	size_t o = 0, i;

	/* tables usually arrive sorted: check in O(n) before sorting */
	for (i = 1; i < s->n_dests && dest_cmp(&s->dests[i - 1], &s->dests[i]) < 0; i++)
		;
	if (i >= s->n_dests)
		return;
	qsort(s->dests, s->n_dests, sizeof(*s->dests), dest_cmp);
	for (i = 0; i < s->n_dests; i++) {
		if (o && dest_cmp(&s->dests[o - 1], &s->dests[i]) == 0) {
			if (s->dests[i].weight > s->dests[o - 1].weight)
				s->dests[o - 1].weight = s->dests[i].weight;
			continue;
		}
		s->dests[o++] = s->dests[i];
	}
	s->n_dests = o;
}

void ipvs_table_sort(struct ipvs_table *t)
{
	size_t o = 0, i;

	for (i = 1; i < t->n && svc_cmp(&t->svcs[i - 1], &t->svcs[i]) < 0; i++)
		;
	if (i >= t->n)
		goto dests; /* sorted, no duplicates */
	qsort(t->svcs, t->n, sizeof(*t->svcs), svc_cmp);
	for (i = 0; i < t->n; i++) {
		struct ipvs_svc *s = &t->svcs[i];

		if (o && svc_key_cmp(&t->svcs[o - 1].key, &s->key) == 0) {
			/* the same VIP twice in the input: one service, all dests */
			for (size_t j = 0; j < s->n_dests; j++)
				ipvs_svc_add_dest(&t->svcs[o - 1], &s->dests[j]);
			free(s->dests);
			continue;
		}
		t->svcs[o++] = *s;
	}
	t->n = o;
dests:
	for (i = 0; i < t->n; i++)
		svc_sort(&t->svcs[i]);
}

static size_t svc_lower(const struct ipvs_table *t, const struct svc_key *k)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (svc_key_cmp(&t->svcs[mid].key, k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t dest_lower(const struct ipvs_svc *s, const uint8_t *addr, uint16_t port)
{
	size_t lo = 0, hi = s->n_dests;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (dest_cmp3(addr, port, &s->dests[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct ipvs_svc *ipvs_table_find(const struct ipvs_table *t, const struct svc_key *k)
{
	size_t i = svc_lower(t, k);

	return i < t->n && svc_key_cmp(&t->svcs[i].key, k) == 0 ? &t->svcs[i] : NULL;
}

struct ipvs_dest *ipvs_svc_find_dest(const struct ipvs_svc *s, const uint8_t *addr, uint16_t port)
{
	size_t i = dest_lower(s, addr, port);

	return i < s->n_dests && dest_cmp3(addr, port, &s->dests[i]) == 0 ? &s->dests[i] : NULL;
}

void ipvs_table_remove(struct ipvs_table *t, struct ipvs_svc *s)
{
	size_t i = (size_t)(s - t->svcs);

	free(s->dests);
	memmove(s, s + 1, (t->n - i - 1) * sizeof(*s));
	t->n--;
}

void ipvs_svc_remove_dest(struct ipvs_svc *s, struct ipvs_dest *d)
{
	size_t i = (size_t)(d - s->dests);

	memmove(d, d + 1, (s->n_dests - i - 1) * sizeof(*d));
	s->n_dests--;
}

struct ipvs_svc *ipvs_table_insert(struct ipvs_table *t, const struct svc_key *k, const char *sched)
{
	size_t i = svc_lower(t, k);
	struct ipvs_svc *s;

	if (i < t->n && svc_key_cmp(&t->svcs[i].key, k) == 0)
		return &t->svcs[i];
	if (grow((void **)&t->svcs, &t->cap, t->n + 1, sizeof(*t->svcs)) < 0)
		return NULL;
	memmove(&t->svcs[i + 1], &t->svcs[i], (t->n - i) * sizeof(*t->svcs));
	t->n++;
	s = &t->svcs[i];
	memset(s, 0, sizeof(*s));
	s->key = *k;
	snprintf(s->sched, sizeof(s->sched), "%s", sched ? sched : "");
	ipvs_svc_own_def(s);
	return s;
}

struct ipvs_dest *ipvs_svc_insert_dest(struct ipvs_svc *s, const struct ipvs_dest *d)
{
	size_t i = dest_lower(s, d->addr, d->port);

	if (i < s->n_dests && dest_cmp3(d->addr, d->port, &s->dests[i]) == 0)
		return &s->dests[i];
	if (grow((void **)&s->dests, &s->cap_dests, s->n_dests + 1, sizeof(*s->dests)) < 0)
		return NULL;
	memmove(&s->dests[i + 1], &s->dests[i], (s->n_dests - i) * sizeof(*d));
	s->n_dests++;
	s->dests[i] = *d;
	return &s->dests[i];
}

size_t ipvs_table_dest_count(const struct ipvs_table *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += t->svcs[i].n_dests;
	return n;
}

char *addr_port_format(int af, const uint8_t *addr, uint16_t port, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(af, addr, a, sizeof(a));
	if (af == AF_INET6)
		snprintf(buf, size, "[%s]:%u", a, port);
	else
		snprintf(buf, size, "%s:%u", a, port);
	return buf;
}

char *svc_key_format(const struct svc_key *k, char *buf, size_t size)
{
	char ap[INET6_ADDRSTRLEN + 10];

	snprintf(buf, size, "%s %s", k->proto == IPPROTO_UDP ? "udp" : "tcp",
		 addr_port_format(k->af, k->addr, k->port, ap, sizeof(ap)));
	return buf;
}

static int dest_same(const struct ipvs_dest *x, const struct ipvs_dest *y)
{
	return x->port == y->port && x->weight == y->weight && x->fwd == y->fwd &&
	       x->agent_len == y->agent_len && !memcmp(x->addr, y->addr, 16) &&
	       !memcmp(x->agent, y->agent, 16);
}

void ipvs_svc_own_def(struct ipvs_svc *s)
{
	s->flags = 0;
	s->timeout = 0;
	s->netmask = ipvs_own_netmask(s->key.af);
}

int ipvs_svc_same_def(const struct ipvs_svc *a, const struct ipvs_svc *b)
{
	return !strcmp(a->sched, b->sched) && a->flags == b->flags && a->timeout == b->timeout &&
	       a->netmask == b->netmask;
}

static int svc_same(const struct ipvs_svc *x, const struct ipvs_svc *y)
{
	if (x->n_dests != y->n_dests || !ipvs_svc_same_def(x, y))
		return 0;
	for (size_t i = 0; i < x->n_dests; i++)
		if (!dest_same(&x->dests[i], &y->dests[i]))
			return 0;
	return 1;
}

size_t ipvs_table_diff_keys(const struct ipvs_table *a, const struct ipvs_table *b,
			    struct svc_key *keys, size_t max)
{
	size_t i = 0, j = 0, n = 0;

	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : svc_key_cmp(&a->svcs[i].key, &b->svcs[j].key);
		const struct svc_key *k;

		if (c == 0) {
			k = &a->svcs[i].key;
			if (svc_same(&a->svcs[i++], &b->svcs[j++]))
				continue;
		} else {
			k = c < 0 ? &a->svcs[i++].key : &b->svcs[j++].key;
		}
		if (n < max)
			keys[n] = *k;
		n++;
		if (n > max)
			return n; /* too many: the caller does a full pass */
	}
	return n;
}

int ipvs_table_put_copy(struct ipvs_table *t, const struct ipvs_svc *s)
{
	struct ipvs_svc *c = ipvs_table_insert(t, &s->key, s->sched);
	struct ipvs_dest *d;

	if (!c)
		return -ENOMEM;
	snprintf(c->sched, sizeof(c->sched), "%s", s->sched);
	c->flags = s->flags;
	c->timeout = s->timeout;
	c->netmask = s->netmask;
	d = s->n_dests ? malloc(s->n_dests * sizeof(*d)) : NULL;
	if (s->n_dests && !d)
		return -ENOMEM;
	if (d)
		memcpy(d, s->dests, s->n_dests * sizeof(*d));
	free(c->dests);
	c->dests = d;
	c->n_dests = c->cap_dests = s->n_dests;
	return 0;
}

int ipvs_svc_read_aside(struct ipvs_svc *s, ipvs_read_dests_fn read, void *arg)
{
	struct ipvs_svc t = { .key = s->key };
	int rc = read(&t, arg);

	if (rc == 0) { /* whole: swapped in, the old ones freed below */
		struct ipvs_dest *old = s->dests;

		s->dests = t.dests;
		s->n_dests = t.n_dests;
		s->cap_dests = t.cap_dests;
		t.dests = old;
	}
	free(t.dests);
	return rc;
}

int ipvs_table_read_aside(struct ipvs_table **t, ipvs_read_table_fn read, void *arg)
{
	struct ipvs_table *fresh = ipvs_table_new();
	int rc = fresh ? read(fresh, arg) : -ENOMEM;

	if (rc == 0) {
		struct ipvs_table *old = *t;

		*t = fresh;
		fresh = old;
	}
	ipvs_table_free(fresh);
	return rc;
}
