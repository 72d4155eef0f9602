// SPDX-License-Identifier: Apache-2.0
/*
 * Local health in the simulation: a node whose own loop stops for a while
 * (SIGSTOP, a starved host) and then resumes. While it is stopped nothing
 * of it runs and what its peers send waits in its sockets; when it
 * resumes, the waiting messages are read before its timer fires (as with
 * libevent, which runs the ready sockets' callbacks before the expired
 * timers of the same turn). Its peers may mark it unreachable meanwhile
 * (they cannot tell it from a silent crash); it must not accuse any of
 * them for its own stall, and nobody may mark a third node unreachable
 * because of it. Also a restarted node, which learns the cluster's
 * records in a burst, and the orphan grace after a stall in adj_reach.
 * OVERLAY_LAG_DEBUG=1 shows the nodes' debug log.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "common/log.h"
#include "sim_overlay.h"

static struct sim S;

static void form(int n)
{
	sim_init(&S, n);
	sim_start(&S);
	assert_true(sim_until_converged(&S, 10000000) != UINT64_MAX);
	sim_run(&S, S.now + 1000000);
	assert_true(sim_until_settled(&S, 10000000) != UINT64_MAX);
}

/* Nodes whose loop does not run from `from` until `resume`. */
struct stop {
	int node;
	uint64_t from, resume;
};

static struct stop stops[2];
static size_t n_stops;

static const struct stop *stopped(int node, uint64_t at)
{
	for (size_t i = 0; i < n_stops; i++)
		if (stops[i].node == node && at >= stops[i].from && at < stops[i].resume)
			return &stops[i];
	return NULL;
}

/* Events for a stopped node due before its resume are held until then.
 * Its sockets are read in an order of their own (as epoll reports them:
 * per sender, each connection in order, not in the order sent), then its
 * timer fires. */
static void hold(struct sim *s)
{
	struct sim_event *all = malloc(s->nh * sizeof(*all));
	size_t n = 0;

	assert_non_null(all);
	while (s->nh)
		all[n++] = sim_pop(s);
	for (size_t i = 0; i < n; i++) {
		const struct stop *st = stopped(all[i].to, all[i].at);

		if (st)
			all[i].at = st->resume + (all[i].kind == EV_TICK ? (uint64_t)s->n + 1 :
					(uint64_t)((all[i].from * 5 + 3) % s->n));
		sim_push(s, all[i]);
	}
	free(all);
}

/* sim_run while the stops hold */
static void run_stopped(struct sim *s, uint64_t until)
{
	while (s->nh && s->heap[0].at <= until) {
		for (size_t i = 0; i < n_stops; i++)
			if (s->heap[0].at < stops[i].resume) {
				hold(s);
				break;
			}
		sim_run(s, s->heap[0].at);
	}
	s->now = until;
	n_stops = 0;
}

/* Runs until node v has a ping in flight on some link: the moment a stop
 * holds its answer back. Returns that link's peer. */
static int until_ping_in_flight(int v)
{
	for (;;) {
		struct overlay *o = S.nodes[v].o;

		for (size_t k = 0; k < o->n_active; k++)
			if (o->active[k].unacked_seq)
				return sim_index(&o->active[k].node);
		sim_run(&S, S.heap[0].at);
	}
}

/* Stops node v for stop_us at a moment it waits for a pong from a peer
 * p. With `pair`, p is stopped too (a starved host stops many processes
 * at once), and 150 ms longer: p's other neighbours drop it meanwhile
 * (accusations v reads when it resumes, before its timer runs), and once
 * v resumes p is silent for 150 ms, less than v's usual clock (timeout,
 * then a confirmation) takes to sever it. Runs 5 s; returns the number
 * of false alarms ("i saw k" pairs, k other than v and p; with `pair`, i
 * other than v and p too: the others dropped both, and the two are an
 * island of their own until they rejoin) and v's severs of its links. */
static int stop_and_resume(int v, uint64_t stop_us, int pair, uint64_t *v_severs)
{
	uint64_t start, severs0 = S.nodes[v].o->st.severs;
	int alarms = 0, p = until_ping_in_flight(v);

	struct node_id vid = sim_id(v);
	struct link *pl = overlay_link(S.nodes[p].o, &vid);

	/* p measured slow answers from v lately (a loaded host), so its
	 * timeout is long and it keeps the link through the stop, as node 7
	 * kept its link to the stopped node 6 in it_overlayd_loopback */
	assert_non_null(pl);
	for (int k = 0; pair && k < RTT_WINDOW; k++)
		rtt_add(&pl->rtt, 900000);
	if (!pair)
		p = -1;
	start = S.now;
	for (int i = 0; i < S.n; i++)
		memset(S.nodes[i].unreach_at, 0, sizeof(S.nodes[i].unreach_at));
	stops[0] = (struct stop){ v, start, start + stop_us };
	stops[1] = (struct stop){ p, start, start + stop_us + 150000 };
	n_stops = pair ? 2 : 1;
	run_stopped(&S, start + stop_us + 5000000);
	for (int i = 0; i < S.n; i++)
		for (int k = 0; k < S.n; k++)
			if (S.nodes[i].unreach_at[k] && k != p && i != p && k != v &&
			    !(pair && i == v)) {
				print_message("stop of %d: %d saw %d unreachable at +%llu ms\n", v, i,
					      k,
					      (unsigned long long)(S.nodes[i].unreach_at[k] - start) /
						      1000);
				alarms++;
			}
	/* its own drops were doubted for a while after it resumed */
	assert_true(S.nodes[v].o->adj->self_doubt_until_us > start + stop_us);
	*v_severs = S.nodes[v].o->st.severs - severs0;
	return alarms;
}

static void test_stopped_node_accuses_nobody(void **state)
{
	int alarms = 0, marked = 0;
	uint64_t severs = 0;

	(void)state;
	form(8);
	/* several stalls, each starting at another point of the ping cycle */
	for (int trial = 0; trial < 16; trial++) {
		int v = trial % S.n;
		uint64_t s;

		sim_run(&S, S.now + 1000000 + (uint64_t)trial * 7919);
		alarms += stop_and_resume(v, 1000000, trial % 2, &s);
		severs += s;
		for (int i = 0; i < S.n; i++)
			marked += i != v && S.nodes[i].unreach_at[v] != 0;
		assert_true(sim_until_settled(&S, 10000000) != UINT64_MAX);
	}
	print_message("16 stalls of 1 s: %d false alarms, %llu severs by the stalled node, "
		      "stalled node marked unreachable %d times by its peers\n",
		      alarms, (unsigned long long)severs, marked);
	assert_int_equal(alarms, 0);
	assert_int_equal(severs, 0);
	sim_free(&S);
}

/* A node killed (cleanly, or silently: its traffic dropped) and started
 * again with a new epoch, or with epoch 1 (its state dir lost): while it
 * learns the cluster anew it must not mark a live node unreachable, and
 * nobody else may either. */
static void test_restarted_node_accuses_nobody(void **state)
{
	int alarms = 0;

	(void)state;
	form(8);
	for (int trial = 0; trial < 100; trial++) {
		int v = (trial * 3) % S.n;

		sim_run(&S, S.now + 1000000 + (uint64_t)trial * 7919);
		if (trial % 2)
			sim_crash(&S, v);
		else
			sim_kill(&S, v);
		assert_true(sim_until_converged(&S, 5000000) != UINT64_MAX);
		sim_run(&S, S.now + (uint64_t)trial * 31337);
		for (int i = 0; i < S.n; i++)
			memset(S.nodes[i].unreach_at, 0, sizeof(S.nodes[i].unreach_at));
		/* three restarts in four with the state dir lost: epoch 1
		 * again, below the old life's record that everybody holds */
		if (trial % 4)
			S.nodes[v].epoch = 0;
		sim_start_node(&S, v);
		sim_run(&S, S.now + 5000000);
		for (int i = 0; i < S.n; i++)
			for (int k = 0; k < S.n; k++)
				if (S.nodes[i].unreach_at[k]) {
					print_message("restart of %d: %d saw %d unreachable\n", v, i, k);
					alarms++;
				}
		assert_true(sim_until_settled(&S, 10000000) != UINT64_MAX);
	}
	print_message("100 restarts: %d false alarms\n", alarms);
	assert_int_equal(alarms, 0);
	sim_free(&S);
}

/* node's record (epoch 1, clock) with view at now_us */
static void put(struct adj_table *t, int node, uint64_t clock, const int *view, size_t n,
		uint64_t now_us)
{
	struct node_id id = sim_id(node), v[4];

	for (size_t i = 0; i < n; i++)
		v[i] = sim_id(view[i]);
	assert_int_equal(adj_update(t, &id, 1, clock, v, n, now_us, NULL, 0, NULL), ADJ_NEWER);
}

static int reach(struct adj_table *t, int node, uint64_t now_us)
{
	struct node_id self = sim_id(0), id = sim_id(node);

	adj_reach(t, &self, now_us, 500000);
	return adj_find(t, &id)->reachable;
}

/* Node 0 finds its link to 1 closed, and its stale table shows no other
 * path to 1: normally its own record accuses 1 (a clean kill is seen at
 * once); just after its own loop stalled, 1 keeps an orphan grace while
 * 0 reads the records that were waiting (its peers dropped it, not each
 * other), and is unreachable once the grace is over. */
static void test_own_drop_after_stall_is_no_accusation(void **state)
{
	struct adj_table *t = adj_table_new();

	(void)state;
	assert_non_null(t);
	put(t, 0, 1, (int[]){ 1, 2 }, 2, 1000);
	put(t, 1, 1, (int[]){ 0 }, 1, 1000);
	put(t, 2, 1, (int[]){ 0 }, 1, 1000);
	assert_true(reach(t, 1, 2000));
	put(t, 0, 2, (int[]){ 2 }, 1, 3000);
	assert_false(reach(t, 1, 3000));
	/* the same, after a stall */
	put(t, 0, 3, (int[]){ 1, 2 }, 2, 4000);
	assert_true(reach(t, 1, 4000));
	t->self_doubt_until_us = 5000 + 500000;
	put(t, 0, 4, (int[]){ 2 }, 1, 5000);
	assert_true(reach(t, 1, 5000));
	assert_int_equal(t->n_pathless, 1);
	assert_true(reach(t, 1, 5000 + 400000));
	assert_false(reach(t, 1, 5000 + 500000));
	adj_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stopped_node_accuses_nobody),
		cmocka_unit_test(test_restarted_node_accuses_nobody),
		cmocka_unit_test(test_own_drop_after_stall_is_no_accusation),
	};

	log_init("test", getenv("OVERLAY_LAG_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
