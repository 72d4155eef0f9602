// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/reconcile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/log.h"
#include "common/metrics.h"
#include "ipvsd/backoff.h"
#include "ipvsd/ipvs_nl.h"
#include "ipvsd/nat_backend.h"
#include "ipvsd/nat_check.h"
#include "ipvsd/nat_rules.h"
#include "ipvsd/reconcile_int.h"
#include "ipvsd/state_file.h"
#include "ipvsd/state_msg.h"
#include "ipvsd/vip_delta.h"
#include "ipvsd/vip_follow.h"

/* vipd repeats its last delta at least every 5 s, so a feed this quiet
 * means no vipd that publishes deltas (an older one, or none running):
 * snapshots are then asked for every FEED_POLL_MS instead, so changes still
 * arrive within seconds rather than at the next full check. */
#define FEED_QUIET_MS 12000
#define FEED_POLL_MS 2000
/* systemd hears READY=1 after the first reconcile, or after this long
 * without one (vipd away): ipvsd is running and keeps the kernel as it is. */
#define READY_WAIT_MS 10000

/* Owned, or programmed by ipvsd: worth dumping the destinations of. */
int reconcile_want_dests(const struct svc_key *k, void *arg)
{
	struct reconciler *r = arg;

	return owned_contains(&r->owned, k) || (r->desired && ipvs_table_find(r->desired, k));
}

static void schedule_soon(struct reconciler *r, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (!evtimer_pending(r->soon, NULL))
		evtimer_add(r->soon, &tv);
}

/* Every snapshot request goes out here (counted). */
static void ask_snapshot(struct reconciler *r, uint64_t now_ms)
{
	r->resync_ms = now_ms;
	counter_inc("vip_snapshot_requests");
	ipc_sub_request(r->vip_sub);
}

static void retry_in(struct reconciler *r, unsigned ms)
{
	if (r->retry.failures > 1)
		log_limited(LOG_LVL_WARN, "retry", "reconcile: %u failed passes in a row: next "
			    "try in %u ms", r->retry.failures, ms);
	schedule_soon(r, ms);
}

/* A full pass soon, after a failure: 1 s, then longer while failures
 * persist (reset when a pass goes through); a running pass retries when it
 * ends. */
void reconcile_retry_later(struct reconciler *r)
{
	unsigned ms;

	if (retry_fail(&r->retry, &ms))
		retry_in(r, ms);
}

void reconcile_pass_over(struct reconciler *r)
{
	unsigned ms;

	if (retry_pass_end(&r->retry, &ms))
		retry_in(r, ms);
}

/* The interface made right again (deleted, replaced or set down behind
 * ipvsd's back), recorded if ipvsd made it. 0 or -errno. */
int reconcile_ensure_if(struct reconciler *r)
{
	int rc;

	if ((rc = vip_addr_ensure(r->va)) < 0)
		return rc;
	if (vip_addr_created(r->va) && !r->cfg.dry_run &&
	    strcmp(r->state.made_if, r->cfg.ifname) != 0) {
		snprintf(r->state.made_if, sizeof(r->state.made_if), "%s", r->cfg.ifname);
		r->state_dirty = ipvsd_state_save(r->cfg.state_dir, &r->state) < 0;
	}
	return 0;
}

int reconcile_addrs_unread(struct reconciler *r, int rc)
{
	(void)r;
	counter_inc("addr_read_failures");
	log_limited(LOG_LVL_WARN, "addr_read", "vip-addr: the interface's addresses not read (%s): "
		    "the last ones read stand", strerror(-rc));
	return rc;
}

/* The interface and its addresses at once (the first pass); the model keeps
 * its addresses if they cannot be read. 0 or -errno. */
static int refresh_addrs(struct reconciler *r)
{
	struct key_set fresh = { 0 };
	int rc;

	if ((rc = reconcile_ensure_if(r)) < 0 || (rc = vip_addr_list(r->va, &fresh)) < 0) {
		key_set_clear(&fresh);
		return reconcile_addrs_unread(r, rc);
	}
	key_set_clear(&r->addrs);
	r->addrs = fresh;
	return 0;
}

/* The ipset members read, in place. Always 0: the sets never hold IPVS
 * back; a set that cannot be read keeps the members last read there
 * (member changes are idempotent), and vip_set_list made any that was gone
 * (in a dry run the sets may not exist at all). */
int reconcile_refresh_members(struct reconciler *r)
{
	int rc = vip_set_list(r->vs, &r->members);

	if (rc < 0 && !r->cfg.dry_run) {
		counter_inc("ipset_read_failures");
		log_limited(LOG_LVL_WARN, "ipset_read", "ipset: reading the VIP sets: %s",
			    strerror(-rc));
	}
	return 0;
}

static int read_ipvs(struct ipvs_table *into, void *arg)
{
	struct reconciler *r = arg;
	int rc = 0;

	for (int tries = 0; tries < 3; tries++) {
		rc = ipvs_nl_dump(r->nl, reconcile_want_dests, r, into);
		if (rc != -EINTR && rc != -ENOBUFS)
			break; /* interrupted or overrun dumps are simply redone */
	}
	return rc;
}

/* Refreshes the model from the kernel at once (the first pass: nothing can
 * be planned before it). What cannot be read keeps what ipvsd knew (at the
 * start: nothing, so plans only add and set, and ipvs_unread keeps every
 * recorded VIP), and changes still go through; *ipvs_read: the IPVS table
 * and its counters are fresh. 0, or the first -errno (retried). */
static int refresh(struct reconciler *r, int *ipvs_read)
{
	int rc = 0, ra;

	if (!r->nl) {
		ipvs_table_clear(r->kernel); /* a dry run without IPVS */
	} else if ((rc = ipvs_table_read_aside(&r->kernel, read_ipvs, r)) < 0) {
		counter_inc("ipvs_read_failures");
		log_limited(LOG_LVL_WARN, "ipvs_read", "ipvs: the services not read (%s): what "
			    "ipvsd knew stands", strerror(-rc));
	}
	*ipvs_read = rc == 0;
	if (rc == 0)
		r->ipvs_unread = 0;
	if ((ra = refresh_addrs(r)) < 0 && rc == 0)
		rc = ra;
	reconcile_refresh_members(r);
	r->have_kernel = 1;
	return rc;
}

/* Which interface an op goes through; consecutive ops of one kind are
 * sent as one batch. */
static int op_kind(enum plan_op_type t)
{
	if (ipvs_nl_handles(t))
		return 0;
	return t == OP_ADD_ADDR || t == OP_DEL_ADDR ? 1 : 2;
}

/* The model follows a change that reached the kernel. A pass reading the
 * list the change alters (service list, addresses, members) meanwhile reads
 * it again: the kernel resumes a dump by position, so its own change could
 * make it skip or repeat an entry (reconcile_pass.c). A destination change
 * alters none of them: counting it would have a members read begun again at
 * every weight change or drain end, until the last read in one go. */
static void model_apply(struct reconciler *r, const struct plan_op *op)
{
	plan_op_model(op, r->kernel, &r->addrs, &r->members);
	switch (full_pass_list_of(op->type)) {
	case PASS_SERVICES:
		r->svc_gen++;
		break;
	case PASS_ADDRS:
		r->addr_gen++;
		break;
	case PASS_MEMBERS:
		r->member_gen++;
		break;
	default: /* a destination: no stage's list */
		break;
	}
}

/* Applies r->plan in order: runs of IPVS changes go out batched. */
static void apply_plan(struct reconciler *r)
{
	struct plan *p = &r->plan;
	size_t i = 0, failed = 0;
	int lost = 0;

	if (p->n > r->errs_cap) {
		int *e = realloc(r->errs, p->n * sizeof(*e));

		if (!e) {
			reconcile_retry_later(r);
			return;
		}
		r->errs = e;
		r->errs_cap = p->n;
	}
	while (i < p->n) {
		size_t j = i;

		int kind = op_kind(p->ops[i].type), rc;
		uint64_t t = clock_mono_us();

		while (j < p->n && op_kind(p->ops[j].type) == kind)
			j++;
		if (kind == 0) {
			rc = ipvs_nl_apply(r->nl, &p->ops[i], j - i, &r->errs[i]);
			r->ipvs_us += clock_mono_us() - t;
		} else if (kind == 1) {
			rc = vip_addr_apply(r->va, &p->ops[i], j - i, &r->errs[i]);
			r->addr_us += clock_mono_us() - t;
		} else {
			rc = vip_set_apply(r->vs, &p->ops[i], j - i, &r->errs[i]);
			r->set_us += clock_mono_us() - t;
		}
		if (rc == -ENOBUFS)
			lost = 1;
		for (; i < j; i++) {
			char buf[160];

			if (r->errs[i] == 0) {
				model_apply(r, &p->ops[i]);
				continue;
			}
			failed++;
			if (r->errs[i] == -ENOENT && (p->ops[i].type == OP_ADD_SVC ||
						      p->ops[i].type == OP_SET_SVC))
				/* IPVS's answer when it cannot load the scheduler */
				log_limited(LOG_LVL_ERROR, "apply_sched", "apply: %s: scheduler %s "
					    "not available in this kernel (modprobe ip_vs_%s)",
					    plan_op_format(&p->ops[i], buf, sizeof(buf)),
					    p->ops[i].sched, p->ops[i].sched);
			else
				log_limited(LOG_LVL_WARN, "apply", "apply: %s: %s",
					    plan_op_format(&p->ops[i], buf, sizeof(buf)),
					    strerror(-r->errs[i]));
		}
	}
	r->last_failed = failed;
	counter_add("changes_applied", p->n - failed);
	if (failed) {
		counter_add("changes_failed", failed);
		set_last_error("%zu of %zu kernel changes failed", failed, p->n);
	}
	if (failed || lost) /* the model may be wrong: ask the kernel again */
		lost ? schedule_soon(r, 0) : reconcile_retry_later(r);
}

/* The desired table after a VIP table change of only `keys` (sorted): the
 * old entries of those services are moved to prev, the new ones computed
 * from the candidates and the reachability set. O(changed). */
static int desired_patch(struct reconciler *r, const struct svc_key *keys, size_t n,
			 struct ipvs_table *prev)
{
	struct ipvs_table *tiny = ipvs_table_new(), *d = NULL;
	int rc = -ENOMEM;

	if (!tiny)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct ipvs_svc *s = ipvs_table_find(r->desired, &keys[i]);
		const struct ipvs_svc *c = ipvs_table_find(r->cand, &keys[i]);

		if (s) {
			if (ipvs_table_put_copy(prev, s) < 0)
				goto done;
			ipvs_table_remove(r->desired, s);
		}
		if (c && ipvs_table_put_copy(tiny, c) < 0)
			goto done;
	}
	d = desired_build(tiny, r->reach, NULL);
	if (!d)
		goto done;
	for (size_t i = 0; i < d->n; i++)
		if (ipvs_table_put_copy(r->desired, &d->svcs[i]) < 0)
			goto done;
	rc = 0;
done:
	ipvs_table_free(tiny);
	ipvs_table_free(d);
	return rc;
}

/* Whether the state file should list k: an IP VIP outside the owned ranges
 * that ipvsd wants or has not yet removed. Returns 1 if that changed. */
static int state_note(struct reconciler *r, const struct svc_key *k)
{
	struct key_set *v = &r->state.vips;
	int want = !owned_in_ranges(&r->owned, k) &&
		   (ipvs_table_find(r->desired, k) || ipvs_table_find(r->kernel, k));

	if (want == key_set_has(v, k))
		return 0;
	if (!want && r->ipvs_unread)
		return 0; /* maybe in the kernel still: kept until IPVS is read */
	if (!want)
		key_set_remove(v, k);
	else if (key_set_insert(v, k) < 0)
		return 0; /* retried at the next change */
	return 1;
}

/* Brings the state file up to date for the services keys (NULL: all):
 * called before a plan is applied (a VIP is recorded before it is in the
 * kernel, so a crash cannot lose it) and after (a removed one is dropped). */
static void state_update(struct reconciler *r, const struct svc_key *keys, size_t n)
{
	struct key_set *v = &r->state.vips;
	int changed = 0;

	if (r->cfg.dry_run || !r->desired)
		return;
	if (keys) {
		for (size_t i = 0; i < n; i++)
			changed |= state_note(r, &keys[i]);
	} else {
		for (size_t i = 0; i < r->desired->n; i++)
			changed |= state_note(r, &r->desired->svcs[i].key);
		for (size_t i = v->n; i-- > 0;) {
			struct svc_key k = v->k[i];

			changed |= state_note(r, &k);
		}
	}
	if (changed || r->state_dirty)
		r->state_dirty = ipvsd_state_save(r->cfg.state_dir, &r->state) < 0;
}

/* Until the first rules check has finished (at the very first start: no
 * MASQUERADE rule yet) new VIP addresses wait: a client reaching a VIP then
 * would hang on backends without a route back to it. Services and
 * destinations go in at once; on_nat_done adds the addresses. */
static void defer_addresses(struct reconciler *r)
{
	size_t o = 0, held = 0;

	if (r->nat_ready)
		return;
	for (size_t i = 0; i < r->plan.n; i++) {
		if (r->plan.ops[i].type == OP_ADD_ADDR)
			held++;
		else
			r->plan.ops[o++] = r->plan.ops[i];
	}
	r->plan.n = o;
	if (held) {
		r->addrs_waiting = 1;
		log_info("reconcile: %zu VIP addresses wait for the first nat rules check", held);
	}
}

/* Before the first reachability snapshot nothing would be withheld: a
 * restart while a node is down would briefly give its backends weight again.
 * So the first plan waits for that snapshot, up to cfg.reach_wait_ms (then,
 * overlayd being away, nothing is withheld as before). */
static int holding(const struct reconciler *r)
{
	return !r->reach && !r->reach_waited;
}

/* The first reconcile with a VIP table has reached the kernel, addresses and
 * ipset members included: logged (benchmarks time it) and told to systemd.
 * A restart that finds every address in place does not wait for the rules
 * check. */
static void note_synced(struct reconciler *r)
{
	if (r->synced || (!r->nat_ready && r->addrs_waiting))
		return;
	r->synced = 1;
	log_info("initial reconcile done: %zu changes, %" PRIu64 " IPVS writes since start "
		 "(%zu services adopted from the kernel)",
		 r->start_changes, r->nl ? ipvs_nl_writes(r->nl) : 0, r->kernel->n);
	if (!r->ready)
		daemon_notify("READY=1");
	r->ready = 1;
}

static void drain_timer_arm(struct reconciler *r, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (r->drains.n && !evtimer_pending(r->drain_timer, NULL))
		evtimer_add(r->drain_timer, &tv);
}

/* Diffs and applies. counters_fresh: the model was just dumped. keys: only
 * these services are diffed (NULL: everything); patch: they changed in the
 * VIP table (their desired services are computed again), else they are
 * only looked at again (a slice of a full pass, draining services). */
static void run_plan(struct reconciler *r, int counters_fresh, const struct svc_key *keys,
		     size_t nkeys, int patch)
{
	struct ipvs_table *old = r->desired, *next, *prev = NULL;
	uint64_t t0 = r->rx_us ? r->rx_us : clock_mono_us();
	struct plan_input in;
	uint64_t t_state = 0, t_apply;
	char note[80];
	/* a look (a slice of a full pass: thousands of them) reads the clock
	 * once; in the test VM a read can cost a millisecond */
	int look = keys && !patch;

	r->rx_us = 0;
	r->ipvs_us = r->addr_us = r->set_us = 0;

	if (!r->cand || !r->have_kernel || holding(r))
		return; /* never act on an empty table before vipd has spoken */
	uint64_t t_in = look ? t0 : clock_mono_us();

	if (look) {
		if (!old)
			return; /* nothing desired yet to look against */
		next = old;
		old = NULL;
	} else if (keys) {
		/* only these services changed: patch the desired table in place */
		prev = ipvs_table_new();
		if (!prev || desired_patch(r, keys, nkeys, prev) < 0) {
			ipvs_table_free(prev);
			schedule_soon(r, 0);
			return;
		}
		next = old;
		old = NULL;
	} else {
		next = desired_build(r->cand, r->reach, &r->withheld);
		if (!next) {
			reconcile_retry_later(r);
			return;
		}
		prev = old;
	}
	uint64_t t_desired = look ? t0 : clock_mono_us();
	r->owned.prev = prev; /* IP VIPs ipvsd programmed stay its own */
	in = (struct plan_input){ .desired = next, .kernel = r->kernel, .addrs = &r->addrs,
				  .members = &r->members, .owned = &r->owned, .drains = &r->drains,
				  .cand = r->cand,
				  .now_ms = look ? t0 / 1000 : clock_mono_ms(),
				  .grace_ms = r->cfg.grace_s * 1000ull,
				  .counters_fresh = counters_fresh };
	if ((keys ? plan_build_keys(&in, keys, nkeys, &r->plan) : plan_build(&in, &r->plan)) < 0) {
		r->owned.prev = NULL;
		if (keys)
			ipvs_table_free(prev);
		else
			ipvs_table_free(next);
		keys ? schedule_soon(r, 0) : reconcile_retry_later(r);
		return;
	}
	r->owned.prev = NULL;
	if (keys)
		ipvs_table_free(prev);
	uint64_t t_plan = look ? t0 : clock_mono_us();

	r->desired = next;
	ipvs_table_free(old);
	defer_addresses(r);
	r->last_changes = r->plan.n;
	if (!r->synced)
		r->start_changes += r->plan.n;
	state_update(r, keys, nkeys); /* recorded before they reach the kernel */
	if (r->plan.n == 0)
		goto done;
	t_state = clock_mono_us() - t_plan;
	if (r->cfg.dry_run) {
		for (size_t i = 0; i < r->plan.n; i++) {
			char buf[160];

			printf("%s\n", plan_op_format(&r->plan.ops[i], buf, sizeof(buf)));
			model_apply(r, &r->plan.ops[i]);
		}
		fflush(stdout);
	} else {
		apply_plan(r);
		t_apply = clock_mono_us();
		state_update(r, keys, nkeys); /* removed ones are gone now */
		t_state += clock_mono_us() - t_apply;
	}
	r->last_apply_us = clock_mono_us() - t0;
	metrics_histogram_observe("reconcile_duration_seconds", (double)r->last_apply_us / 1e6);
	/* input: snapshot received to its candidates (the raw walk and delta,
	 * or the full unpack) */
	log_info("reconcile: %zu changes in %" PRIu64 " us (IPVS %" PRIu64 " us, addresses %" PRIu64
		 " us, ipset %" PRIu64 " us; VIP table %" PRIu64 ", reachability %" PRIu64
		 "; input %" PRIu64 " us, desired %" PRIu64 " us, plan %" PRIu64 " us, state file %"
		 PRIu64 " us)%s",
		 r->plan.n, r->last_apply_us, r->ipvs_us, r->addr_us, r->set_us, r->vip_gen,
		 r->reach_gen, t_in - t0, t_desired - t_in, t_plan - t_desired, t_state,
		 reconcile_pass_note(r, note, sizeof(note)));
done:
	/* a backend of a finished task goes within ~1/4 s of its last
	 * connection closing (longer while many drain) */
	drain_timer_arm(r, r->drain_looks ? drains_tick_ms(r->drain_looks, DRAIN_TICK_MAX) : 250);
	note_synced(r);
}

void reconcile_run(struct reconciler *r, int counters_fresh)
{
	run_plan(r, counters_fresh, NULL, 0, 0);
}

/* The services keys changed in the VIP table. */
static void run_keys(struct reconciler *r, const struct svc_key *keys, size_t n)
{
	run_plan(r, 0, keys, n, 1);
}

/* The services keys looked at again, the desired table as it is. */
void reconcile_run_look(struct reconciler *r, int counters_fresh, const struct svc_key *keys,
		     size_t n)
{
	run_plan(r, counters_fresh, keys, n, 0);
}

/* The sysctls and the nat rules (in the background), at every pass. */
void reconcile_checks(struct reconciler *r)
{
	if (!r->cfg.dry_run) {
		sysctls_ensure(0);
		/* in the background: a check still running is simply not doubled */
		nat_check_start(r->nat);
	}
}

/* The whole model read from the kernel at once, then one diff: the first
 * pass (nothing can be planned before it), and any pass without IPVS (a dry
 * run with nothing to dump). 0, or negative if the kernel could not be read
 * (retried soon). */
int reconcile_full(struct reconciler *r)
{
	uint64_t t0 = clock_mono_us();
	int rc, ipvs_read;

	if (r->pass.stage != PASS_IDLE) { /* superseded */
		evtimer_del(r->slice_ev);
		reconcile_pass_abort(r);
	}
	retry_pass_begin(&r->retry);
	rc = refresh(r, &ipvs_read);
	counter_inc("full_reconciles");
	if (rc < 0) { /* what was read is used; the rest is read again soon */
		set_last_error("reading the kernel state failed: %s", strerror(-rc));
		reconcile_retry_later(r);
	}
	reconcile_checks(r);
	reconcile_run(r, ipvs_read);
	reconcile_pass_over(r);
	r->last_full_us = clock_mono_us() - t0;
	log_debug("full reconcile pass: %zu services in the kernel, %" PRIu64 " us",
		  r->kernel->n, r->last_full_us);
	return 0;
}

static void on_soon(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reconcile_pass_start(arg, 0); /* a retry, or the first pass: nothing to count as a repair */
}

/* The safety net of the delta path: every period a fresh snapshot is
 * fetched and compared in full with what the deltas built (repairing any
 * divergence, e.g. a hash collision of the raw snapshot path), beside the
 * kernel's own dumps. */
static void on_periodic(evutil_socket_t fd, short what, void *arg)
{
	struct reconciler *r = arg;

	(void)fd;
	(void)what;
	/* What the periodic pass changes after start-up is drift repaired: the
	 * event path had already applied every table (edits behind ipvsd's
	 * back, a kernel that lost state). A pass still running is the one
	 * this period asks for. */
	if (r->pass.stage == PASS_IDLE)
		reconcile_pass_start(r, 1);
	if (r->vip_sub) {
		r->vip_check = 1;
		ask_snapshot(r, clock_mono_ms());
	}
}

static int key_cmp(const void *a, const void *b)
{
	return svc_key_cmp(a, b);
}

/* A drain tick stops dumping counters after this long (the rest wait for
 * their turn): at most 5-20 % of the loop's time, however slow the kernel
 * answers. */
#define DRAIN_TICK_BUDGET_US 50000

/* While destinations drain, look at their services' counters often, so an
 * idle one goes soon without dumping the whole table: a bounded number of
 * services per tick, in turn (drains_pick), one dump each within a time
 * budget, none for those whose backends' nodes are unreachable (only their
 * grace period ends them), and ticks further apart while many drain
 * (drains_tick_ms). */
static void on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
	struct reconciler *r = arg;
	struct svc_key picked[DRAIN_TICK_MAX], dumped[DRAIN_TICK_MAX], graced[DRAIN_TICK_MAX];
	uint8_t dump[DRAIN_TICK_MAX];
	uint64_t t0 = clock_mono_us();
	size_t n, nd = 0, ng = 0;

	(void)fd;
	(void)what;
	if (!r->nl || !r->have_kernel || !r->desired)
		return;
	n = drains_pick(&r->drains, &r->drain_cursor, clock_mono_ms(), r->cfg.grace_s * 1000ull,
			picked, dump, DRAIN_TICK_MAX, &r->drain_looks);
	for (size_t i = 0; i < n; i++) {
		if (!dump[i]) {
			graced[ng++] = picked[i];
			continue;
		}
		if (nd && clock_mono_us() - t0 > DRAIN_TICK_BUDGET_US) {
			/* out of time: the next tick goes on from here */
			r->drain_cursor = picked[i - 1];
			counter_inc("drain_ticks_cut");
			break;
		}
		if (reconcile_read_dests(r, &picked[i]) < 0) {
			schedule_soon(r, 0);
			return;
		}
		dumped[nd++] = picked[i];
	}
	/* rotation order wraps around once: sorted again for the plan */
	qsort(dumped, nd, sizeof(*dumped), key_cmp);
	qsort(graced, ng, sizeof(*graced), key_cmp);
	if (nd)
		reconcile_run_look(r, 1, dumped, nd);
	if (ng) /* no fresh counters: only the grace period can end these */
		reconcile_run_look(r, 0, graced, ng);
	drain_timer_arm(r, drains_tick_ms(r->drain_looks, DRAIN_TICK_MAX));
}

/* Asks for a full snapshot (at most once a second: the reply, or REQ's own
 * resend, follows). d: the delta that did not fit (NULL: malformed); a
 * request held back by the once-a-second limit is dropped when a snapshot
 * at least that new arrives meanwhile (resync_answered). */
static void resync(struct reconciler *r, const char *why, const L4lb__V1__VipTableDelta *d)
{
	uint64_t now = clock_mono_ms();

	counter_inc("vip_delta_resyncs");
	log_limited(LOG_LVL_INFO, "vip_resync", "VIP table %" PRIu64 ": %s, asking vipd for a "
		    "snapshot", r->vip_gen, why);
	if (!r->vip_sub)
		return;
	if (r->resync_ms && now - r->resync_ms < 1000) {
		int any = !d && !r->vip_held;
		uint64_t epoch = d ? d->publisher_epoch : r->vip_epoch;
		uint64_t gen = d ? d->generation : r->vip_gen + 1;

		/* what answers it: the delta's table, or anything newer than the
		 * one held (any table if none is); one already held back keeps
		 * the newest wanted: a malformed delta after a gap must not let
		 * a snapshot older than the gap's delta answer both */
		if (!r->resync_pending || r->want_any) {
			r->want_any = any;
			r->want_epoch = epoch;
			r->want_gen = gen;
		} else if (!any && (epoch != r->want_epoch || gen > r->want_gen)) {
			r->want_epoch = epoch;
			r->want_gen = gen;
		}
		r->resync_pending = 1; /* on_feed_timer sends it when the second is over */
		return;
	}
	r->resync_pending = 0;
	ask_snapshot(r, now);
}

/* A snapshot (epoch, gen) was taken: a held-back request it answers is not
 * sent: one for that table or an older one of its epoch (a heartbeat delta
 * that overtook the reply to the first one), for any, or (replaced: the
 * snapshot is of a new epoch) for a table of the run it replaced. */
static void resync_answered(struct reconciler *r, uint64_t epoch, uint64_t gen, int replaced)
{
	if (!r->resync_pending ||
	    (!r->want_any && !(replaced && r->want_epoch == r->left_epoch) &&
	     (epoch != r->want_epoch || gen < r->want_gen)))
		return;
	r->resync_pending = 0;
	counter_inc("vip_resyncs_answered");
}

/* The table (epoch, gen) is now held. One of a new epoch comes from a
 * restarted publisher: the old one's deltas still queued here are
 * leftovers (left_over), and a request held back for one of them is
 * answered by it. But epochs are not ordered: one of the publisher taken
 * for the replaced one (a reply it sent before it stopped, read after the
 * new one's table) says nothing about which is the newer: then nothing is
 * a leftover (the other one's deltas ask for its table again). */
static void table_held(struct reconciler *r, uint64_t epoch, uint64_t gen)
{
	int replaced = 0;

	if (r->left_valid && epoch == r->left_epoch) {
		r->left_valid = 0;
	} else if (r->vip_held && epoch != r->vip_epoch) {
		/* (heard_gen is never below vip_gen while a table is held) */
		r->left_valid = replaced = 1;
		r->left_epoch = r->vip_epoch;
		r->left_gen = r->heard_gen;
	}
	if (!r->vip_held || epoch != r->vip_epoch || gen > r->heard_gen)
		r->heard_gen = gen;
	r->vip_gen = gen;
	r->vip_epoch = epoch;
	r->vip_held = 1;
	resync_answered(r, epoch, gen, replaced);
}

/* A delta of the publisher a new one replaced, and nothing newer than was
 * heard of from it: sent before the restart, read after the new one's
 * snapshot (another socket). Asking for a snapshot again would bring the
 * same table. */
static int left_over(struct reconciler *r, const L4lb__V1__VipTableDelta *d)
{
	if (!r->left_valid || d->publisher_epoch != r->left_epoch || d->generation > r->left_gen)
		return 0;
	counter_inc("vip_deltas_left_over");
	return 1;
}

/* A snapshot older than the table the deltas brought (a reply overtaken by
 * a delta) would step back: it is left alone. */
static int snapshot_behind(struct reconciler *r, uint64_t epoch, uint64_t gen)
{
	if (!r->vip_held || epoch != r->vip_epoch || gen >= r->vip_gen)
		return 0;
	counter_inc("vip_tables_behind");
	return 1;
}

void reconcile_on_vip_table(const Envelope *env, void *arg)
{
	struct reconciler *r = arg;
	uint64_t rx = r->peek_us ? r->peek_us : clock_mono_us();
	struct ipvs_table *c;
	int walked = r->walk_next_ok;
	int check;

	r->peek_us = 0;
	r->walk_next_ok = 0;
	if (snapshot_behind(r, env->vip_table->publisher_epoch, env->vip_table->generation))
		return;
	/* the periodic check's snapshot of the very table the deltas built:
	 * whatever it changes, they had got wrong */
	check = r->vip_check && r->vip_held && r->synced &&
		r->vip_epoch == env->vip_table->publisher_epoch &&
		r->vip_gen == env->vip_table->generation;
	r->walk_prev_ok = 0;
	r->vip_check = 0;
	c = desired_candidates(env->vip_table, &r->cfg.dcfg);
	if (!c) {
		log_error("VIP table %" PRIu64 ": out of memory", env->vip_table->generation);
		return;
	}
	size_t n = RECONCILE_FAST_MAX + 1;

	if (r->cand && r->desired && r->have_kernel)
		n = ipvs_table_diff_keys(r->cand, c, r->changed, RECONCILE_FAST_MAX);
	ipvs_table_free(r->cand);
	r->cand = c;
	if (walked) {
		/* the next table is compared with this one's bytes */
		struct vipwalk t = r->walk_prev;

		r->walk_prev = r->walk_next;
		r->walk_next = t;
		r->walk_prev_ok = 1;
	}
	table_held(r, env->vip_table->publisher_epoch, env->vip_table->generation);
	r->rx_us = rx;
	counter_inc("vip_tables");
	if (!r->have_kernel)
		reconcile_full(r);
	else if (n <= RECONCILE_FAST_MAX)
		run_keys(r, r->changed, n);
	else
		reconcile_run(r, 0);
	if (check && r->have_kernel)
		counter_add("reconcile_repairs", r->last_changes);
}

int reconcile_vip_peek(const void *data, size_t len, uint64_t *epoch, uint64_t *gen, void *arg)
{
	struct reconciler *r = arg;
	int rc;

	r->peek_us = clock_mono_us();
	r->walk_next_ok = 0;
	rc = vipwalk_parse(data, len, &r->walk_next);
	if (rc < 0) {
		/* the full unpack judges it (and reports it if it is bad) */
		counter_inc("vip_tables_unwalked");
		return rc;
	}
	r->walk_next_ok = 1;
	*epoch = r->walk_next.epoch;
	*gen = r->walk_next.gen;
	return 0;
}

int reconcile_vip_apply(const void *data, size_t len, void *arg)
{
	struct reconciler *r = arg;
	size_t n = 0;
	int rc;

	(void)len;
	if (r->walk_next_ok && snapshot_behind(r, r->walk_next.epoch, r->walk_next.gen)) {
		r->walk_next_ok = 0;
		return IPC_RAW_SKIPPED;
	}
	/* nothing to compare with yet, or the periodic full check: the full path */
	if (!r->walk_next_ok || !r->walk_prev_ok || !r->cand || !r->desired || !r->have_kernel ||
	    r->vip_check)
		return -EAGAIN;
	rc = vip_delta_apply(r->cand, &r->walk_prev, &r->walk_next, data, &r->cfg.dcfg,
			     r->changed, RECONCILE_FAST_MAX, &n);
	if (rc == -ENOMEM) {
		/* cand may be half patched: the full path rebuilds it */
		ipvs_table_free(r->cand);
		r->cand = NULL;
	}
	if (rc < 0) {
		counter_inc(rc == -E2BIG ? "vip_tables_many_changes" : "vip_tables_fast_failed");
		/* the full path decides; a well-formed table refused here means the
		 * walker and protobuf-c disagree, worth a look */
		if (rc != -E2BIG)
			log_limited(LOG_LVL_WARN, "vip_fast", "VIP table %" PRIu64 ": fast path "
				    "refused it (%s), taking the full path", r->walk_next.gen,
				    strerror(-rc));
		return rc;
	}
	struct vipwalk t = r->walk_prev;

	r->walk_prev = r->walk_next;
	r->walk_next = t;
	r->walk_next_ok = 0;
	table_held(r, r->walk_prev.epoch, r->walk_prev.gen);
	r->rx_us = r->peek_us;
	r->peek_us = 0;
	counter_inc("vip_tables");
	counter_inc("vip_tables_fast");
	run_keys(r, r->changed, n);
	return 0;
}

static void on_feed_timer(evutil_socket_t fd, short what, void *arg)
{
	struct reconciler *r = arg;
	uint64_t now = clock_mono_ms();

	(void)fd;
	(void)what;
	if (!r->ready && now - r->start_ms >= READY_WAIT_MS) {
		log_warn("no first reconcile after %u s (no VIP table from vipd yet): telling "
			 "systemd ipvsd is ready; the kernel is left as it is", READY_WAIT_MS / 1000);
		daemon_notify("READY=1");
		r->ready = 1;
	}
	if (!r->vip_sub || now - r->resync_ms < 1000)
		return;
	if (r->resync_pending) {
		r->resync_pending = 0;
		ask_snapshot(r, now);
	} else if (now - r->delta_ms >= FEED_QUIET_MS && now - r->resync_ms >= FEED_POLL_MS) {
		counter_inc("vip_delta_feed_quiet");
		log_limited(LOG_LVL_WARN, "vip_feed_quiet", "no VIP table delta from vipd for %u s "
			    "(vipd down, or older than vipd.delta.pub): asking for snapshots every "
			    "%u s", FEED_QUIET_MS / 1000, FEED_POLL_MS / 1000);
		ask_snapshot(r, now);
	}
}

int reconcile_on_vip_delta(const void *data, size_t len, void *arg)
{
	struct reconciler *r = arg;
	uint64_t rx = clock_mono_us();
	const char *why = NULL;
	Envelope *env = envelope_unpack(data, len, &why);
	const L4lb__V1__VipTableDelta *d;
	enum follow_verdict verdict;
	size_t n = 0;
	int rc;

	r->delta_ms = clock_mono_ms();
	if (env && env->type != L4LB__V1__ENVELOPE__TYPE__VIP_TABLE_DELTA)
		why = "not a VIP table delta";
	if (!env || why) {
		report_bad_input("vip_delta_malformed", "VIP table delta: %s (%zu bytes)", why, len);
		resync(r, "malformed delta", NULL);
		goto done;
	}
	d = env->vip_table_delta;
	verdict = vip_follow_check(r->vip_held && r->cand, r->vip_epoch, r->vip_gen, d);
	if (verdict != FOLLOW_BAD && r->vip_held && d->publisher_epoch == r->vip_epoch &&
	    d->generation > r->heard_gen)
		r->heard_gen = d->generation;
	switch (verdict) {
	case FOLLOW_CURRENT:
		goto done;
	case FOLLOW_BAD:
		report_bad_input("vip_delta_malformed", "VIP table delta %llu from %llu: "
				 "inconsistent", (unsigned long long)d->generation,
				 (unsigned long long)d->base_generation);
		resync(r, "malformed delta", NULL);
		goto done;
	case FOLLOW_RESYNC:
		if (!left_over(r, d))
			resync(r, r->vip_held ? "delta does not follow" : "no table yet", d);
		goto done;
	case FOLLOW_APPLY:
		break;
	}
	rc = vip_follow_apply(r->cand, d, &r->cfg.dcfg, r->changed, RECONCILE_FAST_MAX, &n);
	if (rc < 0) {
		if (rc == -ENOMEM) { /* cand may be half patched: a snapshot rebuilds it */
			ipvs_table_free(r->cand);
			r->cand = NULL;
			r->vip_held = 0;
		} else {
			report_bad_input("vip_delta_unclean", "VIP table delta %llu: %s",
					 (unsigned long long)d->generation, strerror(-rc));
		}
		resync(r, "delta does not apply", d);
		goto done;
	}
	/* the raw snapshot path compares with the last snapshot: not this */
	r->walk_prev_ok = 0;
	r->vip_gen = d->generation;
	r->rx_us = rx;
	counter_inc("vip_deltas_applied");
	if (!r->have_kernel)
		reconcile_full(r);
	else if (n <= RECONCILE_FAST_MAX && r->desired)
		run_keys(r, r->changed, n);
	else
		reconcile_run(r, 0);
done:
	envelope_free(env);
	return 0;
}

void reconcile_set_vip_source(struct reconciler *r, struct ipc_sub *sub)
{
	r->vip_sub = sub;
}

void reconcile_on_reachability(const Envelope *env, void *arg)
{
	struct reconciler *r = arg;
	struct reach_set *s = reach_set_from_pb(env->reachability);

	if (!s)
		return;
	counter_inc("reachability_snapshots");
	r->reach_gen = env->reachability->generation;
	if (reach_set_equal(r->reach, s)) {
		/* a new generation with the same nodes (overlayd restarted, a
		 * node heard of or forgotten): nothing to plan; at 10k services
		 * a whole-table plan is not free */
		counter_inc("reachability_unchanged");
		reach_set_free(s);
		return;
	}
	reach_set_free(r->reach);
	r->reach = s;
	r->rx_us = clock_mono_us();
	if (r->have_kernel)
		reconcile_run(r, 0);
	else
		reconcile_full(r);
}

static void on_reach_timer(evutil_socket_t fd, short what, void *arg)
{
	struct reconciler *r = arg;

	(void)fd;
	(void)what;
	r->reach_waited = 1;
	if (r->reach)
		return;
	log_warn("no reachability snapshot from overlayd within %u ms: withholding no backend "
		 "until one arrives", r->cfg.reach_wait_ms);
	if (r->have_kernel && r->cand)
		reconcile_run(r, 0);
}

/* The first rules check is over: the VIP addresses it held back go in. */
static void on_nat_done(void *arg)
{
	struct reconciler *r = arg;

	if (r->nat_ready)
		return;
	r->nat_ready = 1;
	if (r->have_kernel && r->cand)
		reconcile_run(r, 0);
}

int reconcile_new(struct event_base *base, const struct reconcile_cfg *cfg,
		  struct reconciler **out)
{
	struct reconciler *r = calloc(1, sizeof(*r));
	struct timeval tv;
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->cfg = *cfg;
	r->base = base;
	r->nat_ready = cfg->dry_run;
	r->owned.ranges = r->cfg.ranges;
	r->owned.n = r->cfg.n_ranges;
	r->kernel = ipvs_table_new();
	r->ipvs_unread = 1;
	r->periodic = event_new(base, -1, EV_PERSIST, on_periodic, r);
	r->soon = evtimer_new(base, on_soon, r);
	r->drain_timer = evtimer_new(base, on_drain_timer, r);
	r->feed_timer = event_new(base, -1, EV_PERSIST, on_feed_timer, r);
	r->reach_timer = evtimer_new(base, on_reach_timer, r);
	r->slice_ev = evtimer_new(base, reconcile_pass_on_slice, r);
	if (!r->kernel || !r->periodic || !r->soon || !r->drain_timer || !r->feed_timer ||
	    !r->reach_timer || !r->slice_ev) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = ipvs_nl_open(&r->nl);
	if (rc < 0 && !cfg->dry_run)
		goto fail;
	if (rc < 0)
		log_warn("dry-run: no IPVS here: planning against an empty IPVS table");
	if ((rc = ipvsd_state_load(cfg->state_dir, &r->state)) < 0)
		log_warn("state file in %s not read: %s", cfg->state_dir, strerror(-rc));
	r->owned.recorded = &r->state.vips;
	if ((rc = vip_addr_open(cfg->ifname, cfg->dry_run, cfg->any_if, &r->va)) < 0 ||
	    (rc = vip_set_open(cfg->dry_run, &r->vs)) < 0)
		goto fail;
	if (vip_addr_created(r->va) && !cfg->dry_run) {
		snprintf(r->state.made_if, sizeof(r->state.made_if), "%s", cfg->ifname);
		r->state_dirty = ipvsd_state_save(cfg->state_dir, &r->state) < 0;
	}
	/* the first rules check starts now and runs alongside the first sync;
	 * only a missing iptables stops ipvsd here */
	if (!cfg->dry_run)
		nat_backend_resolve(cfg->iptables);
	if (cfg->dry_run) { /* the start's setup, said rather than done */
		sysctls_ensure(1);
		log_info("dry-run: would check and put in place the nat chains L4LB-MASQ and "
			 "L4LB-VIPS, their rules and jumps (ipvsd(8), NAT RULES AND SETS)");
	}
	if (!cfg->dry_run &&
	    ((rc = sysctls_ensure(0)) < 0 ||
	     (rc = nat_check_new(base, on_nat_done, r, &r->nat)) < 0 ||
	     (rc = nat_check_start(r->nat)) < 0))
		goto fail;
	tv = (struct timeval){ cfg->interval_s, 0 };
	evtimer_add(r->periodic, &tv);
	r->delta_ms = clock_mono_ms(); /* the start's own snapshot request comes first */
	r->start_ms = r->delta_ms;
	tv = (struct timeval){ 1, 0 };
	evtimer_add(r->feed_timer, &tv);
	r->reach_waited = cfg->reach_wait_ms == 0; /* 0: no wait at all */
	tv = (struct timeval){ cfg->reach_wait_ms / 1000, (cfg->reach_wait_ms % 1000) * 1000 };
	if (!r->reach_waited)
		evtimer_add(r->reach_timer, &tv);
	*out = r;
	return 0;
fail:
	reconcile_free(r);
	return rc;
}

void reconcile_free(struct reconciler *r)
{
	if (!r)
		return;
	/* nothing is flushed: the kernel keeps serving while ipvsd is away */
	if (r->periodic)
		event_free(r->periodic);
	if (r->soon)
		event_free(r->soon);
	if (r->drain_timer)
		event_free(r->drain_timer);
	if (r->feed_timer)
		event_free(r->feed_timer);
	if (r->reach_timer)
		event_free(r->reach_timer);
	if (r->slice_ev)
		event_free(r->slice_ev);
	reconcile_pass_abort(r);
	nat_check_free(r->nat);
	ipvs_nl_close(r->nl);
	vip_addr_close(r->va);
	vip_set_close(r->vs);
	ipvs_table_free(r->cand);
	ipvs_table_free(r->desired);
	ipvs_table_free(r->kernel);
	reach_set_free(r->reach);
	vipwalk_clear(&r->walk_prev);
	vipwalk_clear(&r->walk_next);
	key_set_clear(&r->addrs);
	key_set_clear(&r->members);
	ipvsd_state_clear(&r->state);
	drains_clear(&r->drains);
	plan_free_ops(&r->plan);
	free(r->errs);
	free(r);
}

struct ipvs_nl *reconcile_ipvs_nl(const struct reconciler *r)
{
	return r->nl;
}

void reconcile_status(status_kv_fn kv, void *kvarg, void *arg)
{
	struct reconciler *r = arg;
	char buf[64], buf2[64];

#define KV(key, fmt, val) \
	do { \
		snprintf(buf, sizeof(buf), fmt, val); \
		kv(key, buf, kvarg); \
	} while (0)
	KV("mode", "%s", r->cfg.dry_run ? "dry-run" : "apply");
	KV("vip_generation", "%" PRIu64, r->vip_gen);
	KV("reach_generation", "%" PRIu64, r->reach_gen);
	KV("services", "%zu", r->desired ? r->desired->n : 0);
	KV("destinations", "%zu", r->desired ? ipvs_table_dest_count(r->desired) : 0);
	KV("withheld", "%zu", r->withheld);
	KV("failed_passes", "%u", r->retry.failures);
	KV("vip_resync_pending", "%d", r->resync_pending);
	KV("draining", "%zu", r->drains.n);
	KV("last_changes", "%zu", r->last_changes);
	KV("last_apply_us", "%" PRIu64, r->last_apply_us);
	KV("last_full_us", "%" PRIu64, r->last_full_us);
	if (r->pass.stage == PASS_IDLE)
		kv("full_pass", "idle", kvarg);
	else
		KV("full_pass", "%s", reconcile_pass_progress(r, buf2, sizeof(buf2)));
	KV("full_pass_longest_slice_us", "%" PRIu64, r->pass.longest_us);
	KV("ipvs_writes", "%" PRIu64, r->nl ? ipvs_nl_writes(r->nl) : 0);
	KV("nat_check", "%s", r->nat ? nat_check_state(r->nat) : "off");
	KV("nat_check_last_ms", "%" PRIu64, r->nat ? nat_check_last_ms(r->nat) : 0);
#undef KV
}

int reconcile_state_reply(const Envelope *req, struct ipc_buf *reply, void *arg)
{
	struct reconciler *r = arg;
	struct ipvs_table *want = NULL;
	struct drains scratch = { 0 };
	struct plan pending = { 0 };
	int rc = 0;

	(void)req;
	if (r->cand) {
		/* every difference, without touching ipvsd's drain clock: a TCP
		 * backend at weight 0 shows as deleted, as it will be once its
		 * connections end (state_msg marks it draining) */
		struct plan_input in = { .kernel = r->kernel, .addrs = &r->addrs,
					 .members = &r->members, .owned = &r->owned,
					 .drains = &scratch, .now_ms = clock_mono_ms(),
					 .grace_ms = 0 };

		want = desired_build(r->cand, r->reach, NULL);
		in.desired = want;
		if (!want || plan_build(&in, &pending) < 0)
			rc = -ENOMEM;
	}
	if (rc == 0)
		rc = state_msg_pack(want, r->cand, r->have_kernel ? r->kernel : NULL, &pending,
				    r->vip_gen, r->reach_gen, reply);
	ipvs_table_free(want);
	plan_free_ops(&pending);
	drains_clear(&scratch);
	return rc;
}
