/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A string-keyed hash map (open addressing). A slot is 12 bytes, a value
 * and 32 bits of its key's hash, in two arrays of one allocation (the
 * values stay pointer-aligned, so that leak checkers see them): the task
 * map's slots are much of what a task costs, so the map grows by half,
 * not double (1.3 to 2 slots per key). Keys are either borrowed from the values
 * (key_of set: e.g. a task's own id) or copied by the map into a box
 * beside the value.
 */
#ifndef VIPD_STRMAP_H
#define VIPD_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap {
	/* p[i]: NULL: empty; STRMAP_TOMB: deleted; else the value (key_of
	 * set) or the map's box holding the key and the value. hash[i]: its
	 * key's. */
	void **p;
	uint32_t *hash;
	size_t cap, n, used;
	/* Set: keys are owned by the values (never NULL), neither copied nor
	 * freed by the map: key_of(val) is the key. */
	const char *(*key_of)(const void *val);
};

extern char strmap_tomb[];
#define STRMAP_TOMB ((void *)strmap_tomb)

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
 * is avoided: returns 0 or -ENOMEM via *err when err is not NULL. With
 * key_of set, key must be key_of(val). */
void *strmap_put(struct strmap *m, const char *key, void *val, int *err);
/* Room for n keys in a map that has none yet (no slots): it then fills
 * without growing step by step. 0 or -ENOMEM (nothing done otherwise). */
int strmap_presize(struct strmap *m, size_t n);
/* Removes key and returns its value (or NULL). */
void *strmap_del(struct strmap *m, const char *key);

/* Iteration: for (i = 0; strmap_next(m, &i, &k, &v);) */
int strmap_next(const struct strmap *m, size_t *i, const char **key, void **val);
/* The value in slot i if there is one (for prefetching ahead of strmap_next). */
void *strmap_slot_val(const struct strmap *m, size_t i);

#endif
