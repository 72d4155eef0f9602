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

#include "common/array.h"
#include "vipd/intern.h"
#include "vipd/strmap.h"

struct entry {
	uint32_t refs;
	uint32_t id; /* its index in byid */
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
/* Every entry by its id (intern_id): a task record holds 4-byte ids, not
 * 8-byte pointers. Id 0 is NULL; the ids of dropped strings are reused
 * (free_ids), so the array stays as long as the most strings ever held. */
static struct entry **byid;
static size_t nbyid = 1, capbyid;
static uint32_t *free_ids;
static size_t nfree, capfree;

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

/* Gives e an id; 0 or -ENOMEM. A new id also makes room for itself in
 * free_ids, so that giving it back never fails. */
static int id_take(struct entry *e)
{
	if (nfree) {
		e->id = free_ids[--nfree];
	} else {
		if (nbyid > UINT32_MAX ||
		    array_grow((void **)&byid, &capbyid, nbyid + 1, sizeof(*byid), 1024) < 0 ||
		    array_grow((void **)&free_ids, &capfree, nbyid, sizeof(*free_ids), 1024) < 0)
			return -ENOMEM;
		e->id = (uint32_t)nbyid++;
	}
	byid[e->id] = e;
	return 0;
}

static void id_give(struct entry *e)
{
	byid[e->id] = NULL;
	free_ids[nfree++] = e->id;
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
	if (id_take(e) < 0) {
		free(e);
		return NULL;
	}
	if (!pooled)
		return e->s;
	strmap_put(&pool, e->s, e, &err);
	if (err) {
		id_give(e);
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
	id_give(e);
	free(e);
}

uint32_t intern_id(const char *s)
{
	return s ? entry_of(s)->id : 0;
}

const char *intern_at(uint32_t id)
{
	return id ? byid[id]->s : NULL;
}

size_t intern_refs(const char *s)
{
	return s ? entry_of(s)->refs : 0;
}

size_t intern_count(void)
{
	return pool.n;
}
