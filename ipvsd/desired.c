// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/desired.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/counters.h"

static int node_cmp(const void *a, const void *b)
{
	const struct node_addr *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->a, y->a, x->len);
}

int desired_vip_key(const L4lb__V1__Vip *v, struct svc_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!v->has_protocol || (v->protocol != L4LB__V1__PROTOCOL__TCP &&
				 v->protocol != L4LB__V1__PROTOCOL__UDP))
		return -1;
	if (!v->has_ip || (v->ip.len != 4 && v->ip.len != 16))
		return -1;
	/* the family field, when set, must agree with the address */
	if (v->has_family && v->family != (v->ip.len == 4 ? L4LB__V1__FAMILY__INET
							    : L4LB__V1__FAMILY__INET6))
		return -1;
	if (!v->has_port || v->port == 0 || v->port > 65535)
		return -1;
	k->af = v->ip.len == 4 ? AF_INET : AF_INET6;
	k->proto = (uint8_t)v->protocol;
	k->port = (uint16_t)v->port;
	memcpy(k->addr, v->ip.data, v->ip.len);
	return 0;
}

static int backend_dest(const L4lb__V1__Backend *b, size_t alen, const struct desired_cfg *cfg,
			struct ipvs_dest *d)
{
	memset(d, 0, sizeof(*d));
	if (!b->has_ip || b->ip.len != alen || !b->has_port || b->port == 0 || b->port > 65535)
		return -1;
	memcpy(d->addr, b->ip.data, alen);
	d->port = (uint16_t)b->port;
	d->weight = b->has_weight ? b->weight : 1;
	if (d->weight > 65535)
		return -1;
	if (b->has_agent_ip && (b->agent_ip.len == 4 || b->agent_ip.len == 16)) {
		d->agent_len = (uint8_t)b->agent_ip.len;
		memcpy(d->agent, b->agent_ip.data, b->agent_ip.len);
	}
	/* IPVS bypasses the port-mapping DNAT for traffic of the backend's own
	 * node, so a port-mapped backend here is reached at its task address. */
	if (cfg->node_ip_len && d->agent_len == cfg->node_ip_len &&
	    memcmp(d->agent, cfg->node_ip, d->agent_len) == 0 && b->has_task_ip &&
	    b->task_ip.len == alen && b->has_task_port && b->task_port > 0 &&
	    b->task_port <= 65535) {
		memcpy(d->addr, b->task_ip.data, alen);
		d->port = (uint16_t)b->task_port;
	}
	return 0;
}

struct ipvs_table *desired_candidates(const L4lb__V1__VipTable *vt, const struct desired_cfg *cfg)
{
	struct ipvs_table *t = ipvs_table_new();

	if (!t)
		return NULL;
	for (size_t i = 0; i < vt->n_vips; i++) {
		const L4lb__V1__Vip *v = vt->vips[i];
		struct svc_key k;
		struct ipvs_svc *s;

		if (desired_vip_key(v, &k) < 0) {
			report_bad_input("vip_invalid", "VIP table %llu: VIP %zu is invalid",
					 (unsigned long long)vt->generation, i);
			continue;
		}
		s = ipvs_table_add(t, &k, cfg->sched);
		if (!s)
			goto fail;
		/* one allocation per VIP, not a growing array */
		if (v->n_backends) {
			s->dests = malloc(v->n_backends * sizeof(*s->dests));
			if (!s->dests)
				goto fail;
			s->cap_dests = v->n_backends;
		}
		for (size_t j = 0; j < v->n_backends; j++) {
			struct ipvs_dest d;

			if (backend_dest(v->backends[j], af_len(k.af), cfg, &d) < 0) {
				report_bad_input("backend_invalid",
						 "VIP table %llu: VIP %zu backend %zu is invalid",
						 (unsigned long long)vt->generation, i, j);
				continue;
			}
			if (ipvs_svc_add_dest(s, &d) < 0)
				goto fail;
		}
	}
	ipvs_table_sort(t);
	return t;
fail:
	ipvs_table_free(t);
	return NULL;
}

struct reach_set *reach_set_from_pb(const L4lb__V1__Reachability *r)
{
	struct reach_set *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->nodes = calloc(r->n_reachable ? r->n_reachable : 1, sizeof(*s->nodes));
	if (!s->nodes) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < r->n_reachable; i++) {
		const ProtobufCBinaryData *a = &r->reachable[i];

		if (a->len != 4 && a->len != 16) {
			report_bad_input("reach_invalid", "reachability %llu: address %zu has %zu bytes",
					 (unsigned long long)r->generation, i, a->len);
			continue;
		}
		s->nodes[s->n].len = (uint8_t)a->len;
		memcpy(s->nodes[s->n].a, a->data, a->len);
		s->n++;
	}
	qsort(s->nodes, s->n, sizeof(*s->nodes), node_cmp);
	return s;
}

void reach_set_free(struct reach_set *r)
{
	if (!r)
		return;
	free(r->nodes);
	free(r);
}

int reach_set_equal(const struct reach_set *a, const struct reach_set *b)
{
	if (!a || !b)
		return a == b;
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (node_cmp(&a->nodes[i], &b->nodes[i]))
			return 0;
	return 1;
}

int reach_set_has(const struct reach_set *r, const uint8_t *a, uint8_t len)
{
	struct node_addr k = { .len = len };

	memcpy(k.a, a, len);
	return bsearch(&k, r->nodes, r->n, sizeof(k), node_cmp) != NULL;
}

static int dest_reachable(const struct ipvs_dest *d, const struct reach_set *reach)
{
	/* a backend without a known agent cannot be judged: keep it */
	return !reach || !d->agent_len || reach_set_has(reach, d->agent, d->agent_len);
}

struct ipvs_table *desired_build(const struct ipvs_table *cand, const struct reach_set *reach,
				 size_t *withheld)
{
	struct ipvs_table *t = ipvs_table_dup(cand);

	if (withheld)
		*withheld = 0;
	if (!t || !reach)
		return t;
	for (size_t i = 0; i < t->n; i++) {
		struct ipvs_svc *s = &t->svcs[i];
		size_t o = 0, live = 0;

		for (size_t j = 0; j < s->n_dests; j++)
			live += dest_reachable(&s->dests[j], reach);
		if (live == 0)
			continue; /* fail open: keep them all */
		for (size_t j = 0; j < s->n_dests; j++) {
			if (dest_reachable(&s->dests[j], reach))
				s->dests[o++] = s->dests[j];
		}
		if (withheld)
			*withheld += s->n_dests - o;
		s->n_dests = o;
	}
	return t;
}
