// SPDX-License-Identifier: Apache-2.0
/*
 * A node restarted with its state dir lost (simulated cluster): it comes
 * back at epoch 1 while every other node holds a record of its earlier
 * life with a higher epoch, so its new records look older and are ignored
 * until it hears its old record and jumps past it (gossip.c). Every node
 * must end up with its new record and the right view, and no live node may
 * be marked unreachable on the way.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/log.h"
#include "tests/sim_overlay.h"

static struct sim S;

static void settle(void)
{
	assert_true(sim_until_converged(&S, 10000000) != UINT64_MAX);
	sim_run(&S, S.now + 1000000);
	assert_true(sim_until_settled(&S, 10000000) != UINT64_MAX);
}

/* Node x's record as held by node i equals x's own (version and view). */
static void assert_same_record(int i, int x)
{
	struct node_id n = sim_id(x);
	const struct adj_record *own = adj_find(S.nodes[x].o->adj, &n);
	const struct adj_record *r = adj_find(S.nodes[i].o->adj, &n);

	assert_non_null(own);
	assert_non_null(r);
	assert_true(r->have);
	assert_int_equal(r->epoch, own->epoch);
	assert_int_equal(r->clock, own->clock);
	assert_int_equal(r->n_active, own->n_active);
	for (size_t k = 0; k < own->n_active; k++)
		assert_true(node_eq(&r->active[k], &own->active[k]));
}

static void lost_state_dir(int crash)
{
	const int x = 6;
	struct node_id n = sim_id(x);
	uint64_t old_epoch;

	sim_init(&S, 12);
	sim_start(&S);
	settle();
	/* three earlier lives: its epoch is 4 everywhere */
	for (int k = 0; k < 3; k++) {
		sim_kill(&S, x);
		assert_true(sim_until_converged(&S, 2000000) != UINT64_MAX);
		sim_start_node(&S, x);
		settle();
	}
	old_epoch = adj_find(S.nodes[0].o->adj, &n)->epoch;
	assert_int_equal(old_epoch, 4);
	/* it dies (silently or cleanly) and its state dir is wiped */
	if (crash)
		sim_crash(&S, x);
	else
		sim_kill(&S, x);
	assert_true(sim_until_converged(&S, 3000000) != UINT64_MAX);
	for (int i = 0; i < S.n; i++)
		S.nodes[i].false_alarm = 0;
	S.nodes[x].epoch = 0;
	sim_start_node(&S, x);
	assert_int_equal(S.nodes[x].o->epoch, 1);
	settle();
	/* it jumped past its old life, and everyone holds its current record */
	assert_true(adj_version_cmp(S.nodes[x].o->epoch, S.nodes[x].o->clock, old_epoch, 0) > 0);
	for (int i = 0; i < S.n; i++) {
		assert_same_record(i, x);
		assert_int_equal(S.nodes[i].false_alarm, 0);
	}
	/* and its view of the others is right: their records as they hold them */
	for (int k = 0; k < S.n; k++)
		assert_same_record(x, k);
	sim_free(&S);
}

static void test_lost_state_dir_after_clean_kill(void **state)
{
	(void)state;
	lost_state_dir(0);
}

static void test_lost_state_dir_after_silent_crash(void **state)
{
	(void)state;
	lost_state_dir(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_state_dir_after_clean_kill),
		cmocka_unit_test(test_lost_state_dir_after_silent_crash),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
