// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/plan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	return array_grow(p, cap, need, elem, 8);
}

int key_set_add(struct key_set *s, const struct svc_key *k)
{
	if (grow((void **)&s->k, &s->cap, s->n + 1, sizeof(*s->k)) < 0)
		return -ENOMEM;
	s->k[s->n++] = *k;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return svc_key_cmp(a, b);
}

int key_set_insert(struct key_set *s, const struct svc_key *k)
{
	size_t lo = 0, hi = s->n;

	/* plans add keys in sorted order: the common case appends */
	if (s->n && svc_key_cmp(&s->k[s->n - 1], k) < 0)
		lo = hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (svc_key_cmp(&s->k[mid], k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n && svc_key_cmp(&s->k[lo], k) == 0)
		return 0;
	if (grow((void **)&s->k, &s->cap, s->n + 1, sizeof(*s->k)) < 0)
		return -ENOMEM;
	memmove(&s->k[lo + 1], &s->k[lo], (s->n - lo) * sizeof(*s->k));
	s->k[lo] = *k;
	s->n++;
	return 0;
}

void key_set_sort(struct key_set *s)
{
	size_t o = 0;

	if (s->n < 2)
		return; /* nothing to sort (and qsort must not see a NULL array) */
	qsort(s->k, s->n, sizeof(*s->k), key_cmp);
	for (size_t i = 0; i < s->n; i++)
		if (!o || svc_key_cmp(&s->k[o - 1], &s->k[i]) != 0)
			s->k[o++] = s->k[i];
	s->n = o;
}

int key_set_has(const struct key_set *s, const struct svc_key *k)
{
	return s->n && bsearch(k, s->k, s->n, sizeof(*k), key_cmp) != NULL;
}

void key_set_remove(struct key_set *s, const struct svc_key *k)
{
	struct svc_key *f = s->n ? bsearch(k, s->k, s->n, sizeof(*k), key_cmp) : NULL;

	if (!f)
		return;
	memmove(f, f + 1, (s->n - (size_t)(f - s->k) - 1) * sizeof(*f));
	s->n--;
}

void key_set_clear(struct key_set *s)
{
	free(s->k);
	memset(s, 0, sizeof(*s));
}

int vip_range_parse(const char *s, struct vip_range *r)
{
	char buf[64], *slash;
	unsigned long plen;
	char *end;

	memset(r, 0, sizeof(*r));
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, r->addr) == 1)
		r->af = AF_INET;
	else if (inet_pton(AF_INET6, buf, r->addr) == 1)
		r->af = AF_INET6;
	else
		return -EINVAL;
	plen = r->af == AF_INET ? 32 : 128;
	if (slash) {
		plen = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || plen > (r->af == AF_INET ? 32u : 128u))
			return -EINVAL;
	}
	r->plen = (uint8_t)plen;
	return 0;
}

static int range_contains(const struct vip_range *r, int af, const uint8_t *a)
{
	unsigned full = r->plen / 8, rest = r->plen % 8;

	if (r->af != af || memcmp(r->addr, a, full) != 0)
		return 0;
	if (!rest)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (r->addr[full] & mask) == (a[full] & mask);
}

int owned_in_ranges(const struct owned *o, const struct svc_key *k)
{
	for (size_t i = 0; i < o->n; i++)
		if (range_contains(&o->ranges[i], k->af, k->addr))
			return 1;
	return 0;
}

int owned_contains(const struct owned *o, const struct svc_key *k)
{
	return owned_in_ranges(o, k) || (o->prev && ipvs_table_find(o->prev, k) != NULL) ||
	       (o->recorded && key_set_has(o->recorded, k));
}

int owned_addr(const struct owned *o, const struct svc_key *a)
{
	if (owned_in_ranges(o, a))
		return 1;
	for (size_t i = 0; o->prev && i < o->prev->n; i++) {
		const struct svc_key *k = &o->prev->svcs[i].key;

		if (k->af == a->af && !memcmp(k->addr, a->addr, af_len(a->af)))
			return 1;
	}
	for (size_t i = 0; o->recorded && i < o->recorded->n; i++) {
		const struct svc_key *k = &o->recorded->k[i];

		if (k->af == a->af && !memcmp(k->addr, a->addr, af_len(a->af)))
			return 1;
	}
	return 0;
}

void drains_clear(struct drains *d)
{
	free(d->d);
	memset(d, 0, sizeof(*d));
}

static int drain_cmp_at(const struct svc_key *k, const uint8_t *addr, uint16_t port,
			const struct drain *x)
{
	int c = svc_key_cmp(k, &x->key);

	if (c)
		return c;
	if ((c = memcmp(addr, x->addr, 16)))
		return c;
	return port < x->port ? -1 : port > x->port;
}

static int drain_cmp(const void *a, const void *b)
{
	const struct drain *x = a;

	return drain_cmp_at(&x->key, x->addr, x->port, b);
}

/* The first drain of d[0..n) not before service k (all of k's follow). */
static size_t drains_lower(const struct drain *d, size_t n, const struct svc_key *k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (svc_key_cmp(&d[mid].key, k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct drain *drains_find(const struct drains *ds, const struct svc_key *k, const uint8_t *addr,
			  uint16_t port)
{
	size_t lo = 0, hi = ds->sorted < ds->n ? ds->sorted : ds->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = drain_cmp_at(k, addr, port, &ds->d[mid]);

		if (c == 0)
			return &ds->d[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* A drain of this plan: found, or appended after the sorted ones (each
 * destination is stepped once per plan, so appended ones need no lookup). */
static struct drain *drain_start(struct drains *ds, const struct svc_key *k,
				 const struct ipvs_dest *d, uint64_t now)
{
	struct drain *x = drains_find(ds, k, d->addr, d->port);

	if (x)
		return x;
	if (grow((void **)&ds->d, &ds->cap, ds->n + 1, sizeof(*ds->d)) < 0)
		return NULL;
	x = &ds->d[ds->n++];
	memset(x, 0, sizeof(*x));
	x->key = *k;
	memcpy(x->addr, d->addr, 16);
	x->port = d->port;
	x->since_ms = now;
	return x;
}

/* Merges the sorted runs a[0..na) and b[0..nb) into out (room for both);
 * of two drains of one destination the one of a (the older) is kept.
 * Returns the count. */
static size_t drains_merge(const struct drain *a, size_t na, const struct drain *b, size_t nb,
			   struct drain *out)
{
	size_t i = 0, j = 0, o = 0;

	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : drain_cmp(&a[i], &b[j]);

		if (c <= 0) {
			j += c == 0;
			out[o++] = a[i++];
		} else {
			out[o++] = b[j++];
		}
	}
	return o;
}

/* The end of a plan: drains that ended (not seen) go, those it started are
 * merged in. O(n + started log started). */
static void drains_settle(struct drains *ds)
{
	size_t sorted = ds->sorted < ds->n ? ds->sorted : ds->n, o = 0, tail;
	struct drain *m;

	for (size_t i = 0; i < ds->n; i++) {
		if (i == sorted)
			sorted = o; /* the kept old ones end here */
		if (ds->d[i].seen)
			ds->d[o++] = ds->d[i];
	}
	if (sorted > o)
		sorted = o;
	ds->n = o;
	tail = ds->n - sorted;
	if (tail == 0)
		goto done;
	qsort(ds->d + sorted, tail, sizeof(*ds->d), drain_cmp);
	if (sorted == 0 || drain_cmp(&ds->d[sorted - 1], &ds->d[sorted]) < 0)
		goto done; /* already in order: all new ones come after */
	m = malloc(ds->n * sizeof(*m));
	if (!m) { /* no room to merge: sorting in place does it too */
		qsort(ds->d, ds->n, sizeof(*ds->d), drain_cmp);
		goto done;
	}
	ds->n = drains_merge(ds->d, sorted, ds->d + sorted, tail, m);
	free(ds->d);
	ds->d = m;
	ds->cap = tail + sorted;
done:
	ds->sorted = ds->n;
}

/* Does the service range d[i..end) need a look? 2: its counters (a drain
 * that is not withheld), 1: only a grace period ended, 0: no. */
static int range_look(const struct drain *d, size_t i, size_t end, uint64_t now,
		      uint64_t grace)
{
	int look = 0;

	for (; i < end; i++) {
		if (!d[i].withheld)
			return 2;
		if (now - d[i].since_ms >= grace)
			look = 1;
	}
	return look;
}

size_t drains_pick(const struct drains *ds, struct svc_key *cursor, uint64_t now_ms,
		   uint64_t grace_ms, struct svc_key *out, uint8_t *dump, size_t max,
		   size_t *looks)
{
	size_t n = ds->n, start, got = 0, i;
	struct svc_key last = *cursor;

	*looks = 0;
	/* the first service after the cursor */
	start = drains_lower(ds->d, n, cursor);
	while (start < n && !svc_key_cmp(&ds->d[start].key, cursor))
		start++;
	/* every service once, from start round to start */
	for (size_t seen = 0; seen < n;) {
		size_t end;
		int look;

		i = (start + seen) % n;
		for (end = i + 1; end < n && !svc_key_cmp(&ds->d[end].key, &ds->d[i].key); end++)
			;
		seen += end - i;
		if (!(look = range_look(ds->d, i, end, now_ms, grace_ms)))
			continue;
		(*looks)++;
		if (got == max)
			continue; /* counted, its turn comes later */
		out[got] = ds->d[i].key;
		dump[got++] = look == 2;
		last = ds->d[i].key;
	}
	*cursor = last;
	return got;
}

unsigned drains_tick_ms(size_t looks, size_t max)
{
	size_t ticks;

	if (looks == 0)
		return 1000;
	ticks = (looks + max - 1) / max;
	return ticks >= 4 ? 1000 : (unsigned)ticks * 250;
}

void plan_clear(struct plan *p)
{
	p->n = 0;
}

void plan_free_ops(struct plan *p)
{
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

static int emit(struct plan *p, enum plan_op_type t, const struct svc_key *k,
		const struct ipvs_dest *d, const char *sched)
{
	struct plan_op *op;

	if (grow((void **)&p->ops, &p->cap, p->n + 1, sizeof(*p->ops)) < 0)
		return -ENOMEM;
	op = &p->ops[p->n++];
	memset(op, 0, sizeof(*op));
	op->type = t;
	op->key = *k;
	if (d) {
		op->dest = *d;
		op->dest.active = op->dest.inactive = 0;
	}
	if (sched)
		snprintf(op->sched, sizeof(op->sched), "%s", sched);
	return 0;
}

static struct svc_key addr_key(const struct svc_key *k)
{
	struct svc_key a = { .af = k->af };

	memcpy(a.addr, k->addr, 16);
	return a;
}

/* Step 1: services and destinations that must exist, with their weights. */
static int plan_adds(const struct plan_input *in, struct plan *p)
{
	for (size_t i = 0; i < in->desired->n; i++) {
		const struct ipvs_svc *ds = &in->desired->svcs[i];
		const struct ipvs_svc *ks = ipvs_table_find(in->kernel, &ds->key);

		if (!ks) {
			if (emit(p, OP_ADD_SVC, &ds->key, NULL, ds->sched) < 0)
				return -ENOMEM;
		} else if (!ipvs_svc_same_def(ks, ds)) {
			/* scheduler, persistence, flags: ipvsd owns the whole
			 * definition; a SET_SERVICE writes all of it */
			if (emit(p, OP_SET_SVC, &ds->key, NULL, ds->sched) < 0)
				return -ENOMEM;
		}
		for (size_t j = 0; j < ds->n_dests; j++) {
			const struct ipvs_dest *dd = &ds->dests[j];
			const struct ipvs_dest *kd =
				ks ? ipvs_svc_find_dest(ks, dd->addr, dd->port) : NULL;
			int rc = 0;

			/* never trust a weight found in the kernel */
			if (!kd)
				rc = emit(p, OP_ADD_DEST, &ds->key, dd, NULL);
			else if (kd->weight != dd->weight || kd->fwd != dd->fwd)
				rc = emit(p, OP_SET_DEST, &ds->key, dd, NULL);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Step 2 and 3: ipset members and addresses. `draining`: removed services
 * still draining, whose address and member stay until they are deleted —
 * without the local address the kernel no longer delivers (or, from the
 * node itself, even routes) their established connections to IPVS. */
static int plan_keys(const struct plan_input *in, struct plan *p, int add,
		     const struct key_set *draining)
{
	struct key_set want_addrs = { 0 };
	int rc = 0;

	for (size_t i = 0; i < in->desired->n; i++) {
		struct svc_key a = addr_key(&in->desired->svcs[i].key);

		if ((rc = key_set_add(&want_addrs, &a)) < 0)
			goto done;
	}
	for (size_t i = 0; draining && i < draining->n; i++) {
		struct svc_key a = addr_key(&draining->k[i]);

		if ((rc = key_set_add(&want_addrs, &a)) < 0)
			goto done;
	}
	key_set_sort(&want_addrs);
	if (add) {
		for (size_t i = 0; i < in->desired->n && !rc; i++) {
			const struct svc_key *k = &in->desired->svcs[i].key;

			if (!key_set_has(in->members, k))
				rc = emit(p, OP_ADD_MEMBER, k, NULL, NULL);
		}
		for (size_t i = 0; i < want_addrs.n && !rc; i++)
			if (!key_set_has(in->addrs, &want_addrs.k[i]))
				rc = emit(p, OP_ADD_ADDR, &want_addrs.k[i], NULL, NULL);
	} else {
		/* the sets are ipvsd's own: any other member goes; but an address
		 * goes only if ipvsd put it there (the interface may carry the
		 * operator's own addresses, see --any-interface) */
		for (size_t i = 0; i < in->addrs->n && !rc; i++)
			if (!key_set_has(&want_addrs, &in->addrs->k[i]) &&
			    owned_addr(in->owned, &in->addrs->k[i]))
				rc = emit(p, OP_DEL_ADDR, &in->addrs->k[i], NULL, NULL);
		for (size_t i = 0; i < in->members->n && !rc; i++)
			if (!ipvs_table_find(in->desired, &in->members->k[i]) &&
			    !key_set_has(draining, &in->members->k[i]))
				rc = emit(p, OP_DEL_MEMBER, &in->members->k[i], NULL, NULL);
	}
done:
	key_set_clear(&want_addrs);
	return rc;
}

/* One look at a TCP destination being drained: weight 0 first (no new
 * connection, the established ones go on), then it is done once it has no
 * established connections or the grace period ended. 1 when done, 0 while
 * it drains, or -errno. */
static int drain_step(const struct plan_input *in, struct plan *p, const struct ipvs_svc *ks,
		      const struct ipvs_dest *kd, struct drain **out)
{
	struct drain *dr = drain_start(in->drains, &ks->key, kd, in->now_ms);
	const struct ipvs_svc *cs;
	int rc;

	if (!dr)
		return -ENOMEM;
	*out = dr;
	dr->seen = 1;
	cs = in->cand ? ipvs_table_find(in->cand, &ks->key) : NULL;
	dr->withheld = cs && ipvs_svc_find_dest(cs, kd->addr, kd->port);
	if (kd->weight != 0) {
		struct ipvs_dest z = *kd;

		z.weight = 0;
		rc = emit(p, OP_SET_DEST, &ks->key, &z, NULL);
		return rc < 0 ? rc : 0;
	}
	/* closing connections (InActConn: FIN_WAIT, TIME_WAIT for up to 2 min)
	 * do not hold a drain: only established ones count */
	return (in->counters_fresh && kd->active == 0) ||
	       in->now_ms - dr->since_ms >= in->grace_ms;
}

/* Step 4: a destination no longer wanted in a service that stays. */
static int plan_remove_dest(const struct plan_input *in, struct plan *p,
			    const struct ipvs_svc *ks, const struct ipvs_dest *kd)
{
	struct drain *dr;
	int rc;

	if (ks->key.proto == IPPROTO_UDP) /* UDP has no connections to drain */
		return emit(p, OP_DEL_DEST, &ks->key, kd, NULL);
	if ((rc = drain_step(in, p, ks, kd, &dr)) <= 0)
		return rc;
	dr->seen = 0; /* deleted: its drain is over */
	return emit(p, OP_DEL_DEST, &ks->key, kd, NULL);
}

/* Step 5: a whole service no longer wanted. TCP is drained like a removed
 * destination — every weight 0: no new connection, the established ones go
 * on, its address stays (added to `draining`) — and deleted once none of its
 * destinations has established connections or the grace period ended, just
 * after its address. UDP goes at once. */
static int plan_remove_svc(const struct plan_input *in, struct plan *p, const struct ipvs_svc *ks,
			   struct key_set *draining)
{
	struct drains *ds = in->drains;
	size_t started = ds->n, i;
	struct drain *dr;
	int idle = 1, rc;

	for (size_t j = 0; ks->key.proto == IPPROTO_TCP && j < ks->n_dests; j++) {
		if ((rc = drain_step(in, p, ks, &ks->dests[j], &dr)) < 0)
			return rc;
		if (rc == 0)
			idle = 0;
	}
	if (!idle)
		return key_set_add(draining, &ks->key);
	/* its drains end with it: the old ones, and those just started */
	for (i = drains_lower(ds->d, ds->sorted, &ks->key);
	     i < ds->sorted && !svc_key_cmp(&ds->d[i].key, &ks->key); i++)
		ds->d[i].seen = 0;
	for (i = started; i < ds->n; i++)
		ds->d[i].seen = 0;
	return emit(p, OP_DEL_SVC, &ks->key, NULL, NULL);
}

/* Step 5 for every owned service no longer wanted: decided before step 3
 * (which keeps the addresses of those still draining), its ops into p5. */
static int plan_removed_svcs(const struct plan_input *in, struct plan *p5,
			     struct key_set *draining)
{
	int rc;

	for (size_t i = 0; i < in->kernel->n; i++) {
		const struct ipvs_svc *ks = &in->kernel->svcs[i];

		if (ipvs_table_find(in->desired, &ks->key) || !owned_contains(in->owned, &ks->key))
			continue;
		if ((rc = plan_remove_svc(in, p5, ks, draining)) < 0)
			return rc;
	}
	key_set_sort(draining);
	return 0;
}

/* Step 4. */
static int plan_removals(const struct plan_input *in, struct plan *p)
{
	int rc;

	for (size_t i = 0; i < in->kernel->n; i++) {
		const struct ipvs_svc *ks = &in->kernel->svcs[i];
		const struct ipvs_svc *ds = ipvs_table_find(in->desired, &ks->key);

		if (!ds)
			continue;
		for (size_t j = 0; j < ks->n_dests; j++) {
			const struct ipvs_dest *kd = &ks->dests[j];

			if (ipvs_svc_find_dest(ds, kd->addr, kd->port))
				continue;
			if ((rc = plan_remove_dest(in, p, ks, kd)) < 0)
				return rc;
		}
	}
	return 0;
}

int plan_build(const struct plan_input *in, struct plan *p)
{
	struct plan p5 = { 0 };
	struct key_set draining = { 0 };
	int rc;

	plan_clear(p);
	in->drains->sorted = in->drains->n;
	for (size_t i = 0; i < in->drains->n; i++)
		in->drains->d[i].seen = 0; /* steps 4 and 5 mark those still on */
	if ((rc = plan_adds(in, p)) < 0 || (rc = plan_keys(in, p, 1, NULL)) < 0 ||
	    (rc = plan_removed_svcs(in, &p5, &draining)) < 0 ||
	    (rc = plan_keys(in, p, 0, &draining)) < 0 || (rc = plan_removals(in, p)) < 0)
		goto done;
	for (size_t i = 0; i < p5.n && rc == 0; i++)
		rc = emit(p, p5.ops[i].type, &p5.ops[i].key, &p5.ops[i].dest, NULL);
done:
	/* drains that ended (deleted, or the backend came back) are forgotten */
	drains_settle(in->drains);
	plan_free_ops(&p5);
	key_set_clear(&draining);
	return rc;
}

int plan_op_model(const struct plan_op *op, struct ipvs_table *kernel, struct key_set *addrs,
		  struct key_set *members)
{
	struct ipvs_svc *s = NULL;
	struct ipvs_dest *d;

	switch (op->type) {
	case OP_ADD_SVC:
	case OP_SET_SVC:
		s = ipvs_table_insert(kernel, &op->key, op->sched);
		if (!s)
			return -ENOMEM;
		snprintf(s->sched, sizeof(s->sched), "%s", op->sched);
		ipvs_svc_own_def(s);
		return 0;
	case OP_ADD_DEST:
	case OP_SET_DEST:
		s = ipvs_table_find(kernel, &op->key);
		if (!s)
			return -ENOENT;
		d = ipvs_svc_insert_dest(s, &op->dest);
		if (!d)
			return -ENOMEM;
		d->weight = op->dest.weight;
		d->fwd = op->dest.fwd;
		return 0;
	case OP_DEL_DEST:
		s = ipvs_table_find(kernel, &op->key);
		d = s ? ipvs_svc_find_dest(s, op->dest.addr, op->dest.port) : NULL;
		if (d)
			ipvs_svc_remove_dest(s, d);
		return 0;
	case OP_DEL_SVC:
		s = ipvs_table_find(kernel, &op->key);
		if (s)
			ipvs_table_remove(kernel, s);
		return 0;
	case OP_ADD_MEMBER:
	case OP_ADD_ADDR:
		return key_set_insert(op->type == OP_ADD_ADDR ? addrs : members, &op->key);
	case OP_DEL_ADDR:
		key_set_remove(addrs, &op->key);
		return 0;
	case OP_DEL_MEMBER:
		key_set_remove(members, &op->key);
		return 0;
	}
	return -EINVAL;
}

const char *plan_op_action(enum plan_op_type t)
{
	static const char *const names[] = {
		[OP_ADD_SVC] = "add-service",   [OP_SET_SVC] = "set-service",
		[OP_ADD_DEST] = "add-dest",     [OP_SET_DEST] = "set-dest",
		[OP_ADD_MEMBER] = "add-member", [OP_ADD_ADDR] = "add-address",
		[OP_DEL_ADDR] = "del-address",  [OP_DEL_MEMBER] = "del-member",
		[OP_DEL_DEST] = "del-dest",     [OP_DEL_SVC] = "del-service",
	};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

char *plan_op_format(const struct plan_op *op, char *buf, size_t size)
{
	char k[80], d[64], a[INET6_ADDRSTRLEN];

	switch (op->type) {
	case OP_ADD_SVC:
	case OP_SET_SVC:
		snprintf(buf, size, "%s %s %s", plan_op_action(op->type),
			 svc_key_format(&op->key, k, sizeof(k)), op->sched);
		break;
	case OP_ADD_DEST:
	case OP_SET_DEST:
	case OP_DEL_DEST:
		snprintf(buf, size, "%s %s -> %s weight %u", plan_op_action(op->type),
			 svc_key_format(&op->key, k, sizeof(k)),
			 addr_port_format(op->key.af, op->dest.addr, op->dest.port, d, sizeof(d)),
			 op->dest.weight);
		break;
	case OP_ADD_ADDR:
	case OP_DEL_ADDR:
		inet_ntop(op->key.af, op->key.addr, a, sizeof(a));
		snprintf(buf, size, "%s %s", plan_op_action(op->type), a);
		break;
	default:
		snprintf(buf, size, "%s %s", plan_op_action(op->type),
			 svc_key_format(&op->key, k, sizeof(k)));
		break;
	}
	return buf;
}

static int copy_svc(struct ipvs_table *to, const struct ipvs_svc *s)
{
	struct ipvs_svc *c = ipvs_table_add(to, &s->key, s->sched);

	if (!c)
		return -ENOMEM;
	c->flags = s->flags;
	c->timeout = s->timeout;
	c->netmask = s->netmask;
	for (size_t i = 0; i < s->n_dests; i++)
		if (ipvs_svc_add_dest(c, &s->dests[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* Adds to `set` every service of t on the address of k (any protocol and
 * port). */
static int expand_in(const struct ipvs_table *t, const struct svc_key *k, struct key_set *set)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	int rc = 0;

	for (size_t p = 0; p < 2 && rc == 0; p++) {
		struct svc_key lo = *k;
		size_t a = 0, b = t->n;

		lo.proto = protos[p];
		lo.port = 0;
		while (a < b) {
			size_t mid = a + (b - a) / 2;

			if (svc_key_cmp(&t->svcs[mid].key, &lo) < 0)
				a = mid + 1;
			else
				b = mid;
		}
		for (; a < t->n && rc == 0; a++) {
			const struct svc_key *d = &t->svcs[a].key;

			if (d->af != k->af || d->proto != lo.proto || memcmp(d->addr, k->addr, 16))
				break;
			rc = key_set_add(set, d);
		}
	}
	return rc;
}

/* k and every service on its address, desired or in the kernel: the
 * address stays while any of them wants it (a removed TCP service still
 * draining there included). */
static int expand(const struct plan_input *in, const struct svc_key *k, struct key_set *set)
{
	int rc = key_set_add(set, k);

	if (rc == 0)
		rc = expand_in(in->desired, k, set);
	if (rc == 0)
		rc = expand_in(in->kernel, k, set);
	return rc;
}

/* The drains of service k, searched from ds->d[from] on: ds->d[*lo..*hi). */
static void drains_range(const struct drains *ds, size_t from, const struct svc_key *k,
			 size_t *lo, size_t *hi)
{
	*lo = *hi = from + drains_lower(ds->d + from, ds->n - from, k);
	while (*hi < ds->n && !svc_key_cmp(&ds->d[*hi].key, k))
		(*hi)++;
}

/* Moves the drains of the services in set (sorted) from ds to out (empty):
 * O(set log n) to find them, O(n) only to close the gaps they leave. */
static int drains_take(struct drains *ds, const struct key_set *set, struct drains *out)
{
	size_t o = 0, from = 0, lo, hi, total = 0;

	for (size_t i = 0; i < set->n; i++) {
		drains_range(ds, 0, &set->k[i], &lo, &hi);
		total += hi - lo;
	}
	if (total == 0)
		return 0;
	if (grow((void **)&out->d, &out->cap, total, sizeof(*out->d)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < set->n; i++) {
		/* (the part before `from` is being closed up) */
		drains_range(ds, from, &set->k[i], &lo, &hi);
		if (hi == lo)
			continue;
		memcpy(out->d + out->n, ds->d + lo, (hi - lo) * sizeof(*ds->d));
		out->n += hi - lo;
		/* the kept ones before them close up */
		memmove(ds->d + o, ds->d + from, (lo - from) * sizeof(*ds->d));
		o += lo - from;
		from = hi;
	}
	memmove(ds->d + o, ds->d + from, (ds->n - from) * sizeof(*ds->d));
	ds->n = ds->sorted = o + ds->n - from;
	out->sorted = out->n;
	return 0;
}

/* Merges the (sorted) drains of from back into ds and empties from. On
 * -ENOMEM they are lost: they start again, with a new grace period, at the
 * next plan that finds their destinations still unwanted. */
static int drains_put(struct drains *ds, struct drains *from)
{
	struct drain *m;

	if (from->n == 0)
		return 0;
	m = malloc((ds->n + from->n) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	ds->n = drains_merge(ds->d, ds->n, from->d, from->n, m);
	free(ds->d);
	ds->d = m;
	ds->cap = ds->sorted = ds->n;
	from->n = 0;
	return 0;
}

int plan_build_keys(const struct plan_input *in, const struct svc_key *keys, size_t n,
		    struct plan *p)
{
	struct ipvs_table *sd = ipvs_table_new(), *sk = ipvs_table_new();
	struct key_set set = { 0 }, addrs = { 0 }, members = { 0 };
	struct drains dr = { 0 };
	struct plan_input sub = *in;
	int rc = -ENOMEM;

	if (!sd || !sk)
		goto done;
	for (size_t i = 0; i < n; i++)
		if ((rc = expand(in, &keys[i], &set)) < 0)
			goto done;
	key_set_sort(&set);
	rc = 0;
	for (size_t i = 0; i < set.n && rc == 0; i++) {
		const struct svc_key *k = &set.k[i];
		struct svc_key a = addr_key(k);
		const struct ipvs_svc *s;

		if ((s = ipvs_table_find(in->desired, k)))
			rc = copy_svc(sd, s);
		if (rc == 0 && (s = ipvs_table_find(in->kernel, k)))
			rc = copy_svc(sk, s);
		if (rc == 0 && key_set_has(in->members, k))
			rc = key_set_add(&members, k);
		if (rc == 0 && key_set_has(in->addrs, &a))
			rc = key_set_add(&addrs, &a);
	}
	if (rc < 0)
		goto done;
	key_set_sort(&addrs);
	/* the drains of these services go through the sub-plan, the others stay */
	if ((rc = drains_take(in->drains, &set, &dr)) < 0)
		goto done;
	sub.desired = sd;
	sub.kernel = sk;
	sub.addrs = &addrs;
	sub.members = &members;
	sub.drains = &dr;
	rc = plan_build(&sub, p);
	if (drains_put(in->drains, &dr) < 0)
		rc = -ENOMEM;
done:
	ipvs_table_free(sd);
	ipvs_table_free(sk);
	key_set_clear(&set);
	key_set_clear(&addrs);
	key_set_clear(&members);
	drains_clear(&dr);
	return rc;
}
