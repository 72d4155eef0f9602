/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The named VIPs' names in use and their addresses, kept with the table
 * so that a new or vanished name is placed without a rebuild: each name's
 * unprobed addresses (hashes) are cached, and placing is named_vip_alloc's
 * probe (sorted names, next free address) rerun over the cached hashes, so
 * the result is the full rebuild's by construction.
 */
#ifndef VIPD_NAMED_SET_H
#define VIPD_NAMED_SET_H

#include <stddef.h>
#include <stdint.h>

struct named_entry {
	char *name;
	uint32_t base4, addr4; /* host order */
	uint64_t base6, addr6; /* the low 64 bits under fd01:c::/64 */
};

struct named_set {
	struct named_entry *e; /* sorted by name (strcmp) */
	size_t n, cap;
	uint32_t min, max;     /* the IPv4 range */
};

struct named_set *named_set_new(uint32_t min, uint32_t max);
void named_set_free(struct named_set *s);

/* Places n distinct names (any order) into an empty set. 0 or -errno. */
int named_set_build(struct named_set *s, const char *const *names, size_t n);
/* The entry of a name, or NULL. */
const struct named_entry *named_set_get(const struct named_set *s, const char *name);

/*
 * Where names `add` (distinct, none in s) would be placed if names `del`
 * (in s) left: their addresses into a4/a6 (indexed like add). -EAGAIN
 * when that would move a name that stays (its VIPs would move: left to a
 * rebuild), or when a name is unknown or already there; -ENOMEM/-ENOSPC.
 * s is not changed.
 */
int named_set_plan(const struct named_set *s, const char *const *add, size_t nadd,
		   const char *const *del, size_t ndel, uint32_t *a4, uint64_t *a6);
/* Makes that plan real. 0 or -ENOMEM (s is then incomplete: rebuild). */
int named_set_commit(struct named_set *s, const char *const *add, size_t nadd,
		     const char *const *del, size_t ndel, const uint32_t *a4, const uint64_t *a6);

/* The address bytes of an entry: 4 or 16 of them into out. */
void named_entry_ip(uint32_t a4, uint64_t a6, uint8_t family, uint8_t out[16]);

#endif
