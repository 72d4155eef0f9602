// SPDX-License-Identifier: Apache-2.0
/* The full reconcile in slices (ipvsd/full_pass.c): the service list keeps
 * the destinations already known, slices visit every key once within their
 * time budget, and a pass interleaved with snapshot changes (a simulated
 * kernel, the plan of each slice against the desired state of that moment)
 * repairs the drift without undoing what the snapshots applied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipvsd/full_pass.h"
#include "ipvsd/plan.h"

static struct svc_key key(uint8_t last)
{
	struct svc_key k = { .af = AF_INET, .proto = IPPROTO_TCP, .port = 80 };

	k.addr[0] = 11;
	k.addr[3] = last;
	return k;
}

static struct ipvs_svc *svc(struct ipvs_table *t, uint8_t last)
{
	struct svc_key k = key(last);

	return ipvs_table_insert(t, &k, "wlc");
}

static void dest(struct ipvs_svc *s, uint8_t last, uint32_t weight)
{
	struct ipvs_dest d = { .port = 8080, .weight = weight, .fwd = 0 };

	d.addr[0] = 10;
	d.addr[3] = last;
	assert_non_null(ipvs_svc_insert_dest(s, &d));
}

struct visits {
	struct svc_key seen[64];
	size_t n;
	size_t fail_at; /* 0: never */
};

static int record(const struct svc_key *k, void *arg)
{
	struct visits *v = arg;

	if (v->fail_at && v->n + 1 == v->fail_at)
		return -EIO;
	v->seen[v->n++] = *k;
	return 0;
}

static int not_last_7(const struct svc_key *k, void *arg)
{
	(void)arg;
	return k->addr[3] != 7;
}

static void test_begin_keeps_known_dests(void **state)
{
	struct ipvs_table *model = ipvs_table_new(), *fresh = ipvs_table_new();
	struct ipvs_table *desired = ipvs_table_new();
	struct full_pass p = { 0 };
	struct ipvs_svc *s;

	(void)state;
	dest(svc(model, 1), 21, 3);
	dest(svc(model, 1), 22, 4);
	dest(svc(model, 2), 23, 1); /* gone from the kernel since */
	svc(fresh, 1);
	svc(fresh, 5); /* new in the kernel */
	svc(fresh, 7); /* not ipvsd's */
	svc(desired, 9); /* wanted, missing in the kernel */
	svc(desired, 1);
	assert_int_equal(full_pass_begin(&p, fresh, model, desired, not_last_7, NULL), 0);
	s = &fresh->svcs[0];
	assert_int_equal(s->key.addr[3], 1);
	assert_int_equal(s->n_dests, 2);
	assert_int_equal(s->dests[1].weight, 4);
	assert_int_equal(fresh->svcs[1].n_dests, 0);
	/* 1 (kernel and desired, once), 5, 9; not 7 */
	assert_int_equal(p.keys.n, 3);
	assert_int_equal(p.keys.k[0].addr[3], 1);
	assert_int_equal(p.keys.k[1].addr[3], 5);
	assert_int_equal(p.keys.k[2].addr[3], 9);
	assert_false(full_pass_visited(&p));
	full_pass_end(&p);
	assert_int_equal(p.stage, PASS_IDLE);
	assert_int_equal(p.keys.n, 0);
	ipvs_table_free(model); /* what it still holds is freed once */
	ipvs_table_free(fresh);
	ipvs_table_free(desired);
}

static void fill(struct full_pass *p, size_t n)
{
	struct ipvs_table *fresh = ipvs_table_new(), *model = ipvs_table_new();

	for (size_t i = 1; i <= n; i++)
		svc(fresh, (uint8_t)i);
	assert_int_equal(full_pass_begin(p, fresh, model, NULL, NULL, NULL), 0);
	ipvs_table_free(fresh);
	ipvs_table_free(model);
}

static void test_slices_visit_each_key_once(void **state)
{
	struct full_pass p = { 0 };
	struct visits v = { 0 };
	const struct svc_key *first;
	size_t n, total = 0, slices = 0;

	(void)state;
	fill(&p, 10);
	while (!full_pass_visited(&p)) {
		assert_int_equal(full_pass_slice(&p, 3, record, &v, &first, &n), 0);
		assert_true(n >= 1 && n <= 3);
		assert_memory_equal(first, &v.seen[total], n * sizeof(*first));
		total += n;
		slices++;
	}
	assert_int_equal(total, 10);
	assert_int_equal(slices, 4);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(v.seen[i].addr[3], i + 1);
	/* nothing left: an empty slice */
	assert_int_equal(full_pass_slice(&p, 3, record, &v, &first, &n), 0);
	assert_int_equal(n, 0);
	full_pass_end(&p);
}

/* How many services a slice takes: what the last slices cost. */
static void test_batch_fits_the_budget(void **state)
{
	struct full_pass p = { 0 };

	(void)state;
	fill(&p, 100);
	assert_int_equal(full_pass_batch(&p, 2000), 1); /* nothing known yet */
	assert_int_equal(full_pass_batch(&p, UINT64_MAX), 100); /* no limit: all */
	full_pass_note_dests(&p, 4, 2000); /* 500 us a service */
	assert_int_equal(full_pass_batch(&p, 2000), 4);
	assert_int_equal(full_pass_batch(&p, 100), 1); /* at least one */
	full_pass_note_dests(&p, 1, 8000); /* a slow slice counts at once */
	assert_int_equal(full_pass_batch(&p, 30000), 3);
	full_pass_note_dests(&p, 10, 1000); /* fast again: it comes down, smoothed */
	assert_int_equal(full_pass_batch(&p, 30000), 30000 / ((3 * 8000 + 100) / 4));
	for (int i = 0; i < 40; i++)
		full_pass_note_dests(&p, 10, 1000);
	assert_int_equal(full_pass_batch(&p, 2000), 20); /* settled at 100 us */
	full_pass_note_dests(&p, 0, 5000); /* no service read: nothing learnt */
	assert_int_equal(full_pass_batch(&p, 2000), 20);
	p.next = 95;
	assert_int_equal(full_pass_batch(&p, 2000), 5); /* no more than are left */
	full_pass_end(&p);
}

static void test_slice_makes_progress_with_no_budget(void **state)
{
	struct full_pass p = { 0 };
	struct visits v = { 0 };
	const struct svc_key *first;
	size_t n;

	(void)state;
	fill(&p, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(full_pass_slice(&p, 0, record, &v, &first, &n), 0);
		assert_int_equal(n, 1);
	}
	assert_true(full_pass_visited(&p));
	full_pass_end(&p);
}

static void test_slice_stops_at_a_failed_visit(void **state)
{
	struct full_pass p = { 0 };
	struct visits v = { .fail_at = 3 };
	const struct svc_key *first;
	size_t n;

	(void)state;
	fill(&p, 5);
	assert_int_equal(full_pass_slice(&p, 100, record, &v, &first, &n), -EIO);
	assert_int_equal(n, 2); /* the two before it are reconciled */
	assert_int_equal(first[1].addr[3], 2);
	assert_false(full_pass_visited(&p));
	full_pass_note_slice(&p, 700);
	full_pass_note_slice(&p, 300);
	assert_int_equal(p.slices, 2);
	assert_int_equal(p.longest_us, 700);
	full_pass_end(&p);
}

static void test_strays_are_what_no_service_covers(void **state)
{
	struct ipvs_table *desired = ipvs_table_new(), *kernel = ipvs_table_new();
	struct key_set addrs = { 0 }, members = { 0 }, recorded = { 0 }, out = { 0 };
	struct svc_key a1 = { .af = AF_INET, .addr = { 11, 0, 0, 1 } };
	struct svc_key a9 = { .af = AF_INET, .addr = { 11, 0, 0, 9 } };
	struct svc_key k1 = key(1), k9 = key(9), r5 = key(5);
	struct vip_range range;
	struct owned owned = { .ranges = &range, .n = 1 };
	struct drains drains = { 0 };
	struct plan plan = { 0 };
	struct plan_input in = { .desired = desired, .kernel = kernel, .addrs = &addrs,
				 .members = &members, .owned = &owned, .drains = &drains,
				 .now_ms = 1, .grace_ms = 1000 };

	(void)state;
	r5.proto = IPPROTO_UDP;
	dest(svc(desired, 1), 1, 1);
	dest(svc(kernel, 1), 1, 1);
	assert_int_equal(key_set_insert(&addrs, &a1), 0);
	assert_int_equal(key_set_insert(&addrs, &a9), 0);
	assert_int_equal(key_set_insert(&members, &k1), 0);
	assert_int_equal(key_set_insert(&members, &k9), 0);
	assert_int_equal(key_set_insert(&recorded, &r5), 0);
	assert_int_equal(full_pass_strays(&addrs, &members, &recorded, desired, &out), 0);
	/* the address 11.0.0.9, member tcp 11.0.0.9:80, recorded udp 11.0.0.5:53 */
	assert_int_equal(out.n, 3);
	assert_true(key_set_has(&out, &a9));
	assert_true(key_set_has(&out, &k9));
	assert_true(key_set_has(&out, &r5));
	assert_false(key_set_has(&out, &a1));
	assert_false(key_set_has(&out, &k1));
	/* reconciled like services: the stray address and member go, the
	 * wanted ones stay */
	assert_int_equal(vip_range_parse("11.0.0.0/8", &range), 0);
	assert_int_equal(plan_build_keys(&in, out.k, out.n, &plan), 0);
	assert_int_equal(plan.n, 2);
	assert_int_equal(plan.ops[0].type, OP_DEL_ADDR);
	assert_int_equal(plan.ops[0].key.addr[3], 9);
	assert_int_equal(plan.ops[1].type, OP_DEL_MEMBER);
	assert_int_equal(plan.ops[1].key.addr[3], 9);
	/* nothing stray: nothing */
	key_set_remove(&addrs, &a9);
	key_set_remove(&members, &k9);
	assert_int_equal(full_pass_strays(&addrs, &members, NULL, desired, &out), 0);
	assert_int_equal(out.n, 0);
	ipvs_table_free(desired);
	ipvs_table_free(kernel);
	key_set_clear(&addrs);
	key_set_clear(&members);
	key_set_clear(&recorded);
	key_set_clear(&out);
	drains_clear(&drains);
	plan_free_ops(&plan);
}

/* A stage's dump read over slices is used only if ipvsd changed nothing
 * it lists meanwhile; else it is read again, the last time in one go. */
static void test_stage_read_again_when_changed_under_it(void **state)
{
	struct full_pass p = { 0 };

	(void)state;
	assert_int_equal(full_pass_read_end(&p, 1, 0), 1); /* whole, unchanged: used */
	assert_int_equal(full_pass_read_budget(&p, 2000), 2000);
	for (unsigned i = 1; i <= FULL_PASS_REREADS; i++) {
		assert_int_equal(full_pass_read_end(&p, 1, 1), 0); /* changed: again */
		assert_int_equal(p.rereads, i);
	}
	/* the last time it is read in one go: nothing can change under it */
	assert_int_equal(full_pass_read_budget(&p, 2000), UINT64_MAX);
	assert_int_equal(full_pass_read_end(&p, 1, 0), 1);
	assert_int_equal(p.rereads, 0);
	assert_int_equal(full_pass_read_budget(&p, 2000), 2000);
	/* interrupted dumps are read again too, a bounded number of times */
	assert_int_equal(full_pass_read_end(&p, -EINTR, 0), 0);
	assert_int_equal(full_pass_read_end(&p, -ENOBUFS, 0), 0);
	assert_int_equal(full_pass_read_end(&p, -EINTR, 0), 0);
	assert_int_equal(full_pass_read_end(&p, -EINTR, 0), -EINTR);
	/* other errors at once; never a partial dump used */
	assert_int_equal(full_pass_read_end(&p, -EIO, 0), -EIO);
	assert_int_equal(full_pass_read_end(&p, -EIO, 1), -EIO);
	p.rereads = FULL_PASS_REREADS;
	assert_int_equal(full_pass_read_end(&p, 1, 1), -EAGAIN);
	full_pass_end(&p);
}

/* Only a change to what a stage lists has that stage's read go again: a
 * destination change (a weight, a drain ending) is in none of them. */
static void test_list_of_each_change(void **state)
{
	(void)state;
	assert_int_equal(full_pass_list_of(OP_ADD_SVC), PASS_SERVICES);
	assert_int_equal(full_pass_list_of(OP_SET_SVC), PASS_SERVICES);
	assert_int_equal(full_pass_list_of(OP_DEL_SVC), PASS_SERVICES);
	assert_int_equal(full_pass_list_of(OP_ADD_ADDR), PASS_ADDRS);
	assert_int_equal(full_pass_list_of(OP_DEL_ADDR), PASS_ADDRS);
	assert_int_equal(full_pass_list_of(OP_ADD_MEMBER), PASS_MEMBERS);
	assert_int_equal(full_pass_list_of(OP_DEL_MEMBER), PASS_MEMBERS);
	assert_int_equal(full_pass_list_of(OP_ADD_DEST), PASS_IDLE);
	assert_int_equal(full_pass_list_of(OP_SET_DEST), PASS_IDLE);
	assert_int_equal(full_pass_list_of(OP_DEL_DEST), PASS_IDLE);
}

/* --- a pass interleaved with snapshots, on a simulated kernel --- */

struct sim {
	struct ipvs_table *kernel;  /* the truth */
	struct ipvs_table *model;   /* what ipvsd believes */
	struct ipvs_table *desired; /* what the latest snapshot wants */
	struct key_set kaddrs, kmembers, maddrs, mmembers;
	struct vip_range range;
	struct owned owned;
	struct drains drains;
	struct plan plan;
};

/* Reads one service's destinations from the simulated kernel. */
static int sim_visit(const struct svc_key *k, void *arg)
{
	struct sim *s = arg;
	struct ipvs_svc *m = ipvs_table_find(s->model, k);
	const struct ipvs_svc *t = ipvs_table_find(s->kernel, k);

	if (!m)
		return 0;
	m->n_dests = 0;
	for (size_t i = 0; t && i < t->n_dests; i++)
		assert_non_null(ipvs_svc_insert_dest(m, &t->dests[i]));
	return 0;
}

/* Plans keys (NULL: everything) against the model and applies the plan to
 * the kernel and the model, as a successful apply does. */
static void sim_run(struct sim *s, const struct svc_key *keys, size_t n, int fresh)
{
	struct plan_input in = { .desired = s->desired, .kernel = s->model, .addrs = &s->maddrs,
				 .members = &s->mmembers, .owned = &s->owned,
				 .drains = &s->drains, .now_ms = 1000, .grace_ms = 60000,
				 .counters_fresh = fresh };

	if (keys)
		assert_int_equal(plan_build_keys(&in, keys, n, &s->plan), 0);
	else
		assert_int_equal(plan_build(&in, &s->plan), 0);
	for (size_t i = 0; i < s->plan.n; i++) {
		const struct plan_op *op = &s->plan.ops[i];

		/* nothing ever takes back what the latest snapshot wants */
		if (op->type == OP_SET_DEST || op->type == OP_DEL_DEST) {
			const struct ipvs_svc *d = ipvs_table_find(s->desired, &op->key);
			const struct ipvs_dest *dd =
				d ? ipvs_svc_find_dest(d, op->dest.addr, op->dest.port) : NULL;

			if (dd) {
				assert_int_equal(op->type, OP_SET_DEST);
				assert_int_equal(op->dest.weight, dd->weight);
			} else {
				assert_true(op->type == OP_DEL_DEST || op->dest.weight == 0);
			}
		}
		assert_int_not_equal(op->type, OP_DEL_SVC);
		plan_op_model(op, s->kernel, &s->kaddrs, &s->kmembers);
		plan_op_model(op, s->model, &s->maddrs, &s->mmembers);
	}
}

/* A snapshot changes one service's backends (weight 0: removed); the
 * event path applies it at once, against the model. */
static void sim_snapshot(struct sim *s, uint8_t last, uint8_t backend, uint32_t weight)
{
	struct svc_key k = key(last);
	struct ipvs_svc *d = ipvs_table_find(s->desired, &k);
	uint8_t a[16] = { 10, 0, 0, backend };
	struct ipvs_dest *x;

	assert_non_null(d);
	if (weight)
		dest(d, backend, weight);
	assert_non_null(x = ipvs_svc_find_dest(d, a, 8080));
	if (weight)
		x->weight = weight; /* a new weight for one already there */
	else
		ipvs_svc_remove_dest(d, x);
	sim_run(s, &k, 1, 0);
}

/* The kernel's weight of one destination (-1: absent). */
static long kernel_weight(const struct sim *s, uint8_t last, uint8_t backend)
{
	struct svc_key k = key(last);
	const struct ipvs_svc *t = ipvs_table_find(s->kernel, &k);
	uint8_t a[16] = { 10, 0, 0, backend };
	const struct ipvs_dest *d = t ? ipvs_svc_find_dest(t, a, 8080) : NULL;

	return d ? (long)d->weight : -1;
}

static void assert_kernel_is_desired(const struct sim *s)
{
	assert_int_equal(s->kernel->n, s->desired->n);
	for (size_t i = 0; i < s->desired->n; i++) {
		const struct ipvs_svc *d = &s->desired->svcs[i], *k = &s->kernel->svcs[i];

		assert_int_equal(svc_key_cmp(&d->key, &k->key), 0);
		assert_int_equal(k->n_dests, d->n_dests);
		for (size_t j = 0; j < d->n_dests; j++) {
			assert_memory_equal(k->dests[j].addr, d->dests[j].addr, 16);
			assert_int_equal(k->dests[j].weight, d->dests[j].weight);
		}
	}
}

static void test_interleaved_pass_repairs_and_keeps_snapshots(void **state)
{
	struct sim s = { 0 };
	struct full_pass p = { 0 };
	struct ipvs_table *fresh;
	const struct svc_key *first;
	struct svc_key drained = key(10);
	size_t n;
	int slices = 0;

	(void)state;
	s.kernel = ipvs_table_new();
	s.model = ipvs_table_new();
	s.desired = ipvs_table_new();
	assert_int_equal(vip_range_parse("11.0.0.0/8", &s.range), 0);
	s.owned.ranges = &s.range;
	s.owned.n = 1;
	for (uint8_t i = 1; i <= 12; i++) {
		dest(svc(s.desired, i), i, 1);
		dest(svc(s.desired, i), 100 + i, 1);
	}
	sim_run(&s, NULL, 0, 0); /* synced: kernel = model = desired */
	assert_kernel_is_desired(&s);

	/* drift behind ipvsd's back: a weight (service 3), a deleted service
	 * (6), a foreign destination in an owned service (10) */
	s.kernel->svcs[2].dests[0].weight = 9;
	ipvs_table_remove(s.kernel, &s.kernel->svcs[5]);
	dest(&s.kernel->svcs[8], 77, 5);
	assert_int_equal(kernel_weight(&s, 10, 77), 5);

	/* the pass: the service list first, then slices */
	fresh = ipvs_table_new();
	for (size_t i = 0; i < s.kernel->n; i++)
		assert_non_null(ipvs_table_insert(fresh, &s.kernel->svcs[i].key, "wlc"));
	assert_int_equal(full_pass_begin(&p, fresh, s.model, s.desired, NULL, NULL), 0);
	ipvs_table_free(s.model);
	s.model = fresh;
	assert_int_equal(p.keys.n, 12); /* 6 as well: wanted, though not in the kernel */
	while (!full_pass_visited(&p)) {
		assert_int_equal(full_pass_slice(&p, 3, sim_visit, &s, &first, &n), 0);
		sim_run(&s, first, n, 1);
		if (++slices != 1)
			continue;
		/* between two slices: service 11 (not read yet) loses a backend
		 * and gains one, service 1 (read) gets another weight; each takes
		 * effect at once (the model kept what ipvsd knew of 11) */
		sim_snapshot(&s, 11, 111, 0);
		sim_snapshot(&s, 11, 55, 3);
		sim_snapshot(&s, 1, 1, 7);
		assert_int_equal(kernel_weight(&s, 11, 111), 0);
		assert_int_equal(kernel_weight(&s, 11, 55), 3);
		assert_int_equal(kernel_weight(&s, 1, 1), 7);
	}
	assert_true(slices >= 4);
	/* the drift is repaired by the slices: the foreign TCP backend drains
	 * (weight 0), deleted by the next look with fresh counters; the one the
	 * snapshot removed was found idle by its slice and is gone */
	assert_int_equal(kernel_weight(&s, 3, 3), 1);
	assert_int_equal(kernel_weight(&s, 6, 6), 1);
	assert_int_equal(kernel_weight(&s, 10, 77), 0);
	assert_int_equal(kernel_weight(&s, 11, 111), -1);
	assert_int_equal(kernel_weight(&s, 11, 55), 3);
	assert_int_equal(kernel_weight(&s, 1, 1), 7);
	sim_run(&s, &drained, 1, 1);
	assert_kernel_is_desired(&s);
	/* the last stage finds nothing stray, and a full diff nothing left */
	{
		struct key_set strays = { 0 };

		assert_int_equal(full_pass_strays(&s.maddrs, &s.mmembers, NULL, s.desired,
						  &strays), 0);
		assert_int_equal(strays.n, 0);
		key_set_clear(&strays);
	}
	sim_run(&s, NULL, 0, 0);
	assert_int_equal(s.plan.n, 0);

	full_pass_end(&p);
	ipvs_table_free(s.kernel);
	ipvs_table_free(s.model);
	ipvs_table_free(s.desired);
	key_set_clear(&s.kaddrs);
	key_set_clear(&s.kmembers);
	key_set_clear(&s.maddrs);
	key_set_clear(&s.mmembers);
	drains_clear(&s.drains);
	plan_free_ops(&s.plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_begin_keeps_known_dests),
		cmocka_unit_test(test_slices_visit_each_key_once),
		cmocka_unit_test(test_batch_fits_the_budget),
		cmocka_unit_test(test_slice_makes_progress_with_no_budget),
		cmocka_unit_test(test_slice_stops_at_a_failed_visit),
		cmocka_unit_test(test_strays_are_what_no_service_covers),
		cmocka_unit_test(test_stage_read_again_when_changed_under_it),
		cmocka_unit_test(test_list_of_each_change),
		cmocka_unit_test(test_interleaved_pass_repairs_and_keeps_snapshots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
