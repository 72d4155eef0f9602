// SPDX-License-Identifier: Apache-2.0
/* Two-pointer-keyed open addressing map (ptrmap.h); no deletion. */
#include <errno.h>
#include <stdlib.h>

#include "vipd/ptrmap.h"

static size_t slot_of(const struct ptrmap *m, const void *a, const void *b, uintptr_t tag)
{
	uint64_t h = ((uint64_t)(uintptr_t)a * 0x9e3779b97f4a7c15ull) ^
		     ((uint64_t)(uintptr_t)b * 0xc2b2ae3d27d4eb4full) ^ tag;

	h ^= h >> 31;
	return (size_t)h & (m->cap - 1);
}

static struct ptrmap_slot *find(const struct ptrmap *m, const void *a, const void *b,
				uintptr_t tag)
{
	size_t i = slot_of(m, a, b, tag);

	for (;; i = (i + 1) & (m->cap - 1)) {
		struct ptrmap_slot *s = &m->slot[i];

		if (!s->a || (s->a == a && s->b == b && s->tag == tag))
			return s;
	}
}

void *ptrmap_get(const struct ptrmap *m, const void *a, const void *b, uintptr_t tag)
{
	struct ptrmap_slot *s;

	if (!m->cap)
		return NULL;
	s = find(m, a, b, tag);
	return s->a ? s->val : NULL;
}

int ptrmap_put(struct ptrmap *m, const void *a, const void *b, uintptr_t tag, void *val)
{
	struct ptrmap_slot *s;

	/* (grown at 3/4, not 1/2: at 100,000 tasks a build caches 20,000
	 * agents and labels, 1 MiB of slots instead of 2 at its peak) */
	if ((m->n + 1) * 4 > m->cap * 3) {
		struct ptrmap old = *m;
		size_t ncap = m->cap ? m->cap * 2 : 64;

		if (!(m->slot = calloc(ncap, sizeof(*m->slot)))) {
			*m = old;
			return -ENOMEM;
		}
		m->cap = ncap;
		for (size_t i = 0; i < old.cap; i++)
			if (old.slot[i].a)
				*find(m, old.slot[i].a, old.slot[i].b, old.slot[i].tag) = old.slot[i];
		free(old.slot);
	}
	s = find(m, a, b, tag);
	if (!s->a)
		m->n++;
	*s = (struct ptrmap_slot){ a, b, tag, val };
	return 0;
}

void ptrmap_clear(struct ptrmap *m)
{
	free(m->slot);
	m->slot = NULL;
	m->cap = m->n = 0;
}
