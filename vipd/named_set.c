// SPDX-License-Identifier: Apache-2.0
/* The named VIPs' names and addresses, placed incrementally (named_set.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "vipd/named_set.h"
#include "vipd/named_vip.h"

struct named_set *named_set_new(uint32_t min, uint32_t max)
{
	struct named_set *s = calloc(1, sizeof(*s));

	if (s) {
		s->min = min;
		s->max = max;
	}
	return s;
}

void named_set_free(struct named_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].name);
	free(s->e);
	free(s);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct named_entry *)a)->name, ((const struct named_entry *)b)->name);
}

/* The index of name in s, or where it would go (*found says which). */
static size_t find(const struct named_set *s, const char *name, int *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->e[mid].name, name);

		if (!c) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

const struct named_entry *named_set_get(const struct named_set *s, const char *name)
{
	int found;
	size_t i = find(s, name, &found);

	return found ? &s->e[i] : NULL;
}

static void entry_hash(struct named_entry *e, const struct named_set *s)
{
	e->base4 = named_vip4_base(e->name, s->min, s->max);
	e->base6 = named_vip6_low(e->name);
}

/* Probes the cached hashes of the entries (in order), addresses into a4/a6. */
static int probe(const struct named_entry *e, size_t n, uint32_t min, uint32_t max, uint32_t *a4,
		 uint64_t *a6)
{
	uint32_t *b4 = calloc(n ? n : 1, sizeof(*b4));
	uint64_t *b6 = calloc(n ? n : 1, sizeof(*b6));
	int rc = -ENOMEM;

	if (b4 && b6) {
		for (size_t i = 0; i < n; i++) {
			b4[i] = e[i].base4;
			b6[i] = e[i].base6;
		}
		rc = named_vip_probe(b4, b6, n, min, max, a4, a6);
	}
	free(b4);
	free(b6);
	return rc;
}

int named_set_build(struct named_set *s, const char *const *names, size_t n)
{
	uint32_t *a4 = NULL;
	uint64_t *a6 = NULL;
	int rc = -ENOMEM;

	if (s->n)
		return -EINVAL;
	if (array_grow((void **)&s->e, &s->cap, n, sizeof(*s->e), 16) < 0)
		return -ENOMEM;
	for (; s->n < n; s->n++) {
		struct named_entry *e = &s->e[s->n];

		memset(e, 0, sizeof(*e));
		if (!(e->name = strdup(names[s->n])))
			goto done;
		entry_hash(e, s);
	}
	if (n > 1)
		qsort(s->e, n, sizeof(*s->e), cmp_entry);
	a4 = malloc((n ? n : 1) * sizeof(*a4));
	a6 = malloc((n ? n : 1) * sizeof(*a6));
	if (!a4 || !a6 || (rc = probe(s->e, n, s->min, s->max, a4, a6)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		s->e[i].addr4 = a4[i];
		s->e[i].addr6 = a6[i];
	}
	rc = 0;
done:
	free(a4);
	free(a6);
	return rc;
}

/* add's indices in name order (few names: insertion sort). */
static void sort_idx(const char *const *add, size_t n, size_t *idx)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j && strcmp(add[idx[j - 1]], add[i]) > 0) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
}

int named_set_plan(const struct named_set *s, const char *const *add, size_t nadd,
		   const char *const *del, size_t ndel, uint32_t *a4, uint64_t *a6)
{
	size_t n = s->n + nadd - ndel, k = 0, j = 0, *idx = NULL, *src = NULL;
	struct named_entry *m = NULL;
	uint8_t *gone = NULL;
	uint32_t *o4 = NULL;
	uint64_t *o6 = NULL;
	int rc = -ENOMEM, found;

	if (ndel > s->n)
		return -EAGAIN;
	idx = malloc((nadd ? nadd : 1) * sizeof(*idx));
	gone = calloc(s->n ? s->n : 1, 1);
	m = malloc((n ? n : 1) * sizeof(*m));
	src = malloc((n ? n : 1) * sizeof(*src));
	o4 = malloc((n ? n : 1) * sizeof(*o4));
	o6 = malloc((n ? n : 1) * sizeof(*o6));
	if (!idx || !gone || !m || !src || !o4 || !o6)
		goto done;
	rc = -EAGAIN;
	for (size_t i = 0; i < ndel; i++) {
		size_t at = find(s, del[i], &found);

		if (!found || gone[at])
			goto done;
		gone[at] = 1;
	}
	for (size_t i = 0; i < nadd; i++) {
		find(s, add[i], &found);
		if (found)
			goto done;
	}
	sort_idx(add, nadd, idx);
	/* The names that will be, in order; src: entry index, or ~add index. */
	for (size_t i = 0; i <= s->n; i++) {
		while (j < nadd && (i == s->n || strcmp(add[idx[j]], s->e[i].name) < 0)) {
			m[k].name = (char *)add[idx[j]];
			entry_hash(&m[k], s);
			src[k++] = ~idx[j++];
		}
		if (i < s->n && !gone[i]) {
			m[k] = s->e[i];
			src[k++] = i;
		}
	}
	if ((rc = probe(m, n, s->min, s->max, o4, o6)) < 0)
		goto done;
	for (k = 0; k < n; k++) {
		if (src[k] < s->n) {
			if (o4[k] != m[k].addr4 || o6[k] != m[k].addr6) {
				rc = -EAGAIN; /* a name that stays would move */
				goto done;
			}
		} else {
			a4[~src[k]] = o4[k];
			a6[~src[k]] = o6[k];
		}
	}
	rc = 0;
done:
	free(idx);
	free(gone);
	free(m);
	free(src);
	free(o4);
	free(o6);
	return rc;
}

int named_set_commit(struct named_set *s, const char *const *add, size_t nadd,
		     const char *const *del, size_t ndel, const uint32_t *a4, const uint64_t *a6)
{
	int found;

	for (size_t i = 0; i < ndel; i++) {
		size_t at = find(s, del[i], &found);

		if (!found)
			continue;
		free(s->e[at].name);
		memmove(&s->e[at], &s->e[at + 1], (s->n - at - 1) * sizeof(*s->e));
		s->n--;
	}
	for (size_t i = 0; i < nadd; i++) {
		struct named_entry e = { .addr4 = a4[i], .addr6 = a6[i] };
		size_t at = find(s, add[i], &found);

		if (found)
			continue;
		if (array_grow((void **)&s->e, &s->cap, s->n + 1, sizeof(*s->e), 16) < 0 ||
		    !(e.name = strdup(add[i])))
			return -ENOMEM;
		entry_hash(&e, s);
		memmove(&s->e[at + 1], &s->e[at], (s->n - at) * sizeof(*s->e));
		s->e[at] = e;
		s->n++;
	}
	return 0;
}

void named_entry_ip(uint32_t a4, uint64_t a6, uint8_t family, uint8_t out[16])
{
	memset(out, 0, 16);
	if (family == 6) {
		named_vip6_addr(a6, out);
		return;
	}
	out[0] = (uint8_t)(a4 >> 24);
	out[1] = (uint8_t)(a4 >> 16);
	out[2] = (uint8_t)(a4 >> 8);
	out[3] = (uint8_t)a4;
}
