// SPDX-License-Identifier: Apache-2.0
/* ipvsd's bound on the per-change fast path (RECONCILE_FAST_MAX, 64 changed
 * services in reconcile.c): a VIP table changing more services than that at
 * once is refused by the fast path, counted (vip_tables_many_changes), and
 * the full path gives exactly what a fresh ipvsd computes from the same
 * table; at the bound the fast path takes it, with the same result. The
 * reconciler runs in dry-run mode (no kernel changes) and is fed the way
 * ipc_sub feeds it: the raw hooks first, the full unpack when they refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/log.h"
#include "ipvsd/options.h"
#include "ipvsd/reconcile.h"

#define NVIPS 200
#define FAST_MAX 64 /* RECONCILE_FAST_MAX */

static char state_dir[] = "/tmp/test_ipvsd_bounds.XXXXXX";
static struct event_base *base;

/* VIP i is 11.0.i/256.i%256:80/tcp with two backends; weight[i] is the
 * first one's weight, which is what the tables below change. */
static void pack_table(const uint32_t *weight, uint64_t gen, struct ipc_buf *out)
{
	static L4lb__V1__Vip vips[NVIPS], *vp[NVIPS];
	static L4lb__V1__Backend bs[NVIPS][2], *bp[NVIPS][2];
	static uint8_t vip_ip[NVIPS][4], be_ip[NVIPS][2][4];
	L4lb__V1__VipTable vt = L4LB__V1__VIP_TABLE__INIT;
	Envelope env = L4LB__V1__ENVELOPE__INIT;

	for (size_t i = 0; i < NVIPS; i++) {
		L4lb__V1__Vip *v = &vips[i];

		l4lb__v1__vip__init(v);
		memcpy(vip_ip[i], (uint8_t[]){ 11, 0, (uint8_t)(i / 256), (uint8_t)i }, 4);
		v->has_protocol = v->has_ip = v->has_port = v->has_family = 1;
		v->protocol = L4LB__V1__PROTOCOL__TCP;
		v->family = L4LB__V1__FAMILY__INET;
		v->ip.data = vip_ip[i];
		v->ip.len = 4;
		v->port = 80;
		for (size_t j = 0; j < 2; j++) {
			L4lb__V1__Backend *b = &bs[i][j];

			l4lb__v1__backend__init(b);
			memcpy(be_ip[i][j], (uint8_t[]){ 10, 1, (uint8_t)j, (uint8_t)i }, 4);
			b->has_ip = b->has_port = b->has_weight = b->has_agent_ip = 1;
			b->ip.data = be_ip[i][j];
			b->ip.len = 4;
			b->port = 8080;
			b->weight = j ? 1 : weight[i];
			b->agent_ip = b->ip;
			bp[i][j] = b;
		}
		v->backends = bp[i];
		v->n_backends = 2;
		vp[i] = v;
	}
	vt.has_generation = vt.has_publisher_epoch = 1;
	vt.generation = gen;
	vt.publisher_epoch = 5;
	vt.source = (char *)"test";
	vt.vips = vp;
	vt.n_vips = NVIPS;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE;
	env.vip_table = &vt;
	assert_int_equal(envelope_pack(&env, out), 0);
}

static struct reconciler *new_reconciler(void)
{
	struct reconcile_cfg cfg;
	struct reconciler *r;

	ipvsd_options_defaults(&cfg);
	cfg.dry_run = 1;
	cfg.state_dir = state_dir;
	cfg.ifname = "l4lbbound0"; /* looked up, never created in a dry run */
	cfg.reach_wait_ms = 0;     /* no reachability here: plan at once */
	assert_int_equal(reconcile_new(base, &cfg, &r), 0);
	return r;
}

/* What ipc_sub does with a VIP table (common/ipc.c sub_deliver), without
 * the ordering: the raw hooks, else the full unpack. The dry run's plan
 * lines go to /dev/null. */
static void deliver(struct reconciler *r, const struct ipc_buf *b)
{
	uint64_t epoch, gen;
	int out = dup(1), null = open("/dev/null", O_WRONLY);

	fflush(stdout);
	dup2(null, 1);
	if (reconcile_vip_peek(b->data, b->len, &epoch, &gen, r) < 0 ||
	    reconcile_vip_apply(b->data, b->len, r) < 0) {
		const char *why;
		Envelope *env = envelope_unpack(b->data, b->len, &why);

		assert_non_null(env);
		reconcile_on_vip_table(env, r);
		envelope_free(env);
	}
	fflush(stdout);
	dup2(out, 1);
	close(out);
	close(null);
}

/* The IPVS_STATE reply l4lbctl ipvs gets: desired, kernel model, pending. */
static void state_of(struct reconciler *r, struct ipc_buf *out)
{
	Envelope req = L4LB__V1__ENVELOPE__INIT;

	assert_int_equal(reconcile_state_reply(&req, out, r), 0);
}

/* Feeds `first` then `next` (gen 2) to one reconciler and `next` alone to a
 * fresh one: both end in the same state, byte for byte. Returns how the
 * counters moved on the way to `next`. */
static void check_same_as_fresh(const uint32_t *first, const uint32_t *next, uint64_t *fast,
				uint64_t *many)
{
	struct ipc_buf a, b, sa, sb;
	struct reconciler *r = new_reconciler(), *fresh = new_reconciler();
	uint64_t f0, m0;

	pack_table(first, 1, &a);
	pack_table(next, 2, &b);
	deliver(r, &a);
	f0 = counter_value("vip_tables_fast");
	m0 = counter_value("vip_tables_many_changes");
	deliver(r, &b);
	*fast = counter_value("vip_tables_fast") - f0;
	*many = counter_value("vip_tables_many_changes") - m0;
	deliver(fresh, &b);
	state_of(r, &sa);
	state_of(fresh, &sb);
	assert_int_equal(sa.len, sb.len);
	assert_memory_equal(sa.data, sb.data, sa.len);
	ipc_buf_free(&a);
	ipc_buf_free(&b);
	ipc_buf_free(&sa);
	ipc_buf_free(&sb);
	reconcile_free(r);
	reconcile_free(fresh);
}

/* Tables before and after: every weight 1, then `changed` VIPs (every
 * stride-th) at 7. */
static void weights(uint32_t *w0, uint32_t *w1, size_t changed, size_t stride)
{
	for (size_t i = 0; i < NVIPS; i++)
		w0[i] = w1[i] = 1;
	for (size_t i = 0; i < changed; i++)
		w1[i * stride] = 7;
}

static void test_over_the_bound_full_path(void **state)
{
	uint32_t w0[NVIPS], w1[NVIPS];
	uint64_t fast, many;

	(void)state;
	weights(w0, w1, FAST_MAX + 1, 3); /* 65 services change at once */
	check_same_as_fresh(w0, w1, &fast, &many);
	assert_int_equal(many, 1);
	assert_int_equal(fast, 0);
	weights(w0, w1, NVIPS, 1); /* all of them */
	check_same_as_fresh(w0, w1, &fast, &many);
	assert_int_equal(many, 1);
	assert_int_equal(fast, 0);
}

static void test_at_the_bound_fast_path(void **state)
{
	uint32_t w0[NVIPS], w1[NVIPS];
	uint64_t fast, many;

	(void)state;
	weights(w0, w1, FAST_MAX, 3);
	check_same_as_fresh(w0, w1, &fast, &many);
	assert_int_equal(fast, 1);
	assert_int_equal(many, 0);
}

/* The control: the two states differ when the tables do (the comparison
 * above could not pass by comparing nothing). */
static void test_states_differ_when_tables_do(void **state)
{
	uint32_t w0[NVIPS], w1[NVIPS];
	struct ipc_buf a, b, sa, sb;
	struct reconciler *r = new_reconciler(), *s = new_reconciler();

	(void)state;
	weights(w0, w1, 1, 1); /* one VIP only */
	pack_table(w0, 2, &a);
	pack_table(w1, 2, &b);
	deliver(r, &a);
	deliver(s, &b);
	state_of(r, &sa);
	state_of(s, &sb);
	assert_true(sa.len != sb.len || memcmp(sa.data, sb.data, sa.len) != 0);
	ipc_buf_free(&a);
	ipc_buf_free(&b);
	ipc_buf_free(&sa);
	ipc_buf_free(&sb);
	reconcile_free(r);
	reconcile_free(s);
}

static int setup(void **state)
{
	(void)state;
	log_init("test_ipvsd_bounds", LOG_LVL_ERROR);
	base = event_base_new();
	return !base || !mkdtemp(state_dir);
}

static int teardown(void **state)
{
	char path[sizeof(state_dir) + 32];

	(void)state;
	snprintf(path, sizeof(path), "%s/ipvsd.state", state_dir);
	unlink(path);
	rmdir(state_dir);
	event_base_free(base);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_over_the_bound_full_path),
		cmocka_unit_test(test_at_the_bound_fast_path),
		cmocka_unit_test(test_states_differ_when_tables_do),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
