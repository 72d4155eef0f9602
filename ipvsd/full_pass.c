// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/full_pass.h"

#include <errno.h>
#include <string.h>

int full_pass_begin(struct full_pass *p, struct ipvs_table *fresh, struct ipvs_table *model,
		    const struct ipvs_table *desired, full_pass_want_fn want, void *arg)
{
	key_set_clear(&p->keys);
	p->next = 0;
	for (size_t i = 0; i < fresh->n; i++)
		if ((!want || want(&fresh->svcs[i].key, arg)) &&
		    key_set_add(&p->keys, &fresh->svcs[i].key) < 0)
			return -ENOMEM;
	for (size_t i = 0; desired && i < desired->n; i++)
		if (key_set_add(&p->keys, &desired->svcs[i].key) < 0)
			return -ENOMEM;
	key_set_sort(&p->keys);
	/* nothing fails from here: model is intact if this returned early */
	for (size_t i = 0; i < fresh->n; i++) {
		struct ipvs_svc *f = &fresh->svcs[i];
		struct ipvs_svc *m = ipvs_table_find(model, &f->key);
		struct ipvs_svc t = *f;

		if (!m)
			continue;
		/* swapped, not copied: model is dropped after this */
		f->dests = m->dests;
		f->n_dests = m->n_dests;
		f->cap_dests = m->cap_dests;
		m->dests = t.dests;
		m->n_dests = t.n_dests;
		m->cap_dests = t.cap_dests;
	}
	return 0;
}

int full_pass_slice(struct full_pass *p, size_t max, full_pass_visit_fn visit, void *arg,
		    const struct svc_key **first, size_t *n)
{
	size_t from = p->next;
	int rc = 0;

	*first = p->keys.k ? &p->keys.k[from] : NULL;
	while (p->next < p->keys.n && (p->next == from || p->next - from < max)) {
		if ((rc = visit(&p->keys.k[p->next], arg)) < 0)
			break;
		p->next++;
	}
	*n = p->next - from;
	return rc;
}

size_t full_pass_batch(const struct full_pass *p, uint64_t budget_us)
{
	size_t left = p->keys.n - p->next;
	uint64_t k;

	if (budget_us == UINT64_MAX)
		return left ? left : 1;
	if (!p->per_svc_us)
		return 1;
	k = budget_us / p->per_svc_us;
	return k < 1 ? 1 : k > left ? (left ? left : 1) : (size_t)k;
}

void full_pass_note_dests(struct full_pass *p, size_t n, uint64_t us)
{
	uint64_t one;

	if (!n)
		return;
	one = us / n ? us / n : 1;
	/* smoothed, but a slow slice counts at once: the budget is a bound */
	p->per_svc_us = !p->per_svc_us || one > p->per_svc_us ? one
							      : (3 * p->per_svc_us + one) / 4;
}

int full_pass_visited(const struct full_pass *p)
{
	return p->next >= p->keys.n;
}

void full_pass_note_slice(struct full_pass *p, uint64_t us)
{
	p->slices++;
	p->busy_us += us;
	if (us > p->longest_us)
		p->longest_us = us;
}

int full_pass_strays(const struct key_set *addrs, const struct key_set *members,
		     const struct key_set *recorded, const struct ipvs_table *desired,
		     struct key_set *out)
{
	struct key_set want = { 0 };
	int rc = 0;

	out->n = 0;
	for (size_t i = 0; i < desired->n && rc == 0; i++) {
		struct svc_key a = { .af = desired->svcs[i].key.af };

		memcpy(a.addr, desired->svcs[i].key.addr, 16);
		rc = key_set_add(&want, &a);
	}
	key_set_sort(&want);
	for (size_t i = 0; i < addrs->n && rc == 0; i++)
		if (!key_set_has(&want, &addrs->k[i]))
			rc = key_set_add(out, &addrs->k[i]);
	for (size_t i = 0; i < members->n && rc == 0; i++)
		if (!ipvs_table_find(desired, &members->k[i]))
			rc = key_set_add(out, &members->k[i]);
	for (size_t i = 0; recorded && i < recorded->n && rc == 0; i++)
		if (!ipvs_table_find(desired, &recorded->k[i]))
			rc = key_set_add(out, &recorded->k[i]);
	key_set_sort(out);
	key_set_clear(&want);
	return rc < 0 ? -ENOMEM : 0;
}

int full_pass_read_end(struct full_pass *p, int rc, int changed)
{
	if (rc == 1 && changed)
		rc = -EAGAIN;
	if ((rc == -EAGAIN || rc == -EINTR || rc == -ENOBUFS) && p->rereads < FULL_PASS_REREADS) {
		p->rereads++;
		return 0;
	}
	p->rereads = 0;
	return rc;
}

uint64_t full_pass_read_budget(const struct full_pass *p, uint64_t budget_us)
{
	return p->rereads >= FULL_PASS_REREADS ? UINT64_MAX : budget_us;
}

enum pass_stage full_pass_list_of(enum plan_op_type t)
{
	switch (t) {
	case OP_ADD_SVC:
	case OP_SET_SVC:
	case OP_DEL_SVC:
		return PASS_SERVICES;
	case OP_ADD_ADDR:
	case OP_DEL_ADDR:
		return PASS_ADDRS;
	case OP_ADD_MEMBER:
	case OP_DEL_MEMBER:
		return PASS_MEMBERS;
	default:
		return PASS_IDLE;
	}
}

void full_pass_end(struct full_pass *p)
{
	key_set_clear(&p->keys);
	p->next = 0;
	p->rereads = 0;
	p->stage = PASS_IDLE;
}
