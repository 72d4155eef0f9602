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
	size_t refs;
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

	if (last && !strncmp(last->s, s, len) && !last->s[len]) {
		last->refs++;
		return last->s;
	}
	if (!(e = malloc(sizeof(*e) + len + 1)))
		return NULL;
	memcpy(e->s, s, len);
	e->s[len] = '\0';
	if (memchr(s, '\0', len)) {
		/* Not a C string: keep it private (the map would cut it short). */
		e->refs = 0;
		return e->s;
	}
	if ((last = strmap_get(&pool, e->s))) {
		free(e);
		last->refs++;
		return last->s;
	}
	e->refs = 1;
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

void intern_drop(const char *s)
{
	struct entry *e;

	if (!s)
		return;
	e = entry_of(s);
	if (e->refs > 1) {
		e->refs--;
		return;
	}
	if (e->refs == 1)
		strmap_del(&pool, e->s);
	if (last == e)
		last = NULL;
	free(e);
}

size_t intern_count(void)
{
	return pool.n;
}
