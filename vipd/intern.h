/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared, counted copies of the strings many tasks repeat (agent and
 * framework ids, VIP label values): 100,000 tasks hold a few thousand
 * distinct ones, so each is stored once instead of once per task.
 */
#ifndef VIPD_INTERN_H
#define VIPD_INTERN_H

#include <stddef.h>

/* The shared copy of s[0..len) with one more reference; NULL on ENOMEM. */
const char *intern(const char *s, size_t len);
const char *intern_str(const char *s);
/* Starts loading where s[0..len) is looked up, for an intern() shortly after. */
void intern_prefetch(const char *s, size_t len);
/* One more reference to a string intern() returned (no lookup). */
const char *intern_ref(const char *s);
/* Drops one reference to a string intern() returned (NULL is fine). */
void intern_drop(const char *s);
/* A string intern() returned as a 4-byte id (0 for NULL), and back: the
 * id is valid while the string is held. */
uint32_t intern_id(const char *s);
const char *intern_at(uint32_t id);
/* How many references s (from intern()) has: for a VIP label, about how
 * many task ports carry it. */
size_t intern_refs(const char *s);
/* How many distinct strings are held (for tests). */
size_t intern_count(void);

#endif
