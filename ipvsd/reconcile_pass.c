// SPDX-License-Identifier: Apache-2.0
/* The periodic full reconcile in slices (full_pass.h): the stages, driven
 * from the event loop, and what the hot path says about a running pass. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/log.h"
#include "ipvsd/ipvs_nl.h"
#include "ipvsd/reconcile_int.h"

/* "412/10001 services read" (a pass in slices is running). */
char *reconcile_pass_progress(const struct reconciler *r, char *buf, size_t size)
{
	snprintf(buf, size, "%zu/%zu services read", r->pass.next, r->pass.keys.n);
	return buf;
}

/* Said of a change applied while a full pass runs (benchmarks count them). */
const char *reconcile_pass_note(const struct reconciler *r, char *buf, size_t size)
{
	char p[48];

	if (r->pass.stage == PASS_IDLE)
		return "";
	snprintf(buf, size, "; during a full pass (%s)", reconcile_pass_progress(r, p, sizeof(p)));
	return buf;
}

/* A slice takes as many services as fit cfg.slice_ms by what the last
 * slices cost (a dump is a round trip, ~0.4 ms in a quiet test VM), so a
 * snapshot arriving during a pass waits about half that. 0: no limit, the
 * pass reads every service's destinations at once. */
static uint64_t slice_budget_us(const struct reconciler *r)
{
	return r->cfg.slice_ms ? r->cfg.slice_ms * 1000ull : UINT64_MAX;
}

/* The next slice, once the event loop has polled its sockets (a zero
 * timeout runs after that). */
static void slice_soon(struct reconciler *r)
{
	static const struct timeval now = { 0, 0 };

	evtimer_add(r->slice_ev, &now);
}

/* Starts a full pass in slices (full_pass.h) once the model exists; a pass
 * asked for while one runs follows it. */
void reconcile_pass_start(struct reconciler *r, int count_repairs)
{
	if (!r->have_kernel || !r->nl) {
		int was_synced = r->synced;

		if (reconcile_full(r) == 0 && count_repairs && was_synced)
			counter_add("reconcile_repairs", r->last_changes);
		return;
	}
	if (r->pass.stage != PASS_IDLE) {
		r->pass.again = 1;
		return;
	}
	counter_inc("full_reconciles");
	r->pass.stage = PASS_SERVICES;
	r->pass.again = 0;
	r->pass.count_repairs = count_repairs && r->synced;
	retry_pass_begin(&r->retry);
	r->pass.start_us = clock_mono_us();
	r->pass.longest_us = r->pass.busy_us = 0;
	r->pass.slices = 0;
	r->pass.changes = 0;
	slice_soon(r);
}

void reconcile_pass_abort(struct reconciler *r)
{
	if (r->nl)
		ipvs_nl_list_abort(r->nl);
	if (r->va)
		vip_addr_list_abort(r->va);
	r->pass_reading = 0;
	ipset_list_abort(&r->pass_set);
	ipvs_table_free(r->pass_svcs);
	r->pass_svcs = NULL;
	key_set_clear(&r->pass_addrs);
	key_set_clear(&r->pass_members);
	full_pass_end(&r->pass);
}

/* A stage's dump has ended (rc: 1 whole, -errno); gen: what ipvsd has
 * changed of what it lists, by now (full_pass_read_end). 1 use it, 0 it
 * is read again, -errno. */
static int pass_read_end(struct reconciler *r, int rc, uint64_t gen)
{
	r->pass_reading = 0;
	rc = full_pass_read_end(&r->pass, rc, gen != r->read_gen);
	if (rc == 0)
		counter_inc("full_pass_rereads");
	return rc;
}

static uint64_t read_budget(const struct reconciler *r)
{
	return full_pass_read_budget(&r->pass, slice_budget_us(r));
}

/* The service list, dumped afresh a few parts per slice; once whole, the
 * destinations ipvsd knows are kept until each service's own slice reads
 * them. 1 when done, 0 for more slices, -errno. */
static int pass_services(struct reconciler *r)
{
	int rc;

	if (!r->pass_reading) {
		if (!r->pass_svcs && !(r->pass_svcs = ipvs_table_new()))
			return -ENOMEM;
		if ((rc = ipvs_nl_list_start(r->nl, r->pass_svcs)) < 0)
			return rc;
		r->pass_reading = 1;
		r->read_gen = r->svc_gen;
	}
	rc = ipvs_nl_list_step(r->nl, read_budget(r));
	if (rc == 0 || (rc = pass_read_end(r, rc, r->svc_gen)) <= 0)
		return rc;
	rc = full_pass_begin(&r->pass, r->pass_svcs, r->kernel, r->desired, reconcile_want_dests,
			     r);
	if (rc < 0)
		return rc;
	ipvs_table_free(r->kernel); /* its destinations moved over */
	r->kernel = r->pass_svcs;
	r->pass_svcs = NULL;
	r->ipvs_unread = 0;
	return 1;
}

/* The interface made right, then its addresses read a few parts per slice.
 * Addresses that cannot be read keep the last ones read (counted, the pass
 * retried) and the pass goes on: IPVS repairs do not wait for them. 1 when
 * done, 0 for more slices. */
static int pass_addrs(struct reconciler *r)
{
	int rc;

	if (!r->pass_reading) {
		if ((rc = reconcile_ensure_if(r)) < 0 ||
		    (rc = vip_addr_list_start(r->va, &r->pass_addrs)) < 0)
			goto unread;
		r->pass_reading = 1;
		r->read_gen = r->addr_gen;
	}
	rc = vip_addr_list_step(r->va, read_budget(r));
	if (rc == 0 || (rc = pass_read_end(r, rc, r->addr_gen)) == 0)
		return 0;
	if (rc < 0)
		goto unread;
	key_set_clear(&r->addrs);
	r->addrs = r->pass_addrs;
	r->pass_addrs = (struct key_set){ 0 };
	return 1;
unread:
	vip_addr_list_abort(r->va);
	r->pass_reading = 0;
	r->pass.rereads = 0;
	reconcile_addrs_unread(r, rc);
	reconcile_retry_later(r); /* noted: the pass retries when it ends */
	return 1;
}

static const char *const vip_sets[] = { VIP_SET4, VIP_SET6 };

/* The members of both ipsets, read a few parts per slice. A set that
 * cannot be read (gone, or failing) is left to vip_set_list, at once: it
 * makes a gone set again and keeps a failing one's last members. 1 when
 * done, 0 for more slices. */
static int pass_members(struct reconciler *r)
{
	int rc;

	if (!r->pass_reading) {
		r->pass_members.n = 0;
		r->pass_set_i = 0;
		r->read_gen = r->member_gen;
		if ((rc = ipset_list_start(&r->pass_set, vip_sets[0], &r->pass_members)) < 0)
			goto at_once;
		r->pass_reading = 1;
	}
	rc = ipset_list_step(&r->pass_set, read_budget(r));
	if (rc == 1 && r->pass_set_i == 0) {
		r->pass_set_i = 1;
		if ((rc = ipset_list_start(&r->pass_set, vip_sets[1], &r->pass_members)) < 0)
			goto at_once;
		return 0;
	}
	if (rc == 0 || (rc = pass_read_end(r, rc, r->member_gen)) == 0)
		return 0;
	if (rc < 0)
		goto at_once;
	key_set_sort(&r->pass_members);
	key_set_clear(&r->members);
	r->members = r->pass_members;
	r->pass_members = (struct key_set){ 0 };
	return 1;
at_once:
	ipset_list_abort(&r->pass_set);
	r->pass_reading = 0;
	r->pass.rereads = 0;
	return reconcile_refresh_members(r) == 0;
}

static int read_dests_nl(struct ipvs_svc *into, void *arg)
{
	return ipvs_nl_dump_dests(arg, into);
}

int reconcile_read_dests(struct reconciler *r, const struct svc_key *k)
{
	struct ipvs_svc *s = ipvs_table_find(r->kernel, k);

	if (!s)
		return 0; /* deleted since the service list (by the event path) */
	return ipvs_svc_read_aside(s, read_dests_nl, r->nl);
}

static int visit_dests(const struct svc_key *k, void *arg)
{
	return reconcile_read_dests(arg, k);
}

/* A slice's changes: counted as repairs by a periodic pass after the first
 * sync (at once: a test seeing the repair may look at the counter). */
static void pass_changed(struct reconciler *r)
{
	r->pass.changes += r->last_changes;
	if (r->pass.count_repairs)
		counter_add("reconcile_repairs", r->last_changes);
}

/* The destinations of the next few services, reconciled at once against
 * what is wanted now (their connection counters are fresh: idle drained
 * destinations may go). */
static int pass_dests(struct reconciler *r, size_t *n)
{
	const struct svc_key *keys;
	int rc = full_pass_slice(&r->pass, full_pass_batch(&r->pass, slice_budget_us(r)),
				 visit_dests, r, &keys, n);

	/* no desired table yet (the first plan waits for reachability): the
	 * last stage builds it */
	if (*n && r->desired) {
		r->last_changes = 0;
		reconcile_run_look(r, 1, keys, *n);
		pass_changed(r);
	}
	return rc;
}

/* What no service's slice saw: addresses and ipset members left by someone
 * else (or by a failed change) with no service wanted on them. */
static int pass_strays(struct reconciler *r)
{
	struct key_set keys = { 0 };

	r->last_changes = 0;
	if (!r->desired) {
		reconcile_run(r, 0); /* builds the desired table once it may be */
	} else {
		if (full_pass_strays(&r->addrs, &r->members, &r->state.vips, r->desired,
				     &keys) < 0)
			return -ENOMEM;
		if (keys.n)
			reconcile_run_look(r, 0, keys.k, keys.n);
		key_set_clear(&keys);
	}
	pass_changed(r);
	return 0;
}

static void pass_end(struct reconciler *r)
{
	int again = r->pass.again;

	r->last_full_us = clock_mono_us() - r->pass.start_us;
	log_debug("full reconcile pass: %zu services in the kernel, %u slices (longest %" PRIu64
		  " us, all %" PRIu64 " us, %" PRIu64 " us a service), %zu changes, %" PRIu64
		  " us", r->kernel->n, r->pass.slices, r->pass.longest_us, r->pass.busy_us,
		  r->pass.per_svc_us, r->pass.changes, r->last_full_us);
	full_pass_end(&r->pass);
	r->pass.again = 0;
	reconcile_pass_over(r);
	if (again)
		reconcile_pass_start(r, 0);
}

/* One slice of the pass, then back to the event loop: a snapshot that
 * arrived meanwhile is applied before the next slice (a zero timeout runs
 * after the loop has polled its sockets). */
void reconcile_pass_on_slice(evutil_socket_t fd, short what, void *arg)
{
	struct reconciler *r = arg;
	uint64_t t0 = clock_mono_us();
	size_t n = 0;
	int rc = 0;

	(void)fd;
	(void)what;
	/* rc: 1 the stage is done, 0 it goes on in the next slice */
	switch (r->pass.stage) {
	case PASS_IDLE:
		return;
	case PASS_SERVICES:
		rc = pass_services(r);
		break;
	case PASS_ADDRS:
		rc = pass_addrs(r);
		break;
	case PASS_MEMBERS:
		if ((rc = pass_members(r)) == 1)
			reconcile_checks(r);
		break;
	case PASS_DESTS:
		if ((rc = pass_dests(r, &n)) == 0)
			rc = full_pass_visited(&r->pass);
		break;
	case PASS_FINAL:
		if ((rc = pass_strays(r)) == 0)
			rc = 1;
		break;
	}
	t0 = clock_mono_us() - t0;
	full_pass_note_slice(&r->pass, t0);
	full_pass_note_dests(&r->pass, n, t0); /* the next slice's size */
	if (r->cfg.slice_ms && t0 > 10 * slice_budget_us(r)) /* which stage holds it long */
		log_debug("full pass: a slice of stage %d took %" PRIu64 " us", r->pass.stage, t0);
	if (rc < 0) {
		set_last_error("reading the kernel state failed: %s", strerror(-rc));
		reconcile_pass_abort(r);
		reconcile_retry_later(r);
		reconcile_pass_over(r);
		return;
	}
	if (rc == 1 && r->pass.stage == PASS_FINAL) {
		pass_end(r);
		return;
	}
	if (rc == 1)
		r->pass.stage++;
	slice_soon(r);
}
