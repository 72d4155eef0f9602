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

/* A box for a key the map owns, beside its value. */
struct box {
	void *val;
	char key[];
};

/* Keys are task ids of 40 bytes and more, hashed several times per task;
 * 32 bits are kept per slot (both halves folded in). */
static uint32_t strmap_hash_n(const char *s, size_t len)
{
	uint64_t h = hash64(s, len, seed);

	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t strmap_hash(const char *s)
{
	return strmap_hash_n(s, strlen(s));
}

/*
 * A key's first slot: its hash scaled to the capacity (the high bits of
 * h * cap), so that the capacity need not be a power of two and the map
 * grows by half (load between 1/2 and 3/4, not 3/8 and 3/4: the task map
 * of 100,000 tasks is 2 MiB instead of 3).
 */
static size_t home(uint32_t h, size_t cap)
{
	return (size_t)(((uint64_t)h * cap) >> 32);
}

static size_t next_slot(size_t i, size_t cap)
{
	return i + 1 == cap ? 0 : i + 1;
}

static int live(const void *p)
{
	return p && p != STRMAP_TOMB;
}

static const char *key_at(const struct strmap *m, size_t i)
{
	return m->key_of ? m->key_of(m->p[i]) : ((const struct box *)m->p[i])->key;
}

static void *val_at(const struct strmap *m, size_t i)
{
	return m->key_of ? m->p[i] : ((const struct box *)m->p[i])->val;
}

void strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void strmap_clear(struct strmap *m, void (*free_val)(void *))
{
	const char *(*key_of)(const void *) = m->key_of;

	for (size_t i = 0; i < m->cap; i++) {
		if (!live(m->p[i]))
			continue;
		if (free_val)
			free_val(val_at(m, i));
		if (!key_of)
			free(m->p[i]);
	}
	free(m->p); /* (the hashes are in the same allocation) */
	strmap_init(m);
	m->key_of = key_of;
}

/* The slot of key (hash h), or -1. */
static long strmap_find(const struct strmap *m, const char *key, uint32_t h)
{
	size_t i;

	if (!m->cap)
		return -1;
	for (i = home(h, m->cap); m->p[i]; i = next_slot(i, m->cap))
		if (m->hash[i] == h && m->p[i] != STRMAP_TOMB && !strcmp(key_at(m, i), key))
			return (long)i;
	return -1;
}

void *strmap_getn(const struct strmap *m, const char *key, size_t len)
{
	uint32_t h = strmap_hash_n(key, len);
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = home(h, m->cap); m->p[i]; i = next_slot(i, m->cap)) {
		const char *k;

		if (m->hash[i] != h || m->p[i] == STRMAP_TOMB)
			continue;
		k = key_at(m, i);
		if (!strncmp(k, key, len) && !k[len])
			return val_at(m, i);
	}
	return NULL;
}

void strmap_prefetch(const struct strmap *m, const char *key, size_t len)
{
	if (m->cap) {
		size_t i = home(strmap_hash_n(key, len), m->cap);

		__builtin_prefetch(&m->hash[i], 1);
		__builtin_prefetch(&m->p[i], 1);
	}
}

void *strmap_get(const struct strmap *m, const char *key)
{
	long i = strmap_find(m, key, strmap_hash(key));

	return i < 0 ? NULL : val_at(m, (size_t)i);
}

/* (32-bit hashes index at most 2^32 slots) */
#define CAP_MAX ((size_t)1 << 32)

/* Empty slots for cap keys: values, then hashes, in one allocation. */
static int slots_new(struct strmap *m, size_t cap)
{
	void **p;

	if (cap > CAP_MAX || !(p = calloc(cap, sizeof(void *) + sizeof(uint32_t))))
		return -ENOMEM;
	m->p = p;
	m->hash = (uint32_t *)(void *)(p + cap);
	m->cap = cap;
	return 0;
}

static int strmap_grow(struct strmap *m)
{
	struct strmap old = *m;
	size_t ncap = m->cap ? m->cap + m->cap / 2 : 16;

	if (m->n * 4 < m->cap) /* mostly tombstones: rehash at the same size */
		ncap = m->cap;
	if (slots_new(m, ncap) < 0)
		return -ENOMEM;
	m->used = m->n;
	for (size_t i = 0; i < old.cap; i++) {
		size_t j;

		if (!live(old.p[i]))
			continue;
		j = home(old.hash[i], ncap);
		while (m->p[j])
			j = next_slot(j, ncap);
		m->p[j] = old.p[i];
		m->hash[j] = old.hash[i];
	}
	free(old.p);
	return 0;
}

int strmap_presize(struct strmap *m, size_t n)
{
	size_t cap;

	if (m->cap)
		return 0;
	/* just under the load strmap_put grows at (3/4) */
	if (n > CAP_MAX / 2)
		return -ENOMEM;
	cap = (n + 1) * 4 / 3 + 2;
	return slots_new(m, cap < 16 ? 16 : cap);
}

void *strmap_put(struct strmap *m, const char *key, void *val, int *err)
{
	uint32_t h = strmap_hash(key);
	long at = strmap_find(m, key, h);
	struct box *b = NULL;
	size_t i, len;
	void *old;

	if (err)
		*err = 0;
	if (at >= 0) {
		if (m->key_of) { /* the new value owns the key now */
			old = m->p[at];
			m->p[at] = val;
		} else {
			b = m->p[at];
			old = b->val;
			b->val = val;
		}
		return old;
	}
	if ((m->used + 1) * 4 >= m->cap * 3 && strmap_grow(m) < 0)
		goto nomem;
	if (!m->key_of) {
		len = strlen(key);
		if (!(b = malloc(sizeof(*b) + len + 1)))
			goto nomem;
		b->val = val;
		memcpy(b->key, key, len + 1);
	}
	i = home(h, m->cap);
	while (live(m->p[i]))
		i = next_slot(i, m->cap);
	if (!m->p[i])
		m->used++;
	m->p[i] = b ? (void *)b : val;
	m->hash[i] = h;
	m->n++;
	return NULL;
nomem:
	if (err)
		*err = -ENOMEM;
	return NULL;
}

void *strmap_del(struct strmap *m, const char *key)
{
	long i = strmap_find(m, key, strmap_hash(key));
	void *v;

	if (i < 0)
		return NULL;
	v = val_at(m, (size_t)i);
	if (!m->key_of)
		free(m->p[i]);
	m->p[i] = STRMAP_TOMB;
	m->n--;
	return v;
}

int strmap_next(const struct strmap *m, size_t *i, const char **key, void **val)
{
	while (*i < m->cap) {
		size_t at = (*i)++;

		if (live(m->p[at])) {
			if (key)
				*key = key_at(m, at);
			if (val)
				*val = val_at(m, at);
			return 1;
		}
	}
	return 0;
}

void *strmap_slot_val(const struct strmap *m, size_t i)
{
	return i < m->cap && live(m->p[i]) ? val_at(m, i) : NULL;
}
