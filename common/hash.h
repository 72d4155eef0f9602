/* SPDX-License-Identifier: Apache-2.0 */
#ifndef L4LB_HASH_H
#define L4LB_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A fast 64-bit hash of n bytes, eight at a time (a multiply-xorshift mix
 * per word). Not cryptographic: for hash tables (with a per-process seed
 * where the keys come from outside) and for spotting changed bytes.
 */
static inline uint64_t hash64(const void *data, size_t n, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ seed ^ n, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

#endif
