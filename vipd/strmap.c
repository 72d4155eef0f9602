// SPDX-License-Identifier: Apache-2.0
/* String-keyed open-addressing hash map with tombstones. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/hash.h"
#include "vipd/strmap.h"

char strmap_tomb[1];

/*
 * Keys are task ids, which whoever launches tasks chooses: with a fixed
 * hash (every step below can be inverted) ids that all land in one probe
 * run are easy to compute, and every lookup then walks them all. A seed
 * drawn per process makes them unknowable in advance.
 */
static uint64_t seed;

__attribute__((constructor)) static void strmap_seed(void)
{
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return;
	/* (no entropy yet, early at boot: still different per start) */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
}

/* Keys are task ids of 40 bytes and more, hashed several times per task. */
static uint64_t strmap_hash_n(const char *s, size_t len)
{
	return hash64(s, len, seed);
}

static uint64_t strmap_hash(const char *s)
{
	return strmap_hash_n(s, strlen(s));
}

void strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void strmap_clear(struct strmap *m, void (*free_val)(void *))
{
	int borrow = m->borrow_keys;

	for (size_t i = 0; i < m->cap; i++) {
		char *k = m->slot[i].key;

		if (!k || k == STRMAP_TOMB)
			continue;
		if (!borrow)
			free(k);
		if (free_val)
			free_val(m->slot[i].val);
	}
	free(m->slot);
	strmap_init(m);
	m->borrow_keys = borrow;
}

static struct strmap_slot *strmap_find(const struct strmap *m, const char *key, uint64_t h)
{
	size_t i;

	if (!m->cap)
		return NULL;
	i = (size_t)h & (m->cap - 1);
	for (;;) {
		struct strmap_slot *s = &m->slot[i];

		if (!s->key)
			return NULL;
		if (s->hash == h && s->key != STRMAP_TOMB && !strcmp(s->key, key))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

void *strmap_getn(const struct strmap *m, const char *key, size_t len)
{
	uint64_t h = strmap_hash_n(key, len);
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = (size_t)h & (m->cap - 1); m->slot[i].key; i = (i + 1) & (m->cap - 1)) {
		const struct strmap_slot *s = &m->slot[i];

		if (s->hash == h && s->key != STRMAP_TOMB && !strncmp(s->key, key, len) &&
		    !s->key[len])
			return s->val;
	}
	return NULL;
}

void strmap_prefetch(const struct strmap *m, const char *key, size_t len)
{
	if (m->cap)
		__builtin_prefetch(&m->slot[(size_t)strmap_hash_n(key, len) & (m->cap - 1)], 1);
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_slot *s = strmap_find(m, key, strmap_hash(key));

	return s ? s->val : NULL;
}

static int strmap_grow(struct strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16;
	struct strmap_slot *old = m->slot, *ns;
	size_t ocap = m->cap;

	if (m->n * 4 < m->cap) /* mostly tombstones: rehash at the same size */
		ncap = m->cap;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	m->slot = ns;
	m->cap = ncap;
	m->used = m->n;
	for (size_t i = 0; i < ocap; i++) {
		size_t j;

		if (!old[i].key || old[i].key == STRMAP_TOMB)
			continue;
		j = (size_t)old[i].hash & (ncap - 1);
		while (ns[j].key)
			j = (j + 1) & (ncap - 1);
		ns[j] = old[i];
	}
	free(old);
	return 0;
}

int strmap_presize(struct strmap *m, size_t n)
{
	size_t cap = 16;

	if (m->cap)
		return 0;
	/* (the load strmap_put grows at: 3/4) */
	while ((n + 1) * 4 >= cap * 3 && cap < ((size_t)1 << 40))
		cap *= 2;
	if (!(m->slot = calloc(cap, sizeof(*m->slot))))
		return -ENOMEM;
	m->cap = cap;
	return 0;
}

void *strmap_put(struct strmap *m, const char *key, void *val, int *err)
{
	uint64_t h = strmap_hash(key);
	struct strmap_slot *s = strmap_find(m, key, h);
	size_t i;
	void *old;
	char *k;

	if (err)
		*err = 0;
	if (s) {
		old = s->val;
		s->val = val;
		if (m->borrow_keys)
			s->key = (char *)key; /* the new value owns the key now */
		return old;
	}
	if ((m->used + 1) * 4 >= m->cap * 3 && strmap_grow(m) < 0)
		goto nomem;
	k = m->borrow_keys ? (char *)key : strdup(key);
	if (!k)
		goto nomem;
	i = (size_t)h & (m->cap - 1);
	while (m->slot[i].key && m->slot[i].key != STRMAP_TOMB)
		i = (i + 1) & (m->cap - 1);
	if (!m->slot[i].key)
		m->used++;
	m->slot[i].key = k;
	m->slot[i].val = val;
	m->slot[i].hash = h;
	m->n++;
	return NULL;
nomem:
	if (err)
		*err = -ENOMEM;
	return NULL;
}

void *strmap_del(struct strmap *m, const char *key)
{
	struct strmap_slot *s = strmap_find(m, key, strmap_hash(key));
	void *v;

	if (!s)
		return NULL;
	if (!m->borrow_keys)
		free(s->key);
	s->key = STRMAP_TOMB;
	v = s->val;
	s->val = NULL;
	m->n--;
	return v;
}

int strmap_next(const struct strmap *m, size_t *i, const char **key, void **val)
{
	while (*i < m->cap) {
		struct strmap_slot *s = &m->slot[(*i)++];

		if (s->key && s->key != STRMAP_TOMB) {
			if (key)
				*key = s->key;
			if (val)
				*val = s->val;
			return 1;
		}
	}
	return 0;
}
