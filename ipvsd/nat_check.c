// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/nat_check.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/counters.h"
#include "common/log.h"
#include "ipvsd/child.h"
#include "ipvsd/nat_listing.h"
#include "ipvsd/nat_rules.h"

#define CALL_TIMEOUT_S 60
#define REAP_RETRY_MS 10
/* A family's restore text (nat_rules_batch): about 500 bytes */
#define BATCH_MAX 2048
/* A nat table of tens of thousands of docker or kube-proxy rules lists in
 * a few MiB; a bigger one is checked piece by piece, never judged cut */
#define LIST_MAX ((size_t)4 << 20)
#define LIST_TURN ((size_t)256 << 10) /* read of it per loop turn */

struct nat_check {
	struct event_base *base;
	struct event *out_ev; /* the running call's output */
	struct event *timer;  /* its time limit, then retries of waitpid */
	struct nat_step steps[NAT_STEPS_MAX];
	size_t n, idx;
	/* running steps[idx]'s STAGE_CHECK, _FIX or _FIX2, the listing of
	 * its family (STAGE_LIST) or the restore putting the whole family in
	 * place (STAGE_BATCH: steps[idx] is its first step) */
	int stage;
	const char *list_argv[2][NAT_ARGV_MAX];
	const char *restore_argv[2][4];
	char batch[2][BATCH_MAX]; /* "": that family is never batched */
	char *list; /* the listing's text, NUL-terminated */
	size_t list_len, list_cap;
	int list_cut;  /* over LIST_MAX or unreadable: not to be judged */
	int list_fam;  /* the family it lists this pass; -1: none yet */
	int list_ok;   /* whole: steps of list_fam are judged from it */
	unsigned batch_ran; /* bit per family: its restore ran this pass */
	unsigned char made[NAT_STEPS_MAX]; /* this check created that step's chain */
	int running;
	int last;   /* 0 never, 1 ok, -1 failed */
	pid_t pid;  /* 0: no call running */
	int fd;
	char out[256];
	size_t out_len;
	uint64_t started_ms, last_ms;
	uint64_t call_deadline_ms; /* the running call is killed past this */
	unsigned repaired, failed;
	nat_check_done_fn done;
	void *done_arg;
};

static void on_output(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);

enum { STAGE_LIST, STAGE_CHECK, STAGE_FIX, STAGE_FIX2, STAGE_BATCH };

static const char *const *cur_argv(const struct nat_check *c)
{
	const struct nat_step *s = &c->steps[c->idx];

	if (c->stage == STAGE_LIST)
		return c->list_argv[s->v6];
	if (c->stage == STAGE_BATCH)
		return c->restore_argv[s->v6];
	return c->stage == STAGE_FIX2 ? s->fix2 : c->stage == STAGE_FIX ? s->fix : s->check;
}

/* The step's first repair: fix2 when the piece cannot be there at all. */
static int first_fix(const struct nat_step *s, int absent)
{
	return absent && s->fix2[0] ? STAGE_FIX2 : STAGE_FIX;
}

/* Moves to the next step. Its check is skipped when its chain was just
 * created (each command is a process start, ~23 ms in an emulated VM). */
static void next_step(struct nat_check *c)
{
	size_t dep;

	c->idx++;
	dep = c->idx < c->n ? c->steps[c->idx].chain : 0;
	c->stage = dep > 0 && c->made[dep - 1] ? first_fix(&c->steps[c->idx], 1) : STAGE_CHECK;
}

static void finish(struct nat_check *c)
{
	/* a big table's listing is not kept for 30 s */
	free(c->list);
	c->list = NULL;
	c->list_len = c->list_cap = 0;
	c->running = 0;
	c->last = c->failed ? -1 : 1;
	c->last_ms = clock_mono_ms() - c->started_ms;
	counter_inc("nat_checks");
	if (c->failed) {
		counter_add("nat_rule_failures", c->failed);
		set_last_error("nat rules check: %u command(s) failed", c->failed);
	}
	if (c->repaired || c->failed)
		log_info("nat: rules check done in %" PRIu64 " ms: %u put in place, %u failed",
			 c->last_ms, c->repaired, c->failed);
	else
		log_debug("nat: rules check done in %" PRIu64 " ms: all in place", c->last_ms);
	if (c->done)
		c->done(c->done_arg);
}

/* Starts the current command; 0 or -errno. */
static int spawn(struct nat_check *c)
{
	struct timeval tv = { CALL_TIMEOUT_S, 0 };
	const struct nat_step *s = &c->steps[c->idx];
	const char *in = c->stage == STAGE_FIX ? s->fix_input :
			 c->stage == STAGE_BATCH ? c->batch[s->v6] : NULL;
	int rc = child_spawn_in(cur_argv(c), in, &c->pid, &c->fd);

	if (rc < 0) {
		c->pid = 0;
		return rc;
	}
	c->out_len = 0;
	c->out[0] = 0;
	c->list_len = 0;
	c->list_cut = 0;
	c->call_deadline_ms = clock_mono_ms() + CALL_TIMEOUT_S * 1000;
	event_assign(c->out_ev, c->base, c->fd, EV_READ | EV_PERSIST, on_output, c);
	event_add(c->out_ev, NULL);
	evtimer_add(c->timer, &tv);
	return 0;
}

/* Whether the family's whole listing shows none of its pieces: neither
 * chain, no jump (a rule cannot be without its chain). Only then is the
 * family put in place by one restore: its ":CHAIN" lines would flush a
 * chain that exists. steps[idx] is the family's first step. */
static int family_fresh(const struct nat_check *c)
{
	int v6 = c->steps[c->idx].v6;

	for (size_t i = c->idx; i < c->n && c->steps[i].v6 == v6; i++)
		if (c->steps[i].kind != NAT_KIND_RULE &&
		    nat_listing_judge(c->list, &c->steps[i]) != NAT_MISSING)
			return 0;
	return 1;
}

/* The listing of the current step's family ended with status (-errno: it
 * could not be started). Only a whole one is judged from: one that failed,
 * was cut or reads oddly is never taken as "missing" (a second copy of a
 * rule); each step of the family then runs its own check, as before. */
static void listed(struct nat_check *c, int status)
{
	const char *why = NULL;
	char cmd[256];

	c->list_fam = c->steps[c->idx].v6;
	c->stage = STAGE_CHECK;
	if (status != 0)
		why = status < 0 ? "cannot be run" : "failed";
	else if (c->list_cut)
		why = "printed over 4 MiB or could not be read";
	else if (!c->list || c->list_len == 0 || nat_listing_whole(c->list, c->list_len) < 0)
		why = "printed no whole listing";
	c->list_ok = !why;
	/* a fresh table (every first start): the family's 7 pieces in one
	 * process instead of 7 (each ~23 ms in an emulated VM) */
	if (c->list_ok && c->batch[c->list_fam][0] && !(c->batch_ran & (1u << c->list_fam)) &&
	    family_fresh(c))
		c->stage = STAGE_BATCH;
	if (why)
		log_limited(LOG_LVL_WARN, "nat_listing",
			    "nat: `%s` %s (status %d): checking each rule by itself",
			    nat_argv_format(c->list_argv[c->list_fam], cmd, sizeof(cmd)), why,
			    status);
}

/* Judges the current step from its family's listing: 1 when it is in
 * place (nothing to run), else 0 with the stage set to what must run: the
 * repair, or the step's own check when the listing cannot tell (counted,
 * so that an iptables printing rules in a new form is seen). */
static int judged_in_place(struct nat_check *c)
{
	const struct nat_step *s = &c->steps[c->idx];
	enum nat_verdict v = c->list_ok ? nat_listing_judge(c->list, s) : NAT_UNTOLD;
	char cmd[256];

	switch (v) {
	case NAT_IN_PLACE:
		return 1;
	case NAT_MISSING:
		c->stage = first_fix(s, 1);
		return 0;
	case NAT_MISPLACED:
		c->stage = first_fix(s, 0);
		return 0;
	case NAT_UNTOLD:
		break;
	}
	counter_inc("nat_check_fallbacks");
	if (c->list_ok)
		log_limited(LOG_LVL_INFO, "nat_untold",
			    "nat: cannot tell from the listing whether %s is in place: `%s`",
			    s->name, nat_argv_format(s->check, cmd, sizeof(cmd)));
	return 0;
}

/* The restore of a fresh family could not run or failed (status, or -errno
 * when it could not start): each piece is then put in by itself as without
 * the batch, and a piece the kernel refuses is named. One that could not
 * start changed nothing: the listing still holds. One that ran is judged
 * from a new listing (never batched again this pass): a failed restore
 * changes nothing (one transaction), but one killed or lost just after its
 * commit did, and writing each piece from the old listing would add every
 * rule and jump a second time. */
static void batch_failed(struct nat_check *c, int status)
{
	char cmd[256];

	log_limited(LOG_LVL_WARN, "nat_batch",
		    "nat: `%s` failed (%s %d), putting each piece in place by itself: %s",
		    nat_argv_format(cur_argv(c), cmd, sizeof(cmd)),
		    status < 0 ? "cannot run, error" : "exit", status < 0 ? -status : status,
		    status < 0 ? strerror(-status) : c->out);
	c->stage = STAGE_CHECK;
	if (status > 0) {
		c->batch_ran |= 1u << c->steps[c->idx].v6;
		c->list_fam = -1;
	}
}

/* The restore put the family's pieces in place: each counts as a write. */
static void batch_done(struct nat_check *c)
{
	int v6 = c->steps[c->idx].v6;
	unsigned pieces = 0;
	char cmd[256];

	for (; c->idx < c->n && c->steps[c->idx].v6 == v6; c->idx++) {
		c->made[c->idx] = c->steps[c->idx].chain == 0;
		c->repaired++;
		pieces++;
		counter_inc("nat_rule_writes");
	}
	log_info("nat: put in place: %s (all %u pieces in one restore: none was there)",
		 nat_argv_format(c->restore_argv[v6], cmd, sizeof(cmd)), pieces);
	c->stage = STAGE_CHECK; /* the next family's listing, or the end */
}

/* Starts the next command the check needs, or finishes. */
static void run(struct nat_check *c)
{
	while (c->idx < c->n) {
		int rc;

		if (c->stage == STAGE_CHECK && c->list_fam != c->steps[c->idx].v6) {
			c->stage = STAGE_LIST;
		} else if (c->stage == STAGE_CHECK && judged_in_place(c)) {
			next_step(c);
			continue;
		}
		if ((rc = spawn(c)) == 0)
			return;
		if (c->stage == STAGE_LIST) {
			listed(c, rc);
			continue;
		}
		if (c->stage == STAGE_BATCH) {
			batch_failed(c, rc);
			continue;
		}
		if (c->stage == STAGE_FIX && c->steps[c->idx].fix2[0]) {
			/* no iptables-restore: a jump inserted first still beats none */
			log_limited(LOG_LVL_WARN, "nat_restore", "nat: cannot run %s: %s",
				    cur_argv(c)[0], strerror(-rc));
			c->stage = STAGE_FIX2;
			continue;
		}
		c->failed++;
		log_error("nat: cannot run %s: %s", cur_argv(c)[0], strerror(-rc));
		next_step(c);
	}
	finish(c);
}

/* The command that ran ended with status: on to what comes next. */
static void advance(struct nat_check *c, int status)
{
	const struct nat_step *s = &c->steps[c->idx];
	char cmd[256];

	if (c->stage == STAGE_LIST) {
		listed(c, status);
	} else if (c->stage == STAGE_BATCH && status == 0) {
		batch_done(c);
	} else if (c->stage == STAGE_BATCH) {
		batch_failed(c, status);
	} else if (c->stage == STAGE_CHECK && (status != 0 || !nat_step_output_ok(s, c->out))) {
		c->stage = first_fix(s, status != 0); /* missing or misplaced: put it right */
	} else if (c->stage == STAGE_FIX && status != 0 && s->fix2[0]) {
		c->stage = STAGE_FIX2; /* nothing to move: put it in */
	} else {
		if (c->stage != STAGE_CHECK && status == 0) {
			c->made[c->idx] = s->chain == 0;
			c->repaired++;
			counter_inc("nat_rule_writes");
			log_info("nat: put in place: %s%s",
				 nat_argv_format(cur_argv(c), cmd, sizeof(cmd)),
				 c->stage == STAGE_FIX && s->fix_input ? " (moved back to the top)" : "");
		} else if (c->stage != STAGE_CHECK) {
			c->failed++;
			log_error("nat: `%s` failed (exit %d): %s",
				  nat_argv_format(cur_argv(c), cmd, sizeof(cmd)), status, c->out);
		}
		next_step(c);
	}
	run(c);
}

static void reap(struct nat_check *c)
{
	int st;
	pid_t p = waitpid(c->pid, &st, WNOHANG);

	if (p == 0) { /* output closed a moment before the exit */
		struct timeval tv = { 0, REAP_RETRY_MS * 1000 };

		/* a call that closed its output but keeps running still has
		 * its time limit (a killed one is reaped at the next retry) */
		if (clock_mono_ms() >= c->call_deadline_ms)
			kill(c->pid, SIGKILL);
		evtimer_add(c->timer, &tv);
		return;
	}
	evtimer_del(c->timer);
	c->pid = 0;
	advance(c, p < 0 ? 255 : child_status(st));
}

/* Appends what is readable to the listing: 1 at its end, 0 when more may
 * come. Past LIST_MAX (or out of memory) the rest is read and dropped and
 * the listing is marked cut: it is never judged. At most LIST_TURN bytes a
 * turn, so that a big table never holds the event loop for long. */
static int list_read(struct nat_check *c)
{
	char drop[4096];
	size_t got = 0;

	while (got < LIST_TURN) {
		char *dst = drop;
		size_t room = sizeof(drop);
		ssize_t n;

		if (!c->list_cut && c->list_len + 1 < LIST_MAX &&
		    array_grow((void **)&c->list, &c->list_cap, c->list_len + 2, 1, 16384) == 0) {
			dst = c->list + c->list_len;
			room = c->list_cap - c->list_len - 1;
		}
		n = read(c->fd, dst, room);
		if (n == 0)
			return 1;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0) {
			c->list_cut = 1;
			return 1;
		}
		got += (size_t)n;
		if (dst == drop) {
			c->list_cut = 1;
			continue;
		}
		c->list_len += (size_t)n;
		c->list[c->list_len] = 0;
	}
	return 0;
}

static void on_output(evutil_socket_t fd, short what, void *arg)
{
	struct nat_check *c = arg;
	int end;

	(void)what;
	if (c->stage == STAGE_LIST)
		end = list_read(c);
	else
		end = child_read(fd, c->out, sizeof(c->out), &c->out_len) != 0;
	if (!end)
		return;
	event_del(c->out_ev);
	close(c->fd);
	c->fd = -1;
	reap(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct nat_check *c = arg;

	(void)fd;
	(void)what;
	if (c->fd >= 0) { /* the time limit */
		char cmd[256];

		log_error("nat: `%s` took over %d s: killed",
			  nat_argv_format(cur_argv(c), cmd, sizeof(cmd)), CALL_TIMEOUT_S);
		kill(c->pid, SIGKILL);
		/* a grandchild may hold the pipe open: stop waiting for its end */
		event_del(c->out_ev);
		close(c->fd);
		c->fd = -1;
	}
	reap(c);
}

int nat_check_new(struct event_base *base, nat_check_done_fn done, void *arg,
		  struct nat_check **out)
{
	struct nat_check *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->base = base;
	c->done = done;
	c->done_arg = arg;
	c->fd = -1;
	c->n = nat_rules_steps(c->steps, NAT_STEPS_MAX);
	nat_rules_listing(0, c->list_argv[0]);
	nat_rules_listing(1, c->list_argv[1]);
	for (int f = 0; f < 2; f++) {
		nat_rules_restore(f, c->restore_argv[f]);
		if (nat_rules_batch(c->steps, c->n, f, c->batch[f], BATCH_MAX) < 0)
			c->batch[f][0] = 0; /* cannot be: then piece by piece */
	}
	c->out_ev = event_new(base, -1, 0, on_output, c);
	c->timer = evtimer_new(base, on_timer, c);
	if (!c->out_ev || !c->timer) {
		nat_check_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void nat_check_free(struct nat_check *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (c->out_ev)
		event_free(c->out_ev);
	if (c->timer)
		event_free(c->timer);
	free(c->list);
	free(c);
}

int nat_check_start(struct nat_check *c)
{
	int rc;

	if (c->running)
		return -EBUSY;
	c->idx = 0;
	c->stage = STAGE_LIST; /* the first family's listing first */
	c->list_fam = -1;
	c->batch_ran = 0;
	memset(c->made, 0, sizeof(c->made));
	c->repaired = c->failed = 0;
	c->started_ms = clock_mono_ms();
	if (c->n == 0)
		return 0;
	if ((rc = spawn(c)) < 0) {
		c->failed = 1;
		finish(c);
		log_error("nat: cannot run %s: %s%s", cur_argv(c)[0], strerror(-rc),
			  rc == -ENOENT ? " (install iptables)" : "");
		return rc;
	}
	c->running = 1;
	return 0;
}

const char *nat_check_state(const struct nat_check *c)
{
	if (c->running)
		return "running";
	return c->last == 0 ? "never" : c->last > 0 ? "ok" : "failed";
}

uint64_t nat_check_last_ms(const struct nat_check *c)
{
	return c->last_ms;
}
