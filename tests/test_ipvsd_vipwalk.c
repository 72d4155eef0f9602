// SPDX-License-Identifier: Apache-2.0
/* The raw VIP table fast path (vipwalk.c, vip_delta.c) against the full
 * unpack it replaces: every random change, and every corruption the
 * walker accepts, must give exactly the full path's candidates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"
#include "ipvsd/vip_delta.h"
#include "ipvsd/vipwalk.h"
#include "tests/ipvsd_rand_vips.h"

#define MAXV 400
#define FAST_MAX 64

struct model {
	struct vspec v[MAXV];
	size_t n;
	uint64_t gen;
	int dup; /* the last VIP repeats another's key */
};

static const struct desired_cfg cfg = { .sched = "wlc", .node_ip = { 10, 1, 0, 1 },
					.node_ip_len = 4 };

static int model_has_key(const struct model *m, const struct vspec *v)
{
	for (size_t i = 0; i < m->n; i++)
		if (vspec_same_key(&m->v[i], v))
			return 1;
	return 0;
}

/* One random change; now and then several, a reorder or a duplicate key
 * (for one step). */
static void model_step(struct model *m)
{
	unsigned what = rnd(100);
	struct vspec v;

	if (m->dup)
		m->n--;
	m->dup = 0;
	m->gen++;
	if (what < 40 && m->n) { /* one backend's weight */
		struct vspec *p = &m->v[rnd((unsigned)m->n)];

		if (p->nb)
			p->b[rnd((unsigned)p->nb)].weight ^= 1;
	} else if (what < 55 && m->n) { /* a backend added or removed */
		vspec_backend_step(&m->v[rnd((unsigned)m->n)]);
	} else if (what < 70 && m->n < MAXV) { /* a VIP added (at any position) */
		size_t at = rnd((unsigned)m->n + 1);

		rand_vip(&v, 40);
		if (model_has_key(m, &v))
			return;
		memmove(&m->v[at + 1], &m->v[at], (m->n - at) * sizeof(v));
		m->v[at] = v;
		m->n++;
	} else if (what < 85 && m->n) { /* a VIP removed */
		size_t at = rnd((unsigned)m->n);

		memmove(&m->v[at], &m->v[at + 1], (m->n - at - 1) * sizeof(v));
		m->n--;
	} else if (what < 92) { /* many at once */
		for (int i = 0; i < 80 && m->n; i++) {
			struct vspec *p = &m->v[rnd((unsigned)m->n)];

			if (p->nb)
				p->b[0].weight++;
		}
	} else if (what < 97 && m->n > 1) { /* two VIPs swap places */
		size_t a = rnd((unsigned)m->n), b = rnd((unsigned)m->n);

		v = m->v[a];
		m->v[a] = m->v[b];
		m->v[b] = v;
	} else if (m->n && m->n < MAXV) { /* a duplicate key: the full path merges */
		m->v[m->n] = m->v[rnd((unsigned)m->n)];
		m->v[m->n].nb = 0;
		m->n++;
		m->dup = 1;
	}
}

/* Packs the model as a VIP_TABLE envelope. */
static void model_pack(const struct model *m, struct ipc_buf *out)
{
	static L4lb__V1__Vip vips[MAXV], *vp[MAXV];
	static L4lb__V1__Backend bs[MAXV][MAXB], *bp[MAXV][MAXB];
	L4lb__V1__VipTable vt = L4LB__V1__VIP_TABLE__INIT;
	Envelope env = L4LB__V1__ENVELOPE__INIT;

	for (size_t i = 0; i < m->n; i++) {
		const struct vspec *s = &m->v[i];
		L4lb__V1__Vip *v = &vips[i];

		l4lb__v1__vip__init(v);
		v->has_protocol = v->has_ip = v->has_port = v->has_family = 1;
		v->protocol = (L4lb__V1__Protocol)s->proto;
		v->ip.data = (uint8_t *)s->ip;
		v->ip.len = s->iplen;
		v->port = s->port;
		v->family = (s->iplen == 4) != !!s->bad_family ? L4LB__V1__FAMILY__INET
							       : L4LB__V1__FAMILY__INET6;
		for (size_t j = 0; j < s->nb; j++) {
			L4lb__V1__Backend *b = &bs[i][j];

			l4lb__v1__backend__init(b);
			b->has_ip = b->has_port = b->has_weight = b->has_agent_ip = 1;
			b->ip.data = (uint8_t *)s->b[j].ip;
			b->ip.len = s->iplen == 4 ? 4 : 0; /* IPv6 VIPs: invalid backends */
			b->port = s->b[j].port;
			b->weight = s->b[j].weight;
			b->agent_ip.data = (uint8_t *)s->b[j].agent;
			b->agent_ip.len = 4;
			bp[i][j] = b;
		}
		v->backends = bp[i];
		v->n_backends = s->nb;
		vp[i] = v;
	}
	vt.has_generation = vt.has_publisher_epoch = 1;
	vt.generation = m->gen;
	vt.publisher_epoch = 7;
	vt.source = (char *)"test";
	vt.vips = vp;
	vt.n_vips = m->n;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE;
	env.vip_table = &vt;
	assert_int_equal(envelope_pack(&env, out), 0);
}

static struct ipvs_table *full_candidates(const struct ipc_buf *b)
{
	const char *why;
	Envelope *env = envelope_unpack(b->data, b->len, &why);
	struct ipvs_table *t;

	if (!env)
		return NULL;
	t = desired_candidates(env->vip_table, &cfg);
	assert_non_null(t);
	envelope_free(env);
	return t;
}

/* Every key whose candidates differ between two full tables is among the
 * keys the fast path reported. */
static void assert_keys_cover(const struct ipvs_table *old, const struct ipvs_table *new,
			      const struct svc_key *keys, size_t n)
{
	struct svc_key diff[MAXV * 2];
	size_t nd = ipvs_table_diff_keys(old, new, diff, MAXV * 2);

	assert_true(nd <= n);
	for (size_t i = 0; i < nd; i++) {
		size_t j = 0;

		while (j < n && svc_key_cmp(&keys[j], &diff[i]))
			j++;
		assert_true(j < n);
	}
	for (size_t j = 1; j < n; j++)
		assert_true(svc_key_cmp(&keys[j - 1], &keys[j]) < 0);
}

/* 2,000 random changes on a table of up to 400 VIPs: the fast path's
 * candidates equal the full path's after every one. */
static void test_random_sequence(void **state)
{
	static struct model m;
	struct vipwalk prev = { 0 }, next = { 0 };
	struct ipvs_table *cand = NULL;
	int prev_ok = 0;
	size_t fast = 0, fell_back = 0;

	(void)state;
	srandom(4);
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 150; i++) {
		rand_vip(&m.v[m.n], 40);
		if (!model_has_key(&m, &m.v[m.n]))
			m.n++;
	}
	for (int step = 0; step < 2000; step++) {
		struct svc_key keys[FAST_MAX];
		struct ipc_buf b = { 0 };
		struct ipvs_table *full, *old;
		size_t n = 0;
		int rc, wrc;

		if (step)
			model_step(&m);
		model_pack(&m, &b);
		full = full_candidates(&b);
		assert_non_null(full);
		wrc = vipwalk_parse(b.data, b.len, &next);
		assert_int_equal(wrc, m.dup ? -EPROTO : 0);
		if (wrc == 0) {
			assert_int_equal(next.gen, m.gen);
			assert_int_equal(next.epoch, 7);
		}
		rc = -EAGAIN;
		old = cand ? ipvs_table_dup(cand) : NULL;
		if (wrc == 0 && prev_ok)
			rc = vip_delta_apply(cand, &prev, &next, b.data, &cfg, keys, FAST_MAX, &n);
		if (rc == 0) {
			fast++;
			assert_tables_equal(cand, full);
			assert_keys_cover(old, full, keys, n);
			ipvs_table_free(full);
		} else {
			assert_true(rc == -EAGAIN || rc == -E2BIG);
			fell_back++;
			ipvs_table_free(cand);
			cand = full; /* what the full path does */
		}
		ipvs_table_free(old);
		prev_ok = wrc == 0;
		if (prev_ok) {
			struct vipwalk t = prev;

			prev = next;
			next = t;
		}
		ipc_buf_free(&b);
	}
	print_message("fast path %zu, full path %zu\n", fast, fell_back);
	/* the test means something only if both paths ran often */
	assert_true(fast > 1000);
	assert_true(fell_back > 20);
	ipvs_table_free(cand);
	vipwalk_clear(&prev);
	vipwalk_clear(&next);
}

/* The changed keys cover exactly what changed, in svc_key order. */
static void test_changed_keys(void **state)
{
	static struct model m;
	struct vipwalk prev = { 0 }, next = { 0 };
	struct ipc_buf a = { 0 }, b = { 0 };
	struct svc_key keys[FAST_MAX];
	struct ipvs_table *cand, *after;
	size_t n = 99;

	(void)state;
	srandom(9);
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 100; i++) {
		rand_vip(&m.v[m.n], 40);
		m.v[m.n].bad_family = 0;
		if (!model_has_key(&m, &m.v[m.n]))
			m.n++;
	}
	model_pack(&m, &a);
	cand = full_candidates(&a);
	assert_int_equal(vipwalk_parse(a.data, a.len, &prev), 0);
	assert_int_equal(prev.n, m.n);
	/* nothing changed but the generation: no key */
	m.gen++;
	model_pack(&m, &b);
	assert_int_equal(vipwalk_parse(b.data, b.len, &next), 0);
	assert_int_equal(vip_delta_apply(cand, &prev, &next, b.data, &cfg, keys, FAST_MAX, &n), 0);
	assert_int_equal(n, 0);
	ipc_buf_free(&b);
	/* one backend of one VIP: that VIP's key only */
	m.v[5].nb = 1;
	m.v[5].b[0].port = 9999;
	m.v[5].b[0].ip[0] = 10;
	model_pack(&m, &b);
	assert_int_equal(vipwalk_parse(b.data, b.len, &next), 0);
	assert_int_equal(vip_delta_apply(cand, &prev, &next, b.data, &cfg, keys, FAST_MAX, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(keys[0].port, m.v[5].port);
	assert_memory_equal(keys[0].addr, m.v[5].ip, m.v[5].iplen);
	after = full_candidates(&b);
	assert_tables_equal(cand, after);
	ipvs_table_free(cand);
	cand = full_candidates(&a);
	assert_keys_cover(cand, after, keys, n);
	ipvs_table_free(after);
	ipvs_table_free(cand);
	ipc_buf_free(&a);
	ipc_buf_free(&b);
	vipwalk_clear(&prev);
	vipwalk_clear(&next);
}

/* Corrupted messages (flipped bytes, truncation): whatever the walker and
 * the delta accept, the full unpack accepts too, with the same candidates;
 * whatever they refuse leaves the candidates as they were. */
static void test_corruption(void **state)
{
	static struct model m;
	struct vipwalk prev = { 0 }, next = { 0 };
	struct ipc_buf a = { 0 };
	struct ipvs_table *cand;
	size_t accepted = 0, refused = 0;

	(void)state;
	srandom(11);
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 40; i++) {
		rand_vip(&m.v[m.n], 40);
		if (!model_has_key(&m, &m.v[m.n]))
			m.n++;
	}
	model_pack(&m, &a);
	cand = full_candidates(&a);
	assert_int_equal(vipwalk_parse(a.data, a.len, &prev), 0);
	for (int i = 0; i < 20000; i++) {
		struct svc_key keys[FAST_MAX];
		struct ipvs_table *c = ipvs_table_dup(cand), *full;
		size_t n, len = a.len;
		uint8_t *d = malloc(a.len);
		int rc;

		assert_non_null(d);
		assert_non_null(c);
		memcpy(d, a.data, a.len);
		for (unsigned k = rnd(3) + 1; k > 0; k--)
			d[rnd((unsigned)len)] = (uint8_t)random();
		if (rnd(4) == 0)
			len = rnd((unsigned)len + 1);
		rc = vipwalk_parse(d, len, &next);
		if (rc == 0)
			rc = vip_delta_apply(c, &prev, &next, d, &cfg, keys, FAST_MAX, &n);
		if (rc == 0) {
			struct ipc_buf m2 = { d, len };

			accepted++;
			full = full_candidates(&m2);
			assert_non_null(full);
			assert_tables_equal(c, full);
			ipvs_table_free(full);
		} else {
			assert_true(rc == -EPROTO || rc == -E2BIG);
			refused++;
			assert_tables_equal(c, cand);
		}
		ipvs_table_free(c);
		free(d);
	}
	assert_true(accepted > 100);
	assert_true(refused > 100);
	ipvs_table_free(cand);
	ipc_buf_free(&a);
	vipwalk_clear(&prev);
	vipwalk_clear(&next);
}

/* What the walker refuses: other envelope types, a second body, groups. */
static void test_refused(void **state)
{
	static const uint8_t status[] = { 0x08, 0x01, 0x52, 0x00 };       /* STATUS_REQUEST */
	static const uint8_t two_tables[] = { 0x08, 0x04, 0x6a, 0x00, 0x6a, 0x00 };
	static const uint8_t group[] = { 0x08, 0x04, 0x6a, 0x02, 0x0b, 0x0c };
	static const uint8_t empty[] = { 0x08, 0x04, 0x6a, 0x00 };
	/* a 6-byte length: protobuf-c reads at most 5 */
	static const uint8_t padded[] = { 0x08, 0x04, 0x6a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	struct vipwalk w = { 0 };

	(void)state;
	assert_int_equal(vipwalk_parse(status, sizeof(status), &w), -EPROTO);
	assert_int_equal(vipwalk_parse(two_tables, sizeof(two_tables), &w), -EPROTO);
	assert_int_equal(vipwalk_parse(group, sizeof(group), &w), -EPROTO);
	assert_int_equal(vipwalk_parse(NULL, 0, &w), -EPROTO);
	assert_int_equal(vipwalk_parse(padded, sizeof(padded), &w), -EPROTO);
	assert_int_equal(vipwalk_parse(empty, sizeof(empty), &w), 0);
	assert_int_equal(w.n, 0);
	vipwalk_clear(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_sequence),
		cmocka_unit_test(test_changed_keys),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
