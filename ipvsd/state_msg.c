// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/state_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"

/* Everything one reply points to, freed together. */
struct arena {
	void **p;
	size_t n, cap;
	int err;
};

static void *arena_alloc(struct arena *a, size_t size)
{
	void *x;

	if (a->err)
		return NULL;
	if (array_grow((void **)&a->p, &a->cap, a->n + 1, sizeof(*a->p), 64) < 0) {
		a->err = -ENOMEM;
		return NULL;
	}
	x = calloc(1, size ? size : 1);
	if (!x) {
		a->err = -ENOMEM;
		return NULL;
	}
	a->p[a->n++] = x;
	return x;
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
}

static L4lb__V1__IpvsDest *dest_msg(struct arena *a, const struct ipvs_dest *d, size_t alen)
{
	L4lb__V1__IpvsDest *md = arena_alloc(a, sizeof(*md));

	if (!md)
		return NULL;
	l4lb__v1__ipvs_dest__init(md);
	md->has_ip = md->has_port = md->has_weight = 1;
	md->has_active_conns = md->has_inactive_conns = 1;
	md->ip.data = (uint8_t *)d->addr;
	md->ip.len = alen;
	md->port = d->port;
	md->weight = d->weight;
	md->active_conns = d->active;
	md->inactive_conns = d->inactive;
	return md;
}

/* Candidates of s (from the VIP table) that the desired service lacks: the
 * backends withheld because their agent is unreachable. */
static size_t withheld_count(const struct ipvs_svc *s, const struct ipvs_svc *c)
{
	size_t n = 0;

	for (size_t j = 0; c && j < c->n_dests; j++)
		n += !ipvs_svc_find_dest(s, c->dests[j].addr, c->dests[j].port);
	return n;
}

static L4lb__V1__IpvsDest *withheld_msg(struct arena *a, const struct ipvs_dest *d, size_t alen)
{
	L4lb__V1__IpvsDest *md = dest_msg(a, d, alen);
	char *why = arena_alloc(a, 80), ip[INET6_ADDRSTRLEN] = "?";

	if (!md || !why)
		return NULL;
	md->weight = 0;
	if (d->agent_len)
		inet_ntop(d->agent_len == 4 ? AF_INET : AF_INET6, d->agent, ip, sizeof(ip));
	snprintf(why, 80, "agent %s unreachable", ip);
	md->withheld = why;
	return md;
}

static L4lb__V1__IpvsService **services(struct arena *a, const struct ipvs_table *t,
					const struct ipvs_table *cand)
{
	L4lb__V1__IpvsService **v = arena_alloc(a, t->n * sizeof(*v));

	for (size_t i = 0; v && i < t->n; i++) {
		const struct ipvs_svc *s = &t->svcs[i];
		L4lb__V1__IpvsService *m = arena_alloc(a, sizeof(*m));
		size_t alen = af_len(s->key.af);

		if (!m)
			return NULL;
		l4lb__v1__ipvs_service__init(m);
		m->has_protocol = m->has_family = m->has_ip = m->has_port = 1;
		m->protocol = s->key.proto;
		m->family = alen == 4 ? L4LB__V1__FAMILY__INET : L4LB__V1__FAMILY__INET6;
		m->ip.data = (uint8_t *)s->key.addr;
		m->ip.len = alen;
		m->port = s->key.port;
		m->scheduler = (char *)s->sched;
		m->has_flags = m->has_persistence_timeout = m->has_netmask = 1;
		m->flags = s->flags;
		m->persistence_timeout = s->timeout;
		m->netmask = s->netmask;
		const struct ipvs_svc *c = cand ? ipvs_table_find(cand, &s->key) : NULL;
		size_t extra = withheld_count(s, c);

		m->dests = arena_alloc(a, (s->n_dests + extra) * sizeof(*m->dests));
		if (!m->dests)
			return NULL;
		for (size_t j = 0; j < s->n_dests; j++)
			if (!(m->dests[m->n_dests++] = dest_msg(a, &s->dests[j], alen)))
				return NULL;
		for (size_t j = 0; extra && j < c->n_dests; j++) {
			const struct ipvs_dest *d = &c->dests[j];

			if (ipvs_svc_find_dest(s, d->addr, d->port))
				continue;
			if (!(m->dests[m->n_dests++] = withheld_msg(a, d, alen)))
				return NULL;
		}
		v[i] = m;
	}
	return v;
}

/* A TCP destination or service at weight 0 that is not wanted: its
 * deletion waits for its connections to end (or the grace period). */
static int draining(const struct plan_op *op)
{
	return op->key.proto == IPPROTO_TCP &&
	       ((op->type == OP_DEL_DEST && op->dest.weight == 0) || op->type == OP_DEL_SVC);
}

int state_msg_pack(const struct ipvs_table *desired, const struct ipvs_table *cand,
		   const struct ipvs_table *kernel, const struct plan *pending, uint64_t vip_gen,
		   uint64_t reach_gen,
		   struct ipc_buf *out)
{
	struct arena a = { 0 };
	L4lb__V1__IpvsState st;
	Envelope env;
	int rc;

	l4lb__v1__ipvs_state__init(&st);
	l4lb__v1__envelope__init(&env);
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__IPVS_STATE;
	env.ipvs_state = &st;
	st.has_vip_generation = st.has_reach_generation = 1;
	st.vip_generation = vip_gen;
	st.reach_generation = reach_gen;
	if (desired) {
		st.desired = services(&a, desired, cand);
		st.n_desired = st.desired ? desired->n : 0;
	}
	if (kernel) {
		st.kernel = services(&a, kernel, NULL);
		st.n_kernel = st.kernel ? kernel->n : 0;
	}
	st.pending = arena_alloc(&a, pending->n * sizeof(*st.pending));
	for (size_t i = 0; st.pending && i < pending->n; i++) {
		L4lb__V1__IpvsChange *c = arena_alloc(&a, sizeof(*c));
		char *obj = arena_alloc(&a, 160);

		if (!c || !obj)
			break;
		l4lb__v1__ipvs_change__init(c);
		c->action = (char *)plan_op_action(pending->ops[i].type);
		plan_op_format(&pending->ops[i], obj, 160);
		if (draining(&pending->ops[i]))
			strncat(obj, " (draining)", 160 - strlen(obj) - 1);
		/* the object is the line without its action word */
		c->object = strchr(obj, ' ') ? strchr(obj, ' ') + 1 : obj;
		st.pending[i] = c;
		st.n_pending = i + 1;
	}
	rc = a.err ? a.err : envelope_pack(&env, out);
	arena_free(&a);
	return rc;
}
