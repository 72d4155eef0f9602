// SPDX-License-Identifier: Apache-2.0
/* model → VIP table, following every rule of vip-discovery.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/counters.h"
#include "vipd/intern.h"
#include "vipd/named_set.h"
#include "vipd/named_vip.h"
#include "vipd/ptrmap.h"
#include "vipd/rules.h"

int vip_label_parse(const char *value, struct vip_label *out, const char **why)
{
	const char *colon = strrchr(value, ':');
	size_t hlen;
	char *end;
	long port;

	memset(out, 0, sizeof(*out));
	if (!colon) {
		*why = "no ':port'";
		return -EINVAL;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || errno || port < 1 || port > 65535) {
		*why = "port not in 1..65535";
		return -EINVAL;
	}
	out->port = (uint16_t)port;
	hlen = (size_t)(colon - value);
	if (!hlen) {
		*why = "empty name";
		return -EINVAL;
	}
	out->family = (uint8_t)vip_ip_parse(value, hlen, out->ip);
	if (out->family)
		return 0;
	if (hlen >= sizeof(out->host)) {
		*why = "name too long";
		return -EINVAL;
	}
	memcpy(out->host, value, hlen);
	out->host[hlen] = '\0';
	return 0;
}

static uint8_t weight_of(const struct task *t)
{
	if (t->state == TS_KILLING)
		return 0;
	if (t->healthy == 0 || (t->has_health_check && t->healthy < 0))
		return 0;
	return 1;
}

static const struct port_mapping *find_map(const struct task *t, uint8_t proto, int by_host,
					   uint16_t port)
{
	uint8_t bit = proto == VIP_UDP ? 2 : 1;
	const struct port_mapping *lists[2] = { t->maps, t->smaps };
	size_t ns[2] = { t->nmaps, t->nsmaps };

	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < ns[l]; i++) {
			const struct port_mapping *pm = &lists[l][i];

			if (!(pm->protos & bit))
				continue;
			if ((by_host ? pm->host_port : pm->container_port) == port)
				return pm;
		}
	return NULL;
}

/* A task uses host networking when it has no addresses of its own. */
static int host_networked(const struct task *t, const struct agent *a)
{
	for (size_t i = 0; i < t->nips; i++)
		if (t->ips[i].family != 4 || memcmp(t->ips[i].ip, a->ip, 4))
			return 0;
	return 1;
}

/* The backends of one VIP port of a task, into out (up to max). */
static size_t port_backends(const struct task *t, const struct agent *a, const struct vip_port *p,
			    uint8_t weight, struct backend *out, size_t max)
{
	const struct port_mapping *pm;
	uint16_t host_port = 0, cport = 0;
	size_t n = 0;

	if (p->host_scope) {
		host_port = p->number;
		pm = find_map(t, p->proto, 1, p->number);
		cport = pm ? pm->container_port : 0;
	} else if ((pm = find_map(t, p->proto, 0, p->number))) {
		host_port = pm->host_port;
		cport = p->number;
	} else if (host_networked(t, a)) {
		host_port = p->number;
	}
	if (host_port) {
		struct backend *b = &out[n++];

		memset(b, 0, sizeof(*b));
		b->family = 4;
		memcpy(b->ip, a->ip, 4);
		b->port = host_port;
		memcpy(b->agent_ip, a->ip, 4);
		b->weight = weight;
		/* On the task's own node IPVS skips the mapping's DNAT (dcos#2459). */
		for (size_t i = 0; cport && i < t->nips; i++) {
			if (t->ips[i].family == 4 && !memcmp(t->ips[i].ip, a->ip, 4))
				continue;
			b->task_family = t->ips[i].family;
			memcpy(b->task_ip, t->ips[i].ip, 16);
			b->task_port = cport;
			break;
		}
		return n;
	}
	for (size_t i = 0; i < t->nips && n < max; i++) {
		struct backend *b = &out[n++];

		memset(b, 0, sizeof(*b));
		b->family = t->ips[i].family;
		memcpy(b->ip, t->ips[i].ip, 16);
		b->port = p->number;
		memcpy(b->agent_ip, a->ip, 4);
		b->weight = weight;
	}
	return n;
}

/* Named VIPs are collected per (protocol, name, port) and split by family. */
struct named {
	uint8_t proto;
	uint16_t port;
	char *name;
	struct vip *v4, *v6; /* index + 1 of its VIPs in the table being built */
};

struct build {
	struct vip_table *out;
	struct strmap ipvips; /* key → index in out */
	struct strmap named;  /* key → struct named */
	struct strmap names;  /* distinct names → 1 */
	/* By interned pointers (ids, labels): what each task would otherwise
	 * look up by string or parse again (100,000 tasks, 10,000 labels). */
	struct ptrmap cache;
	int full; /* rules_build (not one task's VIPs) */
};

/* The cache's tags; the protocol goes above them. */
enum { C_AGENT = 1, C_FW, C_IPVIP, C_NAMED };

/*
 * Room for the backends its label's ports will bring, at once, instead of
 * doubling the array up to them (which leaves the smaller arrays behind as
 * holes in the heap). The label's references count its task ports (and
 * those of a reply being parsed meanwhile, if any: a hint, not a bound).
 * Only for a full build: one task's VIPs (rules_task_vips) need no room.
 */
static void reserve(struct build *bd, struct vip *v, const char *label)
{
	size_t n = bd->full ? intern_refs(label) : 0;

	if (n > v->capb)
		array_grow((void **)&v->b, &v->capb, n, sizeof(*v->b), n);
}

/* A model map's value under an interned key, through the cache. */
static void *lookup(struct build *bd, uintptr_t tag, const char *key, const struct strmap *map)
{
	void *v = ptrmap_get(&bd->cache, key, NULL, tag);

	/* (not cached when out of memory: only slower) */
	if (!v && (v = strmap_get(map, key)))
		ptrmap_put(&bd->cache, key, NULL, tag, v);
	return v;
}

static struct vip *ip_vip(struct build *bd, uint8_t proto, const struct vip_label *l)
{
	static const char hex[] = "0123456789abcdef";
	char key[64], *k = key;
	void *v;
	int err;

	/* protocol, port, address in hex: built by hand, it is per backend */
	*k++ = proto == VIP_UDP ? 'u' : 't';
	for (int s = 12; s >= 0; s -= 4)
		*k++ = hex[(l->port >> s) & 15];
	*k++ = '/';
	for (int i = 0; i < vip_ip_len(l->family); i++) {
		*k++ = hex[l->ip[i] >> 4];
		*k++ = hex[l->ip[i] & 15];
	}
	*k = '\0';
	v = strmap_get(&bd->ipvips, key);
	if (v)
		return &bd->out->v[(size_t)v - 1];
	if (!vip_table_add(bd->out, proto, l->family, l->ip, l->port, NULL))
		return NULL;
	strmap_put(&bd->ipvips, key, (void *)bd->out->n, &err);
	return err ? NULL : &bd->out->v[bd->out->n - 1];
}

static struct named *named_get(struct build *bd, uint8_t proto, uint16_t port, const char *name)
{
	char key[600];
	struct named *nv;
	size_t nl = strlen(name);
	int err;

	/* protocol, port in hex, then the name: built by hand, it is per task */
	static const char hex[] = "0123456789abcdef";

	key[0] = proto == VIP_UDP ? 'u' : 't';
	key[1] = hex[port >> 12];
	key[2] = hex[(port >> 8) & 15];
	key[3] = hex[(port >> 4) & 15];
	key[4] = hex[port & 15];
	key[5] = '/';
	if (nl > sizeof(key) - 7)
		nl = sizeof(key) - 7;
	memcpy(key + 6, name, nl);
	key[6 + nl] = '\0';
	nv = strmap_get(&bd->named, key);
	if (nv)
		return nv;
	nv = calloc(1, sizeof(*nv));
	if (!nv || !(nv->name = strdup(name))) {
		free(nv);
		return NULL;
	}
	nv->proto = proto;
	nv->port = port;
	strmap_put(&bd->named, key, nv, &err);
	if (!err)
		strmap_put(&bd->names, name, (void *)1, &err);
	if (err) {
		free(nv->name);
		free(nv);
		return NULL;
	}
	return nv;
}

static void named_free(void *p)
{
	struct named *nv = p;

	if (nv)
		free(nv->name);
	free(nv);
}

/* Backends of an IP VIP's family into the VIP at index idx - 1 (0: not
 * made yet, l says which); returns that index, 0 if none, -ENOMEM. */
static long add_ip(struct build *bd, const struct vip_port *p, const struct vip_label *l,
		   size_t idx, uint8_t family, const struct backend *bs, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		struct vip *v;

		if (bs[i].family != family)
			continue; /* an IP VIP takes its own family only */
		if (!idx) {
			if (!(v = ip_vip(bd, p->proto, l)))
				return -ENOMEM;
			reserve(bd, v, p->label);
			idx = (size_t)(v - bd->out->v) + 1;
		}
		v = &bd->out->v[idx - 1];
		if (vip_add_backend(v, &bs[i]) < 0 || vip_add_label(v, p->label) < 0)
			return -ENOMEM;
	}
	return (long)idx;
}

static int add_named(struct build *bd, struct named *nv, const struct vip_port *p,
		     const struct backend *bs, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		struct vip **vp = bs[i].family == 6 ? &nv->v6 : &nv->v4;

		if (!*vp) {
			/* Addressed later, once every name is known. */
			struct vip *sv = vip_table_add(bd->out, p->proto, bs[i].family, NULL,
						       nv->port, nv->name);
			if (!sv)
				return -ENOMEM;
			reserve(bd, sv, p->label);
			*vp = (struct vip *)(uintptr_t)bd->out->n; /* index + 1 */
		}
		struct vip *v = &bd->out->v[(uintptr_t)*vp - 1];

		if (vip_add_backend(v, &bs[i]) < 0 || vip_add_label(v, p->label) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_task_port(struct build *bd, const struct task *t, const struct agent *a,
			 const char *fwname, const struct vip_port *p, uint8_t weight)
{
	uintptr_t ip_tag = C_IPVIP | (uintptr_t)p->proto << 4;
	uintptr_t name_tag = C_NAMED | (uintptr_t)p->proto << 4;
	struct backend bs[16];
	struct vip_label l;
	const char *why;
	struct named *nv;
	char name[512];
	void *hit;
	long idx;
	size_t nb = port_backends(t, a, p, weight, bs, 16);

	/* A label seen before (and valid): neither parsed nor named again. */
	if ((nv = ptrmap_get(&bd->cache, p->label, fwname, name_tag)))
		return add_named(bd, nv, p, bs, nb);
	if ((hit = ptrmap_get(&bd->cache, p->label, NULL, ip_tag))) {
		idx = (long)(uintptr_t)hit;
		return add_ip(bd, p, NULL, (size_t)idx, bd->out->v[idx - 1].family, bs, nb) < 0 ?
		       -ENOMEM : 0;
	}
	if (vip_label_parse(p->label, &l, &why) < 0) {
		report_bad_input("vip_label", "task %s: VIP label '%s': %s", t->id, p->label, why);
		return 0;
	}
	if (l.family) {
		if ((idx = add_ip(bd, p, &l, 0, l.family, bs, nb)) < 0)
			return -ENOMEM;
		if (idx)
			ptrmap_put(&bd->cache, p->label, NULL, ip_tag, (void *)(uintptr_t)idx);
		return 0;
	}
	if (named_vip_name(l.host, fwname, name, sizeof(name)) < 0) {
		report_bad_input("vip_name", "task %s: no DNS name from '%s' and framework '%s'",
				 t->id, l.host, fwname);
		return 0;
	}
	if (!nb)
		return 0;
	if (!(nv = named_get(bd, p->proto, l.port, name)))
		return -ENOMEM;
	ptrmap_put(&bd->cache, p->label, fwname, name_tag, nv);
	return add_named(bd, nv, p, bs, nb);
}

static int copy_vip(struct vip_table *out, const struct vip *v, const uint8_t *ip)
{
	struct vip *n = vip_table_add(out, v->proto, v->family, ip, v->port, v->name);

	if (!n)
		return -ENOMEM;
	n->pinned = 1; /* static: not the tasks' to change */
	for (size_t i = 0; i < v->nb; i++)
		if (vip_add_backend(n, &v->b[i]) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < v->nlabels; i++)
		if (vip_add_label(n, v->labels[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* Addresses every named VIP; the names stay with the table (incr.c). */
static int place_named(struct build *bd, uint32_t min, uint32_t max)
{
	size_t n = bd->names.n, k = 0, i = 0;
	const char **names = calloc(n ? n : 1, sizeof(char *));
	struct named_set *s = named_set_new(min, max);
	const char *key;
	void *v;
	int rc = -ENOMEM;

	if (!names || !s)
		goto done;
	while (strmap_next(&bd->names, &i, &key, NULL))
		names[k++] = key;
	if ((rc = named_set_build(s, names, n)) < 0)
		goto done;
	i = 0;
	while (strmap_next(&bd->named, &i, NULL, &v)) {
		struct named *nv = v;
		const struct named_entry *e = named_set_get(s, nv->name);

		if (nv->v4)
			named_entry_ip(e->addr4, e->addr6, 4, bd->out->v[(uintptr_t)nv->v4 - 1].ip);
		if (nv->v6)
			named_entry_ip(e->addr4, e->addr6, 6, bd->out->v[(uintptr_t)nv->v6 - 1].ip);
	}
	bd->out->names = s;
	s = NULL;
done:
	free(names);
	named_set_free(s);
	return rc;
}

/* One task's VIPs into bd (named ones not yet addressed); 0 or -ENOMEM. */
static int add_task(struct build *bd, const struct model *m, const struct task_rec *r,
		    struct rules_stats *s)
{
	const char *aid, *fid, *fw;
	const struct agent *a;
	struct task_view v;
	uint8_t w;

	s->tasks++;
	if (r->state != TS_RUNNING && r->state != TS_KILLING)
		return 0;
	aid = intern_at(r->agent);
	fid = intern_at(r->framework);
	a = aid ? lookup(bd, C_AGENT, aid, &m->agents) : NULL;
	fw = fid ? lookup(bd, C_FW, fid, &m->frameworks) : NULL;
	if (!a || !fw) {
		s->held++; /* held until its agent and framework are known */
		return 0;
	}
	if (!a->has_ip) {
		report_bad_input("agent_hostname", "agent %s: hostname '%s' is no IPv4 address "
				 "and its pid gives none; its tasks are held", aid, a->hostname);
		s->held++;
		return 0;
	}
	s->live++;
	task_rec_view(r, &v);
	w = weight_of(&v.t);
	for (size_t p = 0; p < v.t.nports; p++)
		if (add_task_port(bd, &v.t, a, fw, &v.t.ports[p], w) < 0)
			return -ENOMEM;
	return 0;
}

static void build_clear(struct build *bd)
{
	strmap_clear(&bd->ipvips, NULL);
	strmap_clear(&bd->named, named_free);
	strmap_clear(&bd->names, NULL);
	ptrmap_clear(&bd->cache);
}

struct vip_table *rules_build(const struct model *m, const struct vip_table *extra,
			      uint32_t vip4_min, uint32_t vip4_max, struct rules_stats *st)
{
	struct build bd = { 0 };
	struct rules_stats s = { 0 };
	void *v;
	size_t i = 0;
	int ok = 0;

	bd.out = vip_table_new();
	if (!bd.out)
		goto done;
	bd.full = 1;
	while (m && strmap_next(&m->tasks, &i, NULL, &v)) {
		/* Tasks lie in the heap in no order the map's slots follow: load
		 * the one a few slots ahead (its struct and ports) meanwhile. */
		const char *ahead = strmap_slot_val(&m->tasks, i + 8);

		if (ahead) {
			__builtin_prefetch(ahead);
			__builtin_prefetch(ahead + 64);
			__builtin_prefetch(ahead + 128);
		}
		if (add_task(&bd, m, v, &s) < 0)
			goto done;
	}
	if (place_named(&bd, vip4_min, vip4_max) < 0)
		goto done;
	for (size_t k = 0; extra && k < extra->n; k++)
		if (copy_vip(bd.out, &extra->v[k], extra->v[k].ip) < 0)
			goto done;
	vip_table_sort(bd.out);
	s.backends = vip_table_backends(bd.out);
	ok = 1;
done:
	build_clear(&bd);
	if (!ok) {
		vip_table_free(bd.out);
		return NULL;
	}
	if (st)
		*st = s;
	return bd.out;
}

struct vip_table *rules_task_vips(const struct model *m, const struct task_rec *t, int *held)
{
	struct build bd = { 0 };
	struct rules_stats s = { 0 };

	*held = 0;
	if (!(bd.out = vip_table_new()))
		return NULL;
	if (t && add_task(&bd, m, t, &s) < 0) {
		vip_table_free(bd.out);
		bd.out = NULL;
	}
	build_clear(&bd);
	*held = s.held > 0;
	return bd.out;
}
