// SPDX-License-Identifier: Apache-2.0
/* VIP table ↔ protobuf. One allocation per array; nothing is copied twice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vipd/publish.h"

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
		const struct vip *v = &t->v[i];
		L4lb__V1__Vip *pv = &vips[i];

		l4lb__v1__vip__init(pv);
		vp[i] = pv;
		pv->has_protocol = pv->has_family = pv->has_ip = pv->has_port = 1;
		pv->protocol = v->proto == VIP_UDP ? L4LB__V1__PROTOCOL__UDP : L4LB__V1__PROTOCOL__TCP;
		pv->family = v->family == 6 ? L4LB__V1__FAMILY__INET6 : L4LB__V1__FAMILY__INET;
		pv->ip.data = (uint8_t *)v->ip;
		pv->ip.len = (size_t)vip_ip_len(v->family);
		pv->port = v->port;
		pv->name = v->name;
		pv->labels = v->labels;
		pv->n_labels = v->nlabels;
		pv->backends = &bp[k];
		pv->n_backends = v->nb;
		for (size_t j = 0; j < v->nb; j++, k++) {
			const struct backend *b = &v->b[j];
			L4lb__V1__Backend *pb = &bs[k];

			l4lb__v1__backend__init(pb);
			bp[k] = pb;
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
