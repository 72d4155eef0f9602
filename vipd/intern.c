// SPDX-License-Identifier: Apache-2.0
/*
 * Counted shared strings (intern.h). Each string lives after its count, so
 * that dropping a reference needs no lookup; the map (keys borrowed from
 * the entries) finds them when interning.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vipd/intern.h"
#include "vipd/strmap.h"

struct entry {
	uint32_t refs;
	uint8_t pooled; /* in the map (a string with a NUL inside is not) */
	char s[];
};

static const char *entry_key(const void *e);
static struct strmap pool = { .key_of = entry_key };
/* The last few strings interned: tasks in a row repeat some (their
 * framework) between others that change (their agent, their label). */
#define RECENT 4
static struct entry *recent[RECENT];
static unsigned recent_next;

static struct entry *entry_of(const char *s)
{
	return (struct entry *)(void *)(s - offsetof(struct entry, s));
}

static const char *entry_key(const void *e)
{
	return ((const struct entry *)e)->s;
}

static void remember(struct entry *e)
{
	recent[recent_next++ % RECENT] = e;
}

const char *intern(const char *s, size_t len)
{
	struct entry *e, *found;
	int err, pooled;

	for (int i = 0; i < RECENT; i++)
		if (recent[i] && strnlen(recent[i]->s, len + 1) == len &&
		    !memcmp(recent[i]->s, s, len)) {
			recent[i]->refs++;
			return recent[i]->s;
		}
	/* Looked up in place: most strings are already held, so no copy. */
	pooled = !memchr(s, '\0', len); /* else private: the map would cut it short */
	if (pooled && (found = strmap_getn(&pool, s, len))) {
		found->refs++;
		remember(found);
		return found->s;
	}
	if (!(e = malloc(sizeof(*e) + len + 1)))
		return NULL;
	memcpy(e->s, s, len);
	e->s[len] = '\0';
	e->refs = 1;
	e->pooled = (uint8_t)pooled;
	if (!pooled)
		return e->s;
	strmap_put(&pool, e->s, e, &err);
	if (err) {
		free(e);
		return NULL;
	}
	remember(e);
	return e->s;
}

void intern_prefetch(const char *s, size_t len)
{
	strmap_prefetch(&pool, s, len);
}

const char *intern_str(const char *s)
{
	return intern(s, strlen(s));
}

const char *intern_ref(const char *s)
{
	if (s)
		entry_of(s)->refs++;
	return s;
}

void intern_drop(const char *s)
{
	struct entry *e;

	if (!s)
		return;
	e = entry_of(s);
	if (--e->refs)
		return;
	if (e->pooled)
		strmap_del(&pool, e->s);
	for (int i = 0; i < RECENT; i++)
		if (recent[i] == e)
			recent[i] = NULL;
	free(e);
}

size_t intern_refs(const char *s)
{
	return s ? entry_of(s)->refs : 0;
}

size_t intern_count(void)
{
	return pool.n;
}
