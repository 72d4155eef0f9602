// SPDX-License-Identifier: Apache-2.0
/* Patching the VIP table for one task's change (see incr.h). */
#include <errno.h>
#include <string.h>

#include "vipd/incr.h"

/* Gives the task's named VIPs the address they have in t; -EAGAIN if t
 * lacks one (a new name moves addresses: only a rebuild places it). */
static int resolve_named(const struct vip_table *t, struct vip_table *part)
{
	for (size_t i = 0; i < part->n; i++) {
		struct vip *v = &part->v[i];
		size_t k;

		if (!v->name)
			continue;
		/* A scan: named VIPs are not indexed by name, and 10,000 VIPs
		 * take microseconds. */
		for (k = 0; k < t->n; k++) {
			const struct vip *x = &t->v[k];

			if (x->name && x->proto == v->proto && x->family == v->family &&
			    x->port == v->port && !strcmp(x->name, v->name))
				break;
		}
		if (k == t->n)
			return -EAGAIN;
		memcpy(v->ip, t->v[k].ip, 16);
	}
	return 0;
}

static int same_vip_and_labels(const struct vip *a, const struct vip *b)
{
	if (a->proto != b->proto || a->family != b->family || a->port != b->port ||
	    memcmp(a->ip, b->ip, (size_t)vip_ip_len(a->family)) || a->nlabels != b->nlabels)
		return 0;
	if (!a->name != !b->name || (a->name && strcmp(a->name, b->name)))
		return 0;
	for (size_t i = 0; i < a->nlabels; i++)
		if (strcmp(a->labels[i], b->labels[i]))
			return 0;
	return 1;
}

static int same_backends(const struct vip *a, const struct vip *b)
{
	if (a->nb != b->nb)
		return 0;
	for (size_t i = 0; i < a->nb; i++)
		if (vip_backend_cmp(&a->b[i], &b->b[i]) || a->b[i].dups != b->b[i].dups)
			return 0;
	return 1;
}

/*
 * Whether old → new in tv can be done by removing old's backends and
 * inserting new's: each old one is in tv exactly once (no other source
 * gave the same ip:port), and each new ip:port is free once the old ones
 * are gone.
 */
static int can_patch(const struct vip *tv, const struct vip *old, const struct vip *new)
{
	size_t pos, opos;

	for (size_t i = 0; i < old->nb; i++) {
		if (old->b[i].dups || !vip_backend_find(tv, &old->b[i], &pos) ||
		    tv->b[pos].dups || vip_backend_cmp(&tv->b[pos], &old->b[i]))
			return 0;
	}
	for (size_t i = 0; i < new->nb; i++) {
		if (new->b[i].dups)
			return 0;
		if (vip_backend_find(tv, &new->b[i], &pos) &&
		    !vip_backend_find(old, &new->b[i], &opos))
			return 0;
	}
	return 1;
}

static int patch(struct vip *tv, const struct vip *old, const struct vip *new)
{
	size_t pos;

	for (size_t i = 0; i < old->nb; i++)
		if (vip_backend_find(tv, &old->b[i], &pos))
			vip_backend_remove(tv, pos);
	for (size_t i = 0; i < new->nb; i++) {
		vip_backend_find(tv, &new->b[i], &pos);
		if (vip_backend_insert(tv, pos, &new->b[i]) < 0)
			return -ENOMEM;
	}
	vip_uncache(tv);
	return 0;
}

int incr_apply(struct vip_table *t, struct vip_table *before, struct vip_table *after)
{
	int changed = 0;

	if (resolve_named(t, before) < 0 || resolve_named(t, after) < 0)
		return -EAGAIN;
	vip_table_sort(before);
	vip_table_sort(after);
	if (before->n != after->n)
		return -EAGAIN;
	/* Check everything first, so that a refusal leaves t as it was. */
	for (size_t i = 0; i < before->n; i++) {
		const struct vip *o = &before->v[i], *n = &after->v[i];
		long k;

		if (!same_vip_and_labels(o, n))
			return -EAGAIN;
		if (same_backends(o, n))
			continue;
		k = vip_table_find(t, o);
		if (k < 0 || !can_patch(&t->v[k], o, n))
			return -EAGAIN;
	}
	for (size_t i = 0; i < before->n; i++) {
		const struct vip *o = &before->v[i], *n = &after->v[i];

		if (same_backends(o, n))
			continue;
		if (patch(&t->v[vip_table_find(t, o)], o, n) < 0)
			return -ENOMEM;
		changed = 1;
	}
	return changed;
}
