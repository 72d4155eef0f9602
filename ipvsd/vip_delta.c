// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/vip_delta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int key_cmp(const void *a, const void *b)
{
	return svc_key_cmp(a, b);
}

static int same(const struct vipwalk_entry *a, const struct vipwalk_entry *b)
{
	return a->len == b->len && a->hash == b->hash;
}

/* One merge pass over both sorted walks: the keys that changed, and for
 * each the entry of next that now holds it (NULL: removed). */
static int changes(const struct vipwalk *prev, const struct vipwalk *next, struct svc_key *keys,
		   const struct vipwalk_entry **upd, size_t max, size_t *n)
{
	size_t i = 0, j = 0, k = 0;

	while (i < prev->n || j < next->n) {
		const struct vipwalk_entry *p = i < prev->n ? &prev->e[i] : NULL;
		const struct vipwalk_entry *q = j < next->n ? &next->e[j] : NULL;
		int c = !p ? 1 : !q ? -1 : vipwalk_key_cmp(&p->key, &q->key);

		if (c == 0 && same(p, q)) {
			i++;
			j++;
			continue;
		}
		if (k == max)
			return -E2BIG;
		keys[k] = c < 0 ? p->key : q->key;
		upd[k++] = c < 0 ? NULL : q;
		i += c <= 0;
		j += c >= 0;
	}
	*n = k;
	return 0;
}

int vip_delta_apply(struct ipvs_table *cand, const struct vipwalk *prev,
		    const struct vipwalk *next, const uint8_t *data, const struct desired_cfg *cfg,
		    struct svc_key *keys, size_t max, size_t *n)
{
	const struct vipwalk_entry **upd = calloc(max ? max : 1, sizeof(*upd));
	L4lb__V1__Vip **vips = calloc(max ? max : 1, sizeof(*vips));
	L4lb__V1__VipTable vt = L4LB__V1__VIP_TABLE__INIT;
	struct ipvs_table *tiny = NULL;
	size_t nk = 0;
	int rc = -ENOMEM;

	if (!upd || !vips)
		goto done;
	if ((rc = changes(prev, next, keys, upd, max, &nk)) < 0)
		goto done;
	vt.generation = next->gen;
	vt.vips = vips;
	for (size_t i = 0; i < nk; i++) {
		if (!upd[i])
			continue;
		/* a sub-slice of the envelope is a complete Vip message */
		vips[vt.n_vips] = l4lb__v1__vip__unpack(NULL, upd[i]->len, data + upd[i]->off);
		if (!vips[vt.n_vips]) {
			rc = -EPROTO;
			goto done;
		}
		vt.n_vips++;
	}
	/* the same rules as the full path: invalid VIPs and backends are
	 * reported and left out */
	tiny = desired_candidates(&vt, cfg);
	rc = -ENOMEM;
	if (!tiny)
		goto done;
	for (size_t i = 0; i < tiny->n; i++) {
		size_t j = 0;

		while (j < nk && svc_key_cmp(&keys[j], &tiny->svcs[i].key))
			j++;
		if (j == nk) {
			rc = -EPROTO; /* the walker read another key: trust neither */
			goto done;
		}
	}
	for (size_t i = 0; i < nk; i++) {
		const struct ipvs_svc *c = ipvs_table_find(tiny, &keys[i]);
		struct ipvs_svc *old;

		if (c) {
			if (ipvs_table_put_copy(cand, c) < 0)
				goto done;
		} else if ((old = ipvs_table_find(cand, &keys[i]))) {
			ipvs_table_remove(cand, old);
		}
	}
	qsort(keys, nk, sizeof(*keys), key_cmp);
	*n = nk;
	rc = 0;
done:
	for (size_t i = 0; vips && i < vt.n_vips; i++)
		l4lb__v1__vip__free_unpacked(vips[i], NULL);
	free(vips);
	free(upd);
	ipvs_table_free(tiny);
	return rc;
}
