// SPDX-License-Identifier: Apache-2.0
#include "vipd/delta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/counters.h"
#include "common/log.h"

/* Wire tags (field << 3 | 2): VipTableDelta.upserted = 4, Envelope's
 * vip_table_delta = 20 (two bytes as a varint). */
#define TAG_UPSERTED 0x22
static const uint8_t tag_delta[2] = { 0xa2, 0x01 };

/* vip_table.c's order of VIPs: protocol, family, address, port. */
static int key_cmp(const struct delta_key *k, const struct vip *v)
{
	int c;

	if (k->proto != v->proto)
		return k->proto < v->proto ? -1 : 1;
	if (k->family != v->family)
		return k->family < v->family ? -1 : 1;
	c = memcmp(k->ip, v->ip, (size_t)vip_ip_len(v->family));
	if (c)
		return c < 0 ? -1 : 1;
	if (k->port != v->port)
		return k->port < v->port ? -1 : 1;
	return 0;
}

static int same_bytes(const struct delta_state *d, const struct delta_key *k, const struct vip *v)
{
	return k->len == v->packed_len && memcmp(d->bytes + k->off, v->packed, k->len) == 0;
}

struct parts {
	L4lb__V1__VipKey *rk;   /* removed keys */
	L4lb__V1__VipKey **rp;
	size_t nr;
	const struct vip **up;  /* upserted VIPs */
	size_t nu;
};

/* One merge pass over the remembered VIPs and t's. */
static int diff(const struct delta_state *d, const struct vip_table *t, struct parts *p)
{
	size_t i = 0, j = 0;

	p->rk = calloc(d->n ? d->n : 1, sizeof(*p->rk));
	p->rp = calloc(d->n ? d->n : 1, sizeof(*p->rp));
	p->up = calloc(t->n ? t->n : 1, sizeof(*p->up));
	if (!p->rk || !p->rp || !p->up)
		return -ENOMEM;
	while (i < d->n || j < t->n) {
		const struct delta_key *k = i < d->n ? &d->k[i] : NULL;
		const struct vip *v = j < t->n ? &t->v[j] : NULL;
		int c = !k ? 1 : !v ? -1 : key_cmp(k, v);

		if (c < 0) {
			L4lb__V1__VipKey *r = &p->rk[p->nr];

			l4lb__v1__vip_key__init(r);
			r->has_protocol = r->has_ip = r->has_port = 1;
			r->protocol = k->proto;
			r->ip.data = (uint8_t *)k->ip;
			r->ip.len = (size_t)vip_ip_len(k->family);
			r->port = k->port;
			p->rp[p->nr++] = r;
		} else if (c > 0 || !same_bytes(d, k, v)) {
			p->up[p->nu++] = v;
		}
		i += c <= 0;
		j += c >= 0;
	}
	return 0;
}

/* Envelope{type, vip_table_delta{head..., upserted...}}: protobuf-c packs
 * the head (scalars and removed keys); the upserted VIPs are their cached
 * bytes, appended (fields may come in any order on the wire). */
static int pack(const L4lb__V1__VipTableDelta *head, const struct parts *p, size_t max_len,
		struct ipc_buf *out)
{
	L4lb__V1__Envelope env = L4LB__V1__ENVELOPE__INIT;
	size_t ehead, body, total;
	uint8_t *q;

	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE_DELTA;
	ehead = l4lb__v1__envelope__get_packed_size(&env);
	body = l4lb__v1__vip_table_delta__get_packed_size(head);
	for (size_t i = 0; i < p->nu; i++)
		body += 1 + publish_varint_len(p->up[i]->packed_len) + p->up[i]->packed_len;
	total = ehead + sizeof(tag_delta) + publish_varint_len(body) + body;
	if (total > max_len)
		return -EMSGSIZE;
	if (!(out->data = malloc(total)))
		return -ENOMEM;
	q = out->data;
	q += l4lb__v1__envelope__pack(&env, q);
	memcpy(q, tag_delta, sizeof(tag_delta));
	q = publish_put_varint(q + sizeof(tag_delta), body);
	q += l4lb__v1__vip_table_delta__pack(head, q);
	for (size_t i = 0; i < p->nu; i++) {
		*q++ = TAG_UPSERTED;
		q = publish_put_varint(q, p->up[i]->packed_len);
		memcpy(q, p->up[i]->packed, p->up[i]->packed_len);
		q += p->up[i]->packed_len;
	}
	out->len = (size_t)(q - out->data);
	return 0;
}

/* Remembers t as the table the next delta starts from. */
static int remember(struct delta_state *d, const struct vip_table *t)
{
	size_t len = 0;

	for (size_t i = 0; i < t->n; i++)
		len += t->v[i].packed_len;
	if (array_grow((void **)&d->k, &d->cap, t->n, sizeof(*d->k), 64) < 0 ||
	    array_grow((void **)&d->bytes, &d->bcap, len, 1, 4096) < 0)
		return -ENOMEM;
	d->len = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct vip *v = &t->v[i];
		struct delta_key *k = &d->k[i];

		memset(k, 0, sizeof(*k));
		k->proto = v->proto;
		k->family = v->family;
		k->port = v->port;
		memcpy(k->ip, v->ip, (size_t)vip_ip_len(v->family));
		k->off = d->len;
		k->len = v->packed_len;
		memcpy(d->bytes + d->len, v->packed, v->packed_len);
		d->len += v->packed_len;
	}
	d->n = t->n;
	return 0;
}

int delta_build(struct delta_state *d, const struct vip_table *t,
		const struct snapshot_meta *meta, struct ipc_buf *out)
{
	L4lb__V1__VipTableDelta head = L4LB__V1__VIP_TABLE_DELTA__INIT;
	struct parts p = { 0 };
	int based = d->have && d->epoch == meta->epoch && d->gen < meta->generation;
	size_t max_len = d->max_len ? d->max_len : ENVELOPE_MAX_SIZE;
	int rc = 0;

	out->data = NULL;
	out->len = 0;
	head.has_publisher_epoch = head.has_base_generation = head.has_generation = 1;
	head.has_updated_unix_ms = 1;
	head.publisher_epoch = meta->epoch;
	head.generation = meta->generation;
	head.updated_unix_ms = meta->updated_unix_ms;
	head.base_generation = meta->generation; /* a heartbeat unless based */
	if (based) {
		if ((rc = diff(d, t, &p)) < 0)
			goto done;
		head.base_generation = d->gen;
		head.removed = p.rp;
		head.n_removed = p.nr;
	}
	rc = pack(&head, &p, max_len, out);
	if (rc == -EMSGSIZE) {
		/* readers behind it fetch the snapshot instead */
		counter_inc("deltas_too_large");
		log_limited(LOG_LVL_WARN, "delta_too_large", "VIP table delta %llu: %zu VIPs "
			    "changed, too large for one message; a heartbeat instead (readers "
			    "fetch the snapshot)", (unsigned long long)meta->generation,
			    p.nu + p.nr);
		head.base_generation = meta->generation;
		head.n_removed = 0;
		p.nu = 0;
		rc = pack(&head, &p, max_len, out);
	}
done:
	free(p.rk);
	free(p.rp);
	free(p.up);
	d->have = 0;
	if (rc == 0 && remember(d, t) == 0) {
		d->have = 1;
		d->epoch = meta->epoch;
		d->gen = meta->generation;
	}
	if (rc < 0)
		ipc_buf_free(out);
	return rc;
}

void delta_publish(struct delta_state *d, const struct vip_table *t,
		   const struct snapshot_meta *meta)
{
	struct ipc_buf buf;
	int rc = delta_build(d, t, meta, &buf);

	if (rc < 0) {
		log_limited(LOG_LVL_ERROR, "delta_pack", "VIP table delta %llu: %s",
			    (unsigned long long)meta->generation, strerror(-rc));
		return;
	}
	counter_inc("deltas_published");
	if (d->pub)
		ipc_pub_set(d->pub, &buf);
	ipc_buf_free(&buf);
}

void delta_state_clear(struct delta_state *d)
{
	free(d->k);
	free(d->bytes);
	d->k = NULL;
	d->bytes = NULL;
	d->n = d->cap = d->len = d->bcap = 0;
	d->have = 0;
}
