// SPDX-License-Identifier: Apache-2.0
/*
 * ipvsd's raw VIP table walker and delta (vipwalk.c, vip_delta.c) on
 * arbitrary bytes, checked against the full unpack they stand in for:
 * every entry lies inside the message, and whenever the fast path accepts
 * a message against a fixed previous table, the full unpack accepts it too
 * and gives the same candidate services.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"
#include "ipvsd/vip_delta.h"
#include "ipvsd/vipwalk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct desired_cfg cfg = { .sched = "wlc" };

/* The previous table: one TCP VIP 11.0.0.1:80 with backend 10.0.0.1:8080. */
static const uint8_t prev_msg[] = {
	0x08, 0x04, 0x6a, 0x1d, 0x08, 0x01, 0x1a, 0x17, 0x08, 0x06, 0x1a, 0x04, 0x0b,
	0x00, 0x00, 0x01, 0x20, 0x50, 0x3a, 0x0b, 0x0a, 0x04, 0x0a, 0x00, 0x00, 0x01,
	0x10, 0x90, 0x3f, 0x20, 0x01, 0x20, 0x01,
};

static int same_tables(const struct ipvs_table *a, const struct ipvs_table *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct ipvs_svc *s = &a->svcs[i], *t = &b->svcs[i];

		if (svc_key_cmp(&s->key, &t->key) || s->n_dests != t->n_dests)
			return 0;
		for (size_t j = 0; j < s->n_dests; j++)
			if (memcmp(s->dests[j].addr, t->dests[j].addr, 16) ||
			    s->dests[j].port != t->dests[j].port ||
			    s->dests[j].weight != t->dests[j].weight)
				return 0;
	}
	return 1;
}

static struct ipvs_table *full(const uint8_t *data, size_t size)
{
	const char *why;
	Envelope *env = envelope_unpack(data, size, &why);
	struct ipvs_table *t;

	if (!env)
		return NULL;
	t = env->type == L4LB__V1__ENVELOPE__TYPE__VIP_TABLE
		    ? desired_candidates(env->vip_table, &cfg) : NULL;
	envelope_free(env);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vipwalk prev;
	static int have_prev;
	struct vipwalk next = { 0 };
	struct svc_key keys[64];
	struct ipvs_table *cand, *want;
	size_t n;

	if (!have_prev) {
		if (vipwalk_parse(prev_msg, sizeof(prev_msg), &prev) < 0 || prev.n != 1)
			abort(); /* the seed table itself must walk */
		have_prev = 1;
	}
	if (vipwalk_parse(data, size, &next) < 0)
		goto done;
	for (size_t i = 0; i < next.n; i++)
		if ((size_t)next.e[i].off + next.e[i].len > size)
			abort();
	cand = full(prev_msg, sizeof(prev_msg));
	if (!cand)
		abort();
	if (vip_delta_apply(cand, &prev, &next, data, &cfg, keys, 64, &n) == 0) {
		want = full(data, size);
		if (!want || !same_tables(cand, want))
			abort(); /* the fast path accepted what the full path reads otherwise */
		ipvs_table_free(want);
	}
	ipvs_table_free(cand);
done:
	vipwalk_clear(&next);
	return 0;
}
