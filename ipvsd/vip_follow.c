// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/vip_follow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum follow_verdict vip_follow_check(int held, uint64_t epoch, uint64_t gen,
				     const L4lb__V1__VipTableDelta *d)
{
	if (!d->has_publisher_epoch || !d->has_base_generation || !d->has_generation ||
	    d->base_generation > d->generation)
		return FOLLOW_BAD;
	/* a heartbeat carries nothing */
	if (d->base_generation == d->generation && (d->n_upserted || d->n_removed))
		return FOLLOW_BAD;
	if (!held || d->publisher_epoch != epoch)
		return FOLLOW_RESYNC;
	if (d->generation <= gen)
		return FOLLOW_CURRENT; /* republished, or already in a snapshot */
	return d->base_generation == gen ? FOLLOW_APPLY : FOLLOW_RESYNC;
}

static int key_cmp(const void *a, const void *b)
{
	return svc_key_cmp(a, b);
}

/* The same checks as a VIP's key: a Vip with the removed key's fields. */
static int removed_key(const L4lb__V1__VipKey *r, struct svc_key *k)
{
	L4lb__V1__Vip v = L4LB__V1__VIP__INIT;

	v.has_protocol = r->has_protocol;
	v.protocol = r->protocol;
	v.has_ip = r->has_ip;
	v.ip = r->ip;
	v.has_port = r->has_port;
	v.port = r->port;
	return desired_vip_key(&v, k);
}

/* The keys d names, sorted, each once. 0, -EPROTO or -ENOMEM. */
static int delta_keys(const L4lb__V1__VipTableDelta *d, struct svc_key **out, size_t *n)
{
	size_t nk = d->n_upserted + d->n_removed;
	struct svc_key *k = calloc(nk ? nk : 1, sizeof(*k));

	*out = NULL;
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_upserted; i++)
		if (desired_vip_key(d->upserted[i], &k[i]) < 0)
			goto bad;
	for (size_t i = 0; i < d->n_removed; i++)
		if (removed_key(d->removed[i], &k[d->n_upserted + i]) < 0)
			goto bad;
	qsort(k, nk, sizeof(*k), key_cmp);
	for (size_t i = 1; i < nk; i++)
		if (svc_key_cmp(&k[i - 1], &k[i]) == 0)
			goto bad;
	*out = k;
	*n = nk;
	return 0;
bad:
	free(k);
	return -EPROTO;
}

int vip_follow_apply(struct ipvs_table *cand, const L4lb__V1__VipTableDelta *d,
		     const struct desired_cfg *cfg, struct svc_key *keys, size_t max, size_t *n)
{
	L4lb__V1__VipTable vt = L4LB__V1__VIP_TABLE__INIT;
	struct ipvs_table *tiny = NULL;
	struct svc_key *k = NULL, rk;
	size_t nk = 0;
	int rc;

	if ((rc = delta_keys(d, &k, &nk)) < 0)
		return rc;
	rc = -ESRCH;
	for (size_t i = 0; i < d->n_removed; i++)
		if (removed_key(d->removed[i], &rk) < 0 || !ipvs_table_find(cand, &rk))
			goto done;
	/* the same rules as a snapshot: invalid backends reported and left out */
	vt.has_generation = 1;
	vt.generation = d->generation;
	vt.vips = d->upserted;
	vt.n_vips = d->n_upserted;
	rc = -ENOMEM;
	if (!(tiny = desired_candidates(&vt, cfg)))
		goto done;
	for (size_t i = 0; i < nk; i++) {
		const struct ipvs_svc *c = ipvs_table_find(tiny, &k[i]);
		struct ipvs_svc *old;

		if (c) {
			if (ipvs_table_put_copy(cand, c) < 0)
				goto done;
		} else if ((old = ipvs_table_find(cand, &k[i]))) {
			ipvs_table_remove(cand, old);
		}
	}
	if (nk <= max)
		memcpy(keys, k, nk * sizeof(*k));
	*n = nk <= max ? nk : max + 1;
	rc = 0;
done:
	free(k);
	ipvs_table_free(tiny);
	return rc;
}
