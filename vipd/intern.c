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

static struct strmap pool = { .borrow_keys = 1 };
static struct entry *last; /* tasks in a row often repeat a string */

static struct entry *entry_of(const char *s)
{
	return (struct entry *)(void *)(s - offsetof(struct entry, s));
}

const char *intern(const char *s, size_t len)
{
	struct entry *e;
	int err;

	if (last && strnlen(last->s, len + 1) == len && !memcmp(last->s, s, len)) {
		last->refs++;
		return last->s;
	}
	if (!(e = malloc(sizeof(*e) + len + 1)))
		return NULL;
	memcpy(e->s, s, len);
	e->s[len] = '\0';
	e->refs = 1;
	e->pooled = 0;
	if (memchr(s, '\0', len))
		return e->s; /* not a C string: private (the map would cut it short) */
	if ((last = strmap_get(&pool, e->s))) {
		free(e);
		last->refs++;
		return last->s;
	}
	e->pooled = 1;
	strmap_put(&pool, e->s, e, &err);
	if (err) {
		free(e);
		return NULL;
	}
	last = e;
	return e->s;
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
	if (last == e)
		last = NULL;
	free(e);
}

size_t intern_count(void)
{
	return pool.n;
}
