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
	r->pass.failures0 = r->failures;
	r->pass.start_us = clock_mono_us();
	r->pass.longest_us = r->pass.busy_us = 0;
	r->pass.slices = 0;
	r->pass.changes = 0;
	slice_soon(r);
}

static int no_dests(const struct svc_key *k, void *arg)
{
	(void)k;
	(void)arg;
	return 0;
}

/* The service list, dumped afresh; the destinations ipvsd knows are kept
 * until each service's own slice reads them. */
static int pass_services(struct reconciler *r)
{
	struct ipvs_table *fresh = ipvs_table_new();
	int rc = -ENOMEM;

	if (!fresh)
		return rc;
	for (int tries = 0; tries < 3; tries++) {
		rc = ipvs_nl_dump(r->nl, no_dests, NULL, fresh);
		if (rc != -EINTR && rc != -ENOBUFS)
			break;
	}
	if (rc == 0)
		rc = full_pass_begin(&r->pass, fresh, r->kernel, r->desired, reconcile_want_dests,
				     r);
	if (rc < 0) {
		ipvs_table_free(fresh);
		return rc;
	}
	ipvs_table_free(r->kernel);
	r->kernel = fresh;
	return 0;
}

int reconcile_read_dests(struct reconciler *r, const struct svc_key *k)
{
	struct ipvs_svc *s = ipvs_table_find(r->kernel, k);
	struct ipvs_svc t = { .key = *k };
	int rc;

	if (!s)
		return 0; /* deleted since the service list (by the event path) */
	/* read aside: a failed dump leaves what ipvsd knew */
	rc = ipvs_nl_dump_dests(r->nl, &t);
	if (rc == 0) {
		struct ipvs_dest *old = s->dests;

		s->dests = t.dests;
		s->n_dests = t.n_dests;
		s->cap_dests = t.cap_dests;
		t.dests = old;
	}
	free(t.dests);
	return rc;
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

	if (r->failures == r->pass.failures0)
		r->failures = 0; /* this pass went through: the next failure retries at 1 s */
	r->last_full_us = clock_mono_us() - r->pass.start_us;
	log_debug("full reconcile pass: %zu services in the kernel, %u slices (longest %" PRIu64
		  " us, all %" PRIu64 " us, %" PRIu64 " us a service), %zu changes, %" PRIu64
		  " us", r->kernel->n, r->pass.slices, r->pass.longest_us, r->pass.busy_us,
		  r->pass.per_svc_us, r->pass.changes, r->last_full_us);
	full_pass_end(&r->pass);
	r->pass.again = 0;
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
	switch (r->pass.stage) {
	case PASS_IDLE:
		return;
	case PASS_SERVICES:
		rc = pass_services(r);
		break;
	case PASS_ADDRS:
		rc = reconcile_refresh_addrs(r);
		break;
	case PASS_MEMBERS:
		rc = reconcile_refresh_members(r);
		reconcile_checks(r);
		break;
	case PASS_DESTS:
		rc = pass_dests(r, &n);
		break;
	case PASS_FINAL:
		rc = pass_strays(r);
		break;
	}
	t0 = clock_mono_us() - t0;
	full_pass_note_slice(&r->pass, t0);
	full_pass_note_dests(&r->pass, n, t0); /* the next slice's size */
	if (r->cfg.slice_ms && t0 > 10 * slice_budget_us(r)) /* which stage holds it long */
		log_debug("full pass: a slice of stage %d took %" PRIu64 " us", r->pass.stage, t0);
	if (rc < 0) {
		set_last_error("reading the kernel state failed: %s", strerror(-rc));
		full_pass_end(&r->pass);
		reconcile_retry_later(r);
		return;
	}
	if (r->pass.stage == PASS_FINAL) {
		pass_end(r);
		return;
	}
	if (r->pass.stage != PASS_DESTS || full_pass_visited(&r->pass))
		r->pass.stage++;
	slice_soon(r);
}
