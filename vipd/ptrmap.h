/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A map keyed by two pointers and a tag, for caches keyed by interned
 * strings (intern.h): equal strings are equal pointers, so a lookup hashes
 * two words instead of a string and never compares characters.
 */
#ifndef VIPD_PTRMAP_H
#define VIPD_PTRMAP_H

#include <stddef.h>
#include <stdint.h>

struct ptrmap_slot {
	const void *a, *b; /* a == NULL: empty */
	uintptr_t tag;
	void *val;
};

struct ptrmap {
	struct ptrmap_slot *slot;
	size_t cap, n;
};

/* The value under (a, b, tag), or NULL. a must not be NULL. */
void *ptrmap_get(const struct ptrmap *m, const void *a, const void *b, uintptr_t tag);
/* Sets it (val not NULL); 0 or -ENOMEM (then the map is unchanged). */
int ptrmap_put(struct ptrmap *m, const void *a, const void *b, uintptr_t tag, void *val);
void ptrmap_clear(struct ptrmap *m);

#endif
