// SPDX-License-Identifier: Apache-2.0
/* VIP table ↔ protobuf. One allocation per array; nothing is copied twice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vipd/publish.h"

/* v as a protobuf-c message pointing into v; bp/bs hold v->nb backends. */
static void fill_vip(const struct vip *v, L4lb__V1__Vip *pv, L4lb__V1__Backend *bs,
		     L4lb__V1__Backend **bp)
{
	l4lb__v1__vip__init(pv);
	pv->has_protocol = pv->has_family = pv->has_ip = pv->has_port = 1;
	pv->protocol = v->proto == VIP_UDP ? L4LB__V1__PROTOCOL__UDP : L4LB__V1__PROTOCOL__TCP;
	pv->family = v->family == 6 ? L4LB__V1__FAMILY__INET6 : L4LB__V1__FAMILY__INET;
	pv->ip.data = (uint8_t *)v->ip;
	pv->ip.len = (size_t)vip_ip_len(v->family);
	pv->port = v->port;
	pv->name = v->name;
	pv->labels = v->labels;
	pv->n_labels = v->nlabels;
	pv->backends = bp;
	pv->n_backends = v->nb;
	for (size_t j = 0; j < v->nb; j++) {
		const struct backend *b = &v->b[j];
		L4lb__V1__Backend *pb = &bs[j];

		l4lb__v1__backend__init(pb);
		bp[j] = pb;
		pb->has_ip = pb->has_port = pb->has_agent_ip = pb->has_weight = 1;
		pb->ip.data = (uint8_t *)b->ip;
		pb->ip.len = (size_t)vip_ip_len(b->family);
		pb->port = b->port;
		pb->agent_ip.data = (uint8_t *)b->agent_ip;
		pb->agent_ip.len = 4;
		pb->weight = b->weight;
		if (b->task_family) {
			pb->has_task_ip = pb->has_task_port = 1;
			pb->task_ip.data = (uint8_t *)b->task_ip;
			pb->task_ip.len = (size_t)vip_ip_len(b->task_family);
			pb->task_port = b->task_port;
		}
	}
}

int publish_pack(const struct vip_table *t, const struct snapshot_meta *meta, struct ipc_buf *out)
{
	L4lb__V1__Envelope env = L4LB__V1__ENVELOPE__INIT;
	L4lb__V1__VipTable vt = L4LB__V1__VIP_TABLE__INIT;
	size_t nb = vip_table_backends(t);
	L4lb__V1__Vip *vips = calloc(t->n ? t->n : 1, sizeof(*vips));
	L4lb__V1__Vip **vp = calloc(t->n ? t->n : 1, sizeof(*vp));
	L4lb__V1__Backend *bs = calloc(nb ? nb : 1, sizeof(*bs));
	L4lb__V1__Backend **bp = calloc(nb ? nb : 1, sizeof(*bp));
	size_t k = 0;
	int rc = -ENOMEM;

	if (!vips || !vp || !bs || !bp)
		goto done;
	for (size_t i = 0; i < t->n; i++) {
		vp[i] = &vips[i];
		fill_vip(&t->v[i], &vips[i], &bs[k], &bp[k]);
		k += t->v[i].nb;
	}
	vt.has_generation = vt.has_publisher_epoch = vt.has_updated_unix_ms = 1;
	vt.generation = meta->generation;
	vt.publisher_epoch = meta->epoch;
	vt.updated_unix_ms = meta->updated_unix_ms;
	vt.source = (char *)meta->source;
	vt.vips = vp;
	vt.n_vips = t->n;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE;
	env.vip_table = &vt;
	rc = envelope_pack(&env, out);
done:
	free(vips);
	free(vp);
	free(bs);
	free(bp);
	return rc;
}

/* Packs v into v->packed unless it is there already. 0 or -ENOMEM. */
static int vip_pack_cached(struct vip *v)
{
	L4lb__V1__Vip pv;
	L4lb__V1__Backend *bs, **bp;
	size_t len;

	if (v->packed)
		return 0;
	bs = malloc((v->nb ? v->nb : 1) * sizeof(*bs));
	bp = malloc((v->nb ? v->nb : 1) * sizeof(*bp));
	if (!bs || !bp)
		goto nomem;
	fill_vip(v, &pv, bs, bp);
	len = l4lb__v1__vip__get_packed_size(&pv);
	if (!(v->packed = malloc(len ? len : 1)))
		goto nomem;
	v->packed_len = l4lb__v1__vip__pack(&pv, v->packed);
	free(bs);
	free(bp);
	return 0;
nomem:
	free(bs);
	free(bp);
	return -ENOMEM;
}

size_t publish_varint_len(size_t x)
{
	size_t n = 1;

	while (x >= 0x80) {
		x >>= 7;
		n++;
	}
	return n;
}

uint8_t *publish_put_varint(uint8_t *p, size_t x)
{
	while (x >= 0x80) {
		*p++ = (uint8_t)(x | 0x80);
		x >>= 7;
	}
	*p++ = (uint8_t)x;
	return p;
}

/* Wire tags (field << 3 | 2, length-delimited): VipTable.vips = 3,
 * Envelope.vip_table = 13. */
#define TAG_VIPS 0x1a
#define TAG_VIP_TABLE 0x6a

/* The envelope limit; tests lower it to reach the bound with a small table. */
static size_t max_len = ENVELOPE_MAX_SIZE;

void publish_set_max_len(size_t len) { max_len = len ? len : ENVELOPE_MAX_SIZE; }

int publish_pack_cached(struct vip_table *t, const struct snapshot_meta *meta,
			struct ipc_buf *out)
{
	L4lb__V1__Envelope env = L4LB__V1__ENVELOPE__INIT;
	L4lb__V1__VipTable head = L4LB__V1__VIP_TABLE__INIT, tail = L4LB__V1__VIP_TABLE__INIT;
	size_t ehead, vhead, vtail, body, total;
	uint8_t *p;

	out->data = NULL;
	out->len = 0;
	/*
	 * protobuf-c writes fields in number order, and repeated or embedded
	 * messages as tag, length, bytes: so the snapshot is Envelope.type,
	 * then VipTable's fields 1-2, each cached Vip, then fields 4-5,
	 * exactly the bytes publish_pack gives.
	 */
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE;
	head.has_generation = 1;
	head.generation = meta->generation;
	head.source = (char *)meta->source;
	tail.has_publisher_epoch = tail.has_updated_unix_ms = 1;
	tail.publisher_epoch = meta->epoch;
	tail.updated_unix_ms = meta->updated_unix_ms;
	ehead = l4lb__v1__envelope__get_packed_size(&env);
	vhead = l4lb__v1__vip_table__get_packed_size(&head);
	vtail = l4lb__v1__vip_table__get_packed_size(&tail);
	body = vhead + vtail;
	for (size_t i = 0; i < t->n; i++) {
		if (vip_pack_cached(&t->v[i]) < 0)
			return -ENOMEM;
		body += 1 + publish_varint_len(t->v[i].packed_len) + t->v[i].packed_len;
	}
	total = ehead + 1 + publish_varint_len(body) + body;
	if (total > max_len)
		return -EMSGSIZE;
	if (!(out->data = malloc(total)))
		return -ENOMEM;
	p = out->data;
	p += l4lb__v1__envelope__pack(&env, p);
	*p++ = TAG_VIP_TABLE;
	p = publish_put_varint(p, body);
	p += l4lb__v1__vip_table__pack(&head, p);
	for (size_t i = 0; i < t->n; i++) {
		*p++ = TAG_VIPS;
		p = publish_put_varint(p, t->v[i].packed_len);
		memcpy(p, t->v[i].packed, t->v[i].packed_len);
		p += t->v[i].packed_len;
	}
	p += l4lb__v1__vip_table__pack(&tail, p);
	out->len = (size_t)(p - out->data);
	return 0;
}

static int bytes_ip(const ProtobufCBinaryData *d, uint8_t *out, uint8_t *family)
{
	if (d->len != 4 && d->len != 16)
		return -EINVAL;
	memcpy(out, d->data, d->len);
	*family = d->len == 16 ? 6 : 4;
	return 0;
}

struct vip_table *publish_unpack(const Envelope *env, const char **why)
{
	const L4lb__V1__VipTable *vt = env->vip_table;
	struct vip_table *t;

	if (env->type != L4LB__V1__ENVELOPE__TYPE__VIP_TABLE || !vt) {
		*why = "not a VIP table";
		return NULL;
	}
	if (!(t = vip_table_new()))
		goto nomem;
	for (size_t i = 0; i < vt->n_vips; i++) {
		const L4lb__V1__Vip *pv = vt->vips[i];
		uint8_t ip[16], fam;
		struct vip *v;

		if (bytes_ip(&pv->ip, ip, &fam) < 0) {
			*why = "bad VIP address";
			goto fail;
		}
		v = vip_table_add(t, pv->protocol == L4LB__V1__PROTOCOL__UDP ? VIP_UDP : VIP_TCP,
				  fam, ip, (uint16_t)pv->port, pv->name);
		if (!v)
			goto nomem;
		for (size_t j = 0; j < pv->n_labels; j++)
			if (vip_add_label(v, pv->labels[j]) < 0)
				goto nomem;
		for (size_t j = 0; j < pv->n_backends; j++) {
			const L4lb__V1__Backend *pb = pv->backends[j];
			struct backend b = { 0 };
			uint8_t afam;

			if (bytes_ip(&pb->ip, b.ip, &b.family) < 0 || pb->agent_ip.len != 4 ||
			    bytes_ip(&pb->agent_ip, b.agent_ip, &afam) < 0) {
				*why = "bad backend address";
				goto fail;
			}
			b.port = (uint16_t)pb->port;
			b.weight = (uint8_t)pb->weight;
			if (pb->has_task_ip && bytes_ip(&pb->task_ip, b.task_ip, &b.task_family) == 0)
				b.task_port = (uint16_t)pb->task_port;
			if (vip_add_backend(v, &b) < 0)
				goto nomem;
		}
	}
	return t;
nomem:
	*why = "out of memory";
fail:
	vip_table_free(t);
	return NULL;
}
