// SPDX-License-Identifier: Apache-2.0
/*
 * vipd's VipTableDelta (delta.c): for random consecutive tables, the
 * published delta applied to the previous snapshot gives exactly the next
 * snapshot; a rebuilt table that kept the old one's cache or none gives the
 * same delta; without a base (first table, new epoch) it is a heartbeat.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vipd/delta.h"

#define MAXV 120
#define MAXB 5

static unsigned rnd(unsigned n) { return (unsigned)random() % n; }

struct vspec {
	uint8_t proto, family, ip[16];
	uint16_t port;
	char name[16];
	struct backend b[MAXB];
	size_t nb;
};

struct model {
	struct vspec v[MAXV];
	size_t n;
};

static void rand_backend(struct backend *b)
{
	memset(b, 0, sizeof(*b));
	b->family = 4;
	b->ip[0] = 10;
	b->ip[3] = (uint8_t)rnd(20);
	b->port = (uint16_t)(8000 + rnd(3));
	b->agent_ip[0] = 10;
	b->agent_ip[3] = (uint8_t)rnd(4);
	b->weight = (uint8_t)rnd(2);
}

static void rand_vip(struct vspec *v)
{
	memset(v, 0, sizeof(*v));
	v->proto = rnd(2) ? 6 : 17;
	v->family = rnd(5) ? 4 : 6;
	v->ip[0] = v->family == 4 ? 11 : 0xfd;
	v->ip[v->family == 4 ? 3 : 15] = (uint8_t)rnd(60);
	v->port = (uint16_t)(80 + rnd(2));
	if (rnd(3) == 0)
		snprintf(v->name, sizeof(v->name), "n%u.x", rnd(9));
	v->nb = rnd(MAXB + 1);
	for (size_t i = 0; i < v->nb; i++)
		rand_backend(&v->b[i]);
}

static void step(struct model *m)
{
	unsigned what = rnd(100);

	if (what < 45 && m->n) {
		struct vspec *p = &m->v[rnd((unsigned)m->n)];

		if (p->nb)
			p->b[rnd((unsigned)p->nb)].weight ^= 1;
		else
			rand_backend(&p->b[p->nb++]);
	} else if (what < 70 && m->n < MAXV) {
		rand_vip(&m->v[m->n++]);
	} else if (what < 85 && m->n) {
		m->n--;
		m->v[rnd((unsigned)m->n + 1)] = m->v[m->n];
	} else if (what < 90) {
		/* nothing changes (a rebuild that found the same table) */
	} else {
		for (int i = 0; i < 30 && m->n; i++) {
			struct vspec *p = &m->v[rnd((unsigned)m->n)];

			if (p->nb)
				p->b[0].port = (uint16_t)(8000 + rnd(3));
		}
	}
}

/* The model as vipd's table, canonical (duplicates merged, sorted). */
static struct vip_table *build(const struct model *m)
{
	struct vip_table *t = vip_table_new();

	for (size_t i = 0; i < m->n; i++) {
		const struct vspec *s = &m->v[i];
		struct vip *v = vip_table_add(t, s->proto, s->family, s->ip, s->port,
					      s->name[0] ? s->name : NULL);

		assert_non_null(v);
		for (size_t j = 0; j < s->nb; j++)
			assert_int_equal(vip_add_backend(v, &s->b[j]), 0);
	}
	vip_table_sort(t);
	return t;
}

/* A table as key -> packed Vip, from an unpacked list of Vips. */
struct entry {
	uint8_t key[21];
	uint8_t bytes[2048];
	size_t len;
};

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key, 21);
}

static void key_of(uint32_t proto, const ProtobufCBinaryData *ip, uint32_t port, uint8_t *key)
{
	memset(key, 0, 21);
	key[0] = (uint8_t)proto;
	assert_true(ip->len == 4 || ip->len == 16);
	memcpy(key + 1, ip->data, ip->len);
	key[17] = (uint8_t)(port >> 8);
	key[18] = (uint8_t)port;
	key[19] = (uint8_t)ip->len;
}

static struct entry ents[MAXV * 2];

static size_t entries_of(L4lb__V1__Vip **vips, size_t n, struct entry *e)
{
	for (size_t i = 0; i < n; i++) {
		key_of(vips[i]->protocol, &vips[i]->ip, vips[i]->port, e[i].key);
		assert_true(l4lb__v1__vip__get_packed_size(vips[i]) <= sizeof(e[i].bytes));
		e[i].len = l4lb__v1__vip__pack(vips[i], e[i].bytes);
	}
	qsort(e, n, sizeof(*e), entry_cmp);
	return n;
}

/* prev (n entries) with d applied; returns the new count. */
static size_t apply(struct entry *e, size_t n, const L4lb__V1__VipTableDelta *d)
{
	for (size_t i = 0; i < d->n_removed; i++) {
		struct entry k;
		struct entry *at;

		key_of(d->removed[i]->protocol, &d->removed[i]->ip, d->removed[i]->port, k.key);
		at = bsearch(&k, e, n, sizeof(*e), entry_cmp);
		assert_non_null(at); /* only what the base held is removed */
		*at = e[--n];
		qsort(e, n, sizeof(*e), entry_cmp);
	}
	for (size_t i = 0; i < d->n_upserted; i++) {
		struct entry k;
		struct entry *at;

		entries_of(&d->upserted[i], 1, &k);
		at = bsearch(&k, e, n, sizeof(*e), entry_cmp);
		if (at) {
			/* a changed VIP: it must really have changed */
			assert_false(at->len == k.len && !memcmp(at->bytes, k.bytes, k.len));
			*at = k;
		} else {
			e[n++] = k;
			qsort(e, n, sizeof(*e), entry_cmp);
		}
	}
	return n;
}

static Envelope *pack_snapshot(struct vip_table *t, const struct snapshot_meta *meta)
{
	struct ipc_buf b;
	const char *why;
	Envelope *env;

	assert_int_equal(publish_pack_cached(t, meta, &b), 0);
	env = envelope_unpack(b.data, b.len, &why);
	assert_non_null(env);
	ipc_buf_free(&b);
	return env;
}

static Envelope *delta(struct delta_state *d, struct vip_table *t,
		       const struct snapshot_meta *meta)
{
	struct ipc_buf b;
	const char *why;
	Envelope *env;

	assert_int_equal(delta_build(d, t, meta, &b), 0);
	env = envelope_unpack(b.data, b.len, &why);
	assert_non_null(env);
	assert_int_equal(env->type, L4LB__V1__ENVELOPE__TYPE__VIP_TABLE_DELTA);
	ipc_buf_free(&b);
	return env;
}

static struct model model;
static struct entry want[MAXV * 2];

static void test_random(void **state)
{
	struct delta_state ds = { 0 };
	struct snapshot_meta meta = { .generation = 1, .epoch = 5, .source = "test" };
	struct vip_table *prev = NULL, *t;
	Envelope *snap, *d;
	size_t n, m, changed = 0;

	(void)state;
	srandom(3);
	for (int i = 0; i < 40; i++)
		step(&model);
	prev = build(&model);
	snap = pack_snapshot(prev, &meta);
	d = delta(&ds, prev, &meta);
	/* no base yet: a heartbeat at its own generation */
	assert_int_equal(d->vip_table_delta->base_generation, 1);
	assert_int_equal(d->vip_table_delta->generation, 1);
	assert_int_equal(d->vip_table_delta->n_upserted + d->vip_table_delta->n_removed, 0);
	envelope_free(d);
	n = entries_of(snap->vip_table->vips, snap->vip_table->n_vips, ents);
	envelope_free(snap);
	for (int round = 0; round < 2000; round++) {
		step(&model);
		t = build(&model);
		/* as core.c: a rebuild takes over the unchanged VIPs' packing, or
		 * (a fresh table) packs everything again: the same delta */
		if (rnd(2))
			vip_table_take_packed(t, prev);
		meta.generation++;
		snap = pack_snapshot(t, &meta);
		d = delta(&ds, t, &meta);
		assert_int_equal(d->vip_table_delta->publisher_epoch, 5);
		assert_int_equal(d->vip_table_delta->base_generation, meta.generation - 1);
		assert_int_equal(d->vip_table_delta->generation, meta.generation);
		changed += d->vip_table_delta->n_upserted + d->vip_table_delta->n_removed;
		n = apply(ents, n, d->vip_table_delta);
		m = entries_of(snap->vip_table->vips, snap->vip_table->n_vips, want);
		assert_int_equal(n, m);
		for (size_t i = 0; i < n; i++) {
			assert_memory_equal(ents[i].key, want[i].key, 21);
			assert_int_equal(ents[i].len, want[i].len);
			assert_memory_equal(ents[i].bytes, want[i].bytes, want[i].len);
		}
		envelope_free(snap);
		envelope_free(d);
		vip_table_free(prev);
		prev = t;
	}
	assert_true(changed > 2000);
	/* vipd restarted (new epoch): no base, a heartbeat */
	meta.epoch = 6;
	meta.generation = 1;
	d = delta(&ds, prev, &meta);
	assert_int_equal(d->vip_table_delta->base_generation, d->vip_table_delta->generation);
	assert_int_equal(d->vip_table_delta->n_upserted + d->vip_table_delta->n_removed, 0);
	envelope_free(d);
	/* the same table again: an empty delta from the last one */
	meta.generation = 2;
	d = delta(&ds, prev, &meta);
	assert_int_equal(d->vip_table_delta->base_generation, 1);
	assert_int_equal(d->vip_table_delta->n_upserted + d->vip_table_delta->n_removed, 0);
	envelope_free(d);
	vip_table_free(prev);
	delta_state_clear(&ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
