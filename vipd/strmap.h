/* SPDX-License-Identifier: Apache-2.0 */
/* A string-keyed hash map (open addressing); the map owns copies of keys. */
#ifndef VIPD_STRMAP_H
#define VIPD_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_slot {
	char *key; /* NULL: empty; STRMAP_TOMB: deleted */
	void *val;
	uint64_t hash;
};

struct strmap {
	struct strmap_slot *slot;
	size_t cap, n, used;
	/* Keys are owned by the values (e.g. a task's id): neither copied nor
	 * freed by the map. */
	int borrow_keys;
};

extern char strmap_tomb[];
#define STRMAP_TOMB strmap_tomb

void strmap_init(struct strmap *m);
/* Frees the keys and the table, calling free_val on every value (if set). */
void strmap_clear(struct strmap *m, void (*free_val)(void *));
void *strmap_get(const struct strmap *m, const char *key);
/* The same for key[0..len) (no NUL inside), which needs no terminator. */
void *strmap_getn(const struct strmap *m, const char *key, size_t len);
/* Starts loading where key[0..len) goes, to be looked up or put a little
 * later: the lookup then finds it in the cache (large maps miss it). */
void strmap_prefetch(const struct strmap *m, const char *key, size_t len);
/* Sets key to val; returns the value it replaced (or NULL). -1 cast on ENOMEM
 * is avoided: returns 0 or -ENOMEM via *err when err is not NULL. */
void *strmap_put(struct strmap *m, const char *key, void *val, int *err);
/* Room for n keys in a map that has none yet (no slots): it then fills
 * without growing step by step. 0 or -ENOMEM (nothing done otherwise). */
int strmap_presize(struct strmap *m, size_t n);
/* Removes key and returns its value (or NULL). */
void *strmap_del(struct strmap *m, const char *key);

/* Iteration: for (i = 0; strmap_next(m, &i, &k, &v);) */
int strmap_next(const struct strmap *m, size_t *i, const char **key, void **val);

#endif
