// SPDX-License-Identifier: Apache-2.0
#include "common/conf_snap.h"

#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/config.h"

static const char *collect(const char *key, const char *value, void *arg)
{
	struct conf_snap *s = arg;
	struct conf_kv *e;

	if (array_grow((void **)&s->kv, &s->cap, s->n + 1, sizeof(*s->kv), 16) < 0)
		return "out of memory";
	e = &s->kv[s->n];
	e->key = strdup(key);
	e->value = strdup(value);
	if (!e->key || !e->value) {
		free(e->key);
		free(e->value);
		return "out of memory";
	}
	s->n++;
	return NULL;
}

static int done(struct conf_snap *s, int rc)
{
	if (rc < 0)
		conf_snap_free(s);
	return rc;
}

int conf_snap_parse(struct conf_snap *s, const char *text, size_t len, const char *section,
		    char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	return done(s, config_parse(text, len, section, collect, s, err, errlen));
}

int conf_snap_load(struct conf_snap *s, const char *path, const char *section, char *err,
		   size_t errlen)
{
	memset(s, 0, sizeof(*s));
	return done(s, config_load(path, section, collect, s, err, errlen));
}

void conf_snap_free(struct conf_snap *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->kv[i].key);
		free(s->kv[i].value);
	}
	free(s->kv);
	memset(s, 0, sizeof(*s));
}

/* Whether key's values (in order) are the same in a and b. */
static int same_values(const struct conf_snap *a, const struct conf_snap *b, const char *key)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a->n && strcmp(a->kv[i].key, key))
			i++;
		while (j < b->n && strcmp(b->kv[j].key, key))
			j++;
		if (i == a->n || j == b->n)
			return i == a->n && j == b->n;
		if (strcmp(a->kv[i].value, b->kv[j].value))
			return 0;
		i++;
		j++;
	}
}

static const char *last_value(const struct conf_snap *s, const char *key)
{
	for (size_t i = s->n; i-- > 0;)
		if (!strcmp(s->kv[i].key, key))
			return s->kv[i].value;
	return NULL;
}

/* Whether key appears in s before index end (it was handled then). */
static int seen_before(const struct conf_snap *s, size_t end, const char *key)
{
	for (size_t i = 0; i < end; i++)
		if (!strcmp(s->kv[i].key, key))
			return 1;
	return 0;
}

/* Quadratic in the number of keys: a configuration file has a few dozen. */
size_t conf_snap_diff(const struct conf_snap *old, const struct conf_snap *cur, conf_change_fn fn,
		      void *arg)
{
	size_t changed = 0;

	for (size_t i = 0; i < cur->n; i++) {
		const char *k = cur->kv[i].key;

		if (seen_before(cur, i, k) || same_values(old, cur, k))
			continue;
		changed++;
		fn(k, last_value(cur, k), arg);
	}
	for (size_t i = 0; i < old->n; i++) {
		const char *k = old->kv[i].key;

		if (seen_before(old, i, k) || last_value(cur, k))
			continue;
		changed++;
		fn(k, NULL, arg);
	}
	return changed;
}
