// SPDX-License-Identifier: Apache-2.0
/*
 * The incremental path against the full rebuild: a random cluster, then
 * many random task updates, additions and removals (VIPs and named-VIP
 * names appearing and vanishing, in an address range so small that names
 * collide); after each, the patched table must equal rules_build's (with
 * the same duplicate and label counts, and the same names at the same
 * addresses) and pack to the same bytes, and the cached packing must equal
 * protobuf-c's (also after a rebuild that took over the old table's cache).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vipd/incr.h"
#include "vipd/intern.h"
#include "vipd/named_set.h"
#include "vipd/named_vip.h"
#include "vipd/publish.h"
#include "vipd/rules.h"

static unsigned rnd(unsigned n)
{
	return (unsigned)random() % n;
}

static void random_ip(struct task_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (rnd(8) == 0) {
		ip->family = 6;
		ip->ip[0] = 0xfd;
		ip->ip[15] = (uint8_t)(1 + rnd(6));
	} else {
		ip->family = 4;
		ip->ip[0] = 9;
		ip->ip[3] = (uint8_t)(1 + rnd(12)); /* few: collisions happen */
	}
}

static const char *const labels[] = {
	"10.9.0.1:80", "10.9.0.2:80", "10.9.0.2:81", "fd09::1:80", "/app:80", "/app:81",
	"/web:80", "/db:5432", "/web.group:80", "/n1:80", "/n2:80", "/n3:80", "/n4:80",
	"/n5:80", "/n6:80", "/n7:80", "/n8:80", "/n9:80", "/n10:80", "/n11:80",
};

/* Named VIPs get one of 24 addresses: with up to 15 names x 2
 * frameworks, they collide and probe. */
#define VMIN NAMED_VIP4_MIN
#define VMAX (NAMED_VIP4_MIN + 24)

static struct task *random_task(unsigned k)
{
	struct task *t = task_new();
	char b[32];

	assert_non_null(t);
	snprintf(b, sizeof(b), "t%u", k);
	t->id = strdup(b);
	snprintf(b, sizeof(b), "a%u", rnd(6));
	t->agent_id = intern_str(b);
	snprintf(b, sizeof(b), "f%u", rnd(3)); /* f2 is not known: held */
	t->framework_id = intern_str(b);
	t->state = rnd(5) ? TS_RUNNING : TS_KILLING;
	t->has_health_check = (uint8_t)(rnd(3) == 0);
	t->healthy = (int8_t)((int)rnd(3) - 1);
	t->nips = rnd(3);
	t->ips = calloc(2, sizeof(*t->ips));
	for (size_t i = 0; i < t->nips; i++)
		random_ip(&t->ips[i]);
	t->nmaps = rnd(2);
	t->maps = calloc(1, sizeof(*t->maps));
	if (t->nmaps)
		t->maps[0] = (struct port_mapping){ (uint16_t)(31000 + rnd(3)), 80, 3 };
	t->nports = 1 + rnd(2);
	t->ports = calloc(t->nports, sizeof(*t->ports));
	for (size_t p = 0; p < t->nports; p++) {
		t->ports[p].proto = rnd(4) ? VIP_TCP : VIP_UDP;
		t->ports[p].host_scope = (uint8_t)(rnd(4) == 0);
		t->ports[p].number = t->ports[p].host_scope ? (uint16_t)(31000 + rnd(3)) : 80;
		t->ports[p].label = intern_str(labels[rnd(sizeof(labels) / sizeof(labels[0]))]);
	}
	return t;
}

static struct model *random_model(unsigned ntasks)
{
	struct model *m = model_new();
	char id[16], host[32];

	assert_non_null(m);
	for (unsigned i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "a%u", i);
		snprintf(host, sizeof(host), "10.0.0.%u", i + 1);
		assert_int_equal(model_put_agent(m, id, host, NULL, 0), 0);
	}
	assert_int_equal(model_put_framework(m, "f0", "marathon"), 0);
	assert_int_equal(model_put_framework(m, "f1", "other"), 0);
	for (unsigned k = 0; k < ntasks; k++)
		assert_int_equal(model_put_task(m, random_task(k)), 0);
	return m;
}

static struct vip_table *statics(void)
{
	struct vip_table *t = vip_table_new();
	uint8_t ip[16] = { 10, 9, 0, 1 };
	struct backend b = { .family = 4, .weight = 1, .port = 80, .ip = { 9, 0, 0, 1 } };
	struct vip *v = vip_table_add(t, VIP_TCP, 4, ip, 80, NULL);

	assert_non_null(v);
	assert_int_equal(vip_add_backend(v, &b), 0);
	assert_int_equal(vip_add_label(v, "static"), 0);
	vip_table_sort(t);
	return t;
}

static struct vip_table *full(const struct model *m, const struct vip_table *extra)
{
	struct vip_table *t = rules_build(m, extra, VMIN, VMAX, NULL);

	assert_non_null(t);
	return t;
}

static void assert_same(struct vip_table *inc, const struct vip_table *ref)
{
	struct snapshot_meta meta = { 7, 3, 1234, "test" };
	struct ipc_buf a = { 0 }, b = { 0 };

	assert_true(vip_table_equal(inc, ref));
	for (size_t i = 0; i < ref->n; i++) {
		for (size_t j = 0; j < ref->v[i].nb; j++)
			assert_int_equal(inc->v[i].b[j].dups, ref->v[i].b[j].dups);
		for (size_t j = 0; j < ref->v[i].nlabels; j++)
			assert_int_equal(inc->v[i].lrefs[j], ref->v[i].lrefs[j]);
		assert_int_equal(inc->v[i].pinned, ref->v[i].pinned);
	}
	assert_int_equal(inc->names->n, ref->names->n);
	for (size_t i = 0; i < ref->names->n; i++) {
		assert_string_equal(inc->names->e[i].name, ref->names->e[i].name);
		assert_int_equal(inc->names->e[i].addr4, ref->names->e[i].addr4);
		assert_int_equal(inc->names->e[i].addr6, ref->names->e[i].addr6);
	}
	assert_int_equal(publish_pack_cached(inc, &meta, &a), 0);
	assert_int_equal(publish_pack(ref, &meta, &b), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	ipc_buf_free(&a);
	ipc_buf_free(&b);
}

static const enum task_state states[] = {
	TS_RUNNING, TS_RUNNING, TS_KILLING, TS_UNKNOWN, TS_STARTING, TS_TERMINAL,
};

/* What the patches did, so that the test knows it covered each case. */
struct seen {
	unsigned patched, created, removed, named_in, named_out, probed;
};

/* A name that was not placed at its hash: it collided. */
static unsigned probed_names(const struct named_set *s)
{
	unsigned n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->e[i].addr4 != s->e[i].base4;
	return n;
}

/* One random change of task `id`: a status update (TASK_UPDATED, terminal
 * ones remove it) or, for an unknown task, a TASK_ADDED. */
static void change(struct model *m, const char *id, unsigned k, double ts)
{
	struct task st = { .healthy = -1 };

	if (!strmap_get(&m->tasks, id)) {
		assert_int_equal(model_put_task(m, random_task(k)), 0);
		return;
	}
	st.ts = ts;
	st.healthy = (int8_t)((int)rnd(3) - 1);
	if (rnd(2)) {
		st.nips = 1 + rnd(2);
		st.ips = calloc(st.nips, sizeof(*st.ips));
		for (size_t i = 0; i < st.nips; i++)
			random_ip(&st.ips[i]);
	}
	model_update_task(m, id, states[rnd(sizeof(states) / sizeof(states[0]))], &st);
	free(st.ips);
}

/* n random changes, checked after each. */
static void run(struct model *m, struct vip_table **tp, const struct vip_table *extra,
		unsigned ntasks, unsigned n, struct seen *seen)
{
	for (unsigned u = 0; u < n; u++) {
		unsigned k = rnd(ntasks);
		char id[16];
		struct vip_table *before, *after, *ref;
		size_t nv = (*tp)->n, nn = (*tp)->names->n;
		unsigned pr = probed_names((*tp)->names);
		int held, rc;

		snprintf(id, sizeof(id), "t%u", k);
		assert_non_null(before = rules_task_vips(m, strmap_get(&m->tasks, id), &held));
		change(m, id, k, u + 1);
		assert_non_null(after = rules_task_vips(m, strmap_get(&m->tasks, id), &held));
		rc = incr_apply(*tp, before, after);
		vip_table_free(before);
		vip_table_free(after);
		assert_true(rc == 0 || rc == 1 || rc == -EAGAIN);
		ref = full(m, extra);
		if (rc == -EAGAIN) {
			/* As vipd does: the rebuilt table keeps unchanged VIPs' bytes. */
			vip_table_take_packed(ref, *tp);
			vip_table_free(*tp);
			*tp = ref;
			assert_same(ref, ref);
			continue;
		}
		assert_same(*tp, ref);
		vip_table_free(ref);
		if (!rc)
			continue;
		seen->patched++;
		seen->created += (*tp)->n > nv;
		seen->removed += (*tp)->n < nv;
		seen->named_in += (*tp)->names->n > nn;
		seen->named_out += (*tp)->names->n < nn;
		seen->probed += (*tp)->names->n > nn && probed_names((*tp)->names) > pr;
	}
}

static void test_incr_matches_full(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 4; seed++) {
		struct vip_table *extra = seed % 2 ? statics() : NULL;
		struct seen seen = { 0 };
		struct model *m;
		struct vip_table *t;

		srandom(seed);
		m = random_model(40);
		t = full(m, extra);
		assert_same(t, t);
		run(m, &t, extra, 48, 1500, &seen);
		print_message("seed %u: of 1500 changes %u patched in place: %u created VIPs, "
			      "%u removed VIPs, %u added names (%u probing past a collision), "
			      "%u removed names\n", seed, seen.patched, seen.created, seen.removed,
			      seen.named_in, seen.probed, seen.named_out);
		/* The test is void if the incremental path never ran each case. */
		assert_true(seen.patched > 300);
		assert_true(seen.created > 10 && seen.removed > 10);
		assert_true(seen.named_in > 5 && seen.named_out > 5 && seen.probed > 0);
		vip_table_free(t);
		vip_table_free(extra);
		model_free(m);
	}
}

/* A new name that would move an existing one (it sorts first and hashes
 * onto its address) is refused and leaves t untouched; the rebuild moves. */
static void test_incr_refuses_moving_a_name(void **state)
{
	struct model *m;
	struct vip_table *t, *copy, *before, *after, *ref;
	const struct named_entry *e;
	struct task *k;
	char label[64], name[64];
	int held, rc = 0;

	(void)state;
	srandom(99);
	m = random_model(10);
	t = full(m, NULL);
	copy = full(m, NULL);
	assert_true(t->names->n > 0);
	e = &t->names->e[t->names->n - 1];
	/* A name sorting before e's (digits before letters) with e's hash. */
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(label, sizeof(label), "/0x%u", i);
		assert_true(named_vip_name(label, "marathon", name, sizeof(name)) > 0);
		strcat(label, ":80");
		if (strcmp(name, e->name) < 0 && named_vip4_base(name, VMIN, VMAX) == e->addr4)
			break;
	}
	assert_int_equal(named_vip4_base(name, VMIN, VMAX), e->addr4);
	k = task_new();
	k->id = strdup("new");
	k->agent_id = intern_str("a0");
	k->framework_id = intern_str("f0");
	k->state = TS_RUNNING;
	k->nports = 1;
	k->ports = calloc(1, sizeof(*k->ports));
	k->ports[0] = (struct vip_port){ VIP_TCP, 1, 31999, intern_str(label) };
	assert_non_null(before = rules_task_vips(m, NULL, &held));
	assert_int_equal(model_put_task(m, k), 0);
	assert_non_null(after = rules_task_vips(m, strmap_get(&m->tasks, "new"), &held));
	assert_int_equal(after->n, 1);
	rc = incr_apply(t, before, after);
	assert_int_equal(rc, -EAGAIN);
	assert_true(vip_table_equal(t, copy));
	assert_int_equal(t->names->n, copy->names->n);
	/* The rebuild gives the new name that address and moves the old one. */
	ref = full(m, NULL);
	assert_int_equal(named_set_get(ref->names, name)->addr4, e->addr4);
	assert_int_not_equal(named_set_get(ref->names, e->name)->addr4, e->addr4);
	vip_table_free(ref);
	vip_table_free(before);
	vip_table_free(after);
	vip_table_free(t);
	vip_table_free(copy);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incr_matches_full),
		cmocka_unit_test(test_incr_refuses_moving_a_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
