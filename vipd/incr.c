// SPDX-License-Identifier: Apache-2.0
/*
 * Patching the VIP table for one task's change (see incr.h): its old part
 * comes out, its new part goes in. Everything is checked before anything
 * is changed, so that a refusal leaves the table as it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vipd/incr.h"
#include "vipd/named_set.h"

/* The distinct names of one task's part (a task has a few ports). */
#define INCR_MAX_NAMES 32

struct names {
	const char *v[INCR_MAX_NAMES];
	size_t n;
};

static int names_has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return 1;
	return 0;
}

static int names_add(struct names *s, const char *name)
{
	if (names_has(s, name))
		return 0;
	if (s->n == INCR_MAX_NAMES)
		return -EAGAIN;
	s->v[s->n++] = name;
	return 0;
}

static int names_of(const struct vip_table *part, struct names *out)
{
	out->n = 0;
	for (size_t i = 0; i < part->n; i++)
		if (part->v[i].name && names_add(out, part->v[i].name) < 0)
			return -EAGAIN;
	return 0;
}

static int str_eq(const char *a, const char *b)
{
	return !a || !b ? a == b : !strcmp(a, b);
}

/* Gives a part's named VIPs their addresses: from the set, or (new
 * names) from the plan. -EAGAIN if a name has neither. */
static int address(struct vip_table *part, const struct named_set *s, const struct names *add,
		   const uint32_t *a4, const uint64_t *a6)
{
	for (size_t i = 0; i < part->n; i++) {
		struct vip *v = &part->v[i];
		const struct named_entry *e;
		size_t k;

		if (!v->name)
			continue;
		if ((e = named_set_get(s, v->name))) {
			named_entry_ip(e->addr4, e->addr6, v->family, v->ip);
			continue;
		}
		for (k = 0; add && k < add->n && strcmp(add->v[k], v->name); k++)
			;
		if (!add || k == add->n)
			return -EAGAIN;
		named_entry_ip(a4[k], a6[k], v->family, v->ip);
	}
	return 0;
}

/* A sorted part is usable when it merged nothing and has no duplicates. */
static int part_ok(const struct vip_table *part)
{
	for (size_t i = 0; i < part->n; i++) {
		if (part->v[i].pinned)
			return 0;
		for (size_t j = 0; j < part->v[i].nb; j++)
			if (part->v[i].b[j].dups)
				return 0;
	}
	return 1;
}

static const struct vip *part_get(const struct vip_table *part, const struct vip *key)
{
	long k = vip_table_find(part, key);

	return k < 0 ? NULL : &part->v[k];
}

static uint32_t label_refs(const struct vip *v, const char *label)
{
	for (size_t i = 0; i < v->nlabels; i++)
		if (!strcmp(v->labels[i], label))
			return v->lrefs[i];
	return 0;
}

/* Whether o (the old part of one VIP) can come out of tv: each of its
 * backends is there from this source alone, and so are its labels. */
static int can_remove(const struct vip *tv, const struct vip *o)
{
	size_t pos;

	if (tv->pinned || !str_eq(tv->name, o->name) || o->nb > tv->nb)
		return 0;
	for (size_t i = 0; i < o->nb; i++)
		if (!vip_backend_find(tv, &o->b[i], &pos) || tv->b[pos].dups ||
		    vip_backend_cmp(&tv->b[pos], &o->b[i]))
			return 0;
	/* Emptied, it must lose every label (they came with its backends). */
	if (o->nb == tv->nb && o->nlabels != tv->nlabels)
		return 0;
	for (size_t i = 0; i < o->nlabels; i++) {
		uint32_t r = label_refs(tv, o->labels[i]);

		if (r < o->lrefs[i] || (o->nb == tv->nb && r != o->lrefs[i]))
			return 0;
	}
	return 1;
}

/* Whether n (the new part of one VIP) can go into tv once o (or NULL) is
 * out: the same name unless tv empties, and no ip:port of another source. */
static int can_add(const struct vip *tv, const struct vip *o, const struct vip *n)
{
	size_t pos, opos;

	if (tv->pinned)
		return 0;
	if (tv->nb > (o ? o->nb : 0) && !str_eq(tv->name, n->name))
		return 0;
	for (size_t i = 0; i < n->nb; i++)
		if (vip_backend_find(tv, &n->b[i], &pos) &&
		    !(o && vip_backend_find(o, &n->b[i], &opos)))
			return 0;
	return 1;
}

/*
 * Whether name keeps a VIP once `before` is out of t: it lives at its own
 * addresses only. 1 yes, 0 no, -EAGAIN when a merged VIP hides it.
 */
static int still_named(const struct vip_table *t, const struct vip_table *before,
		       const struct named_entry *e)
{
	static const uint8_t protos[2] = { VIP_TCP, VIP_UDP }, fams[2] = { 4, 6 };

	for (int p = 0; p < 2; p++)
		for (int f = 0; f < 2; f++) {
			struct vip key = { .proto = protos[p], .family = fams[f] };
			size_t i;

			named_entry_ip(e->addr4, e->addr6, key.family, key.ip);
			for (i = vip_table_lower(t, &key); i < t->n; i++) {
				const struct vip *tv = &t->v[i], *o;

				if (tv->proto != key.proto || tv->family != key.family ||
				    memcmp(tv->ip, key.ip, (size_t)vip_ip_len(key.family)))
					break;
				if (!tv->name || strcmp(tv->name, e->name))
					continue;
				if (tv->pinned)
					return -EAGAIN;
				o = part_get(before, tv);
				if (tv->nb > (o ? o->nb : 0))
					return 1;
			}
		}
	return 0;
}

static int same_part(const struct vip_table *a, const struct vip_table *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct vip *x = &a->v[i], *y = &b->v[i];

		if (vip_table_find(b, x) != (long)i || !str_eq(x->name, y->name) ||
		    x->nb != y->nb || x->nlabels != y->nlabels)
			return 0;
		for (size_t j = 0; j < x->nb; j++)
			if (vip_backend_cmp(&x->b[j], &y->b[j]))
				return 0;
		for (size_t j = 0; j < x->nlabels; j++)
			if (strcmp(x->labels[j], y->labels[j]) || x->lrefs[j] != y->lrefs[j])
				return 0;
	}
	return 1;
}

/* The names that come and go; -EAGAIN if that cannot be told. */
static int name_changes(const struct vip_table *t, const struct vip_table *before,
			const struct names *bn, const struct names *an, struct names *add,
			struct names *del)
{
	add->n = del->n = 0;
	for (size_t i = 0; i < an->n; i++)
		if (!named_set_get(t->names, an->v[i]) && names_add(add, an->v[i]) < 0)
			return -EAGAIN;
	for (size_t i = 0; i < bn->n; i++) {
		int rc;

		if (names_has(an, bn->v[i]))
			continue;
		rc = still_named(t, before, named_set_get(t->names, bn->v[i]));
		if (rc < 0)
			return rc;
		if (!rc && names_add(del, bn->v[i]) < 0)
			return -EAGAIN;
	}
	return 0;
}

/* Checks every VIP of both parts against t. */
static int check(const struct vip_table *t, const struct vip_table *before,
		 const struct vip_table *after)
{
	for (size_t i = 0; i < before->n; i++) {
		long k = vip_table_find(t, &before->v[i]);

		if (k < 0 || !can_remove(&t->v[k], &before->v[i]))
			return -EAGAIN;
	}
	for (size_t i = 0; i < after->n; i++) {
		const struct vip *n = &after->v[i], *o = part_get(before, n);
		long k = vip_table_find(t, n);

		if (k >= 0 ? !can_add(&t->v[k], o, n) : o != NULL)
			return -EAGAIN;
	}
	return 0;
}

static void take_out(struct vip_table *t, const struct vip *o)
{
	struct vip *tv = &t->v[vip_table_find(t, o)];
	size_t pos;

	for (size_t i = 0; i < o->nb; i++)
		if (vip_backend_find(tv, &o->b[i], &pos))
			vip_backend_remove(tv, pos);
	for (size_t i = 0; i < o->nlabels; i++)
		vip_label_unref(tv, o->labels[i], o->lrefs[i]);
	vip_uncache(tv);
}

static int put_in(struct vip_table *t, const struct vip *n)
{
	size_t k = vip_table_lower(t, n), pos;
	struct vip *tv = k < t->n && vip_table_find(t, n) == (long)k ? &t->v[k] : NULL;

	if (!tv && !(tv = vip_table_insert(t, k, n)))
		return -ENOMEM;
	if (!tv->nb && !str_eq(tv->name, n->name)) {
		/* Emptied and refilled by a name placed where one left. */
		free(tv->name);
		tv->name = NULL;
	}
	if (n->name && !tv->name && !(tv->name = strdup(n->name)))
		return -ENOMEM;
	for (size_t i = 0; i < n->nb; i++) {
		vip_backend_find(tv, &n->b[i], &pos);
		if (vip_backend_insert(tv, pos, &n->b[i]) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n->nlabels; i++)
		if (vip_label_ref(tv, n->labels[i], n->lrefs[i]) < 0)
			return -ENOMEM;
	vip_uncache(tv);
	return 0;
}

int incr_apply(struct vip_table *t, struct vip_table *before, struct vip_table *after)
{
	struct names bn, an, add, del;
	uint32_t a4[INCR_MAX_NAMES];
	uint64_t a6[INCR_MAX_NAMES];

	if (!t->names || names_of(before, &bn) < 0 || names_of(after, &an) < 0)
		return -EAGAIN;
	if (address(before, t->names, NULL, NULL, NULL) < 0)
		return -EAGAIN;
	vip_table_sort(before);
	if (!part_ok(before) || name_changes(t, before, &bn, &an, &add, &del) < 0)
		return -EAGAIN;
	if ((add.n || del.n) &&
	    named_set_plan(t->names, add.v, add.n, del.v, del.n, a4, a6) < 0)
		return -EAGAIN;
	if (address(after, t->names, &add, a4, a6) < 0)
		return -EAGAIN;
	vip_table_sort(after);
	if (!part_ok(after) || check(t, before, after) < 0)
		return -EAGAIN;
	if (same_part(before, after))
		return 0;
	/* From here on only memory can fail: then t is half patched. */
	if (named_set_commit(t->names, add.v, add.n, del.v, del.n, a4, a6) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < before->n; i++)
		take_out(t, &before->v[i]);
	for (size_t i = 0; i < after->n; i++)
		if (put_in(t, &after->v[i]) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < before->n; i++) {
		long k = vip_table_find(t, &before->v[i]);

		if (k >= 0 && !t->v[k].nb)
			vip_table_remove(t, (size_t)k);
	}
	return 1;
}
