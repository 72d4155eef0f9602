// SPDX-License-Identifier: Apache-2.0
/*
 * Prints one counter of a daemon's status reply, 0 when it was never
 * counted (for the hostile-input and limit tests), or else the status fact
 * (info) of that name:
 *   status_counter RUN_DIR DAEMON COUNTER
 * Exit status 1 when the daemon does not answer.
 *
 * Or waits until the counter of every RUN_DIR's DAEMON has grown:
 *   status_counter --grows TIMEOUT_MS DAEMON COUNTER RUN_DIR...
 * reads each counter at its start, then every 20 ms until each is above
 * what it read first; exit status 0 then, 1 after TIMEOUT_MS (stderr names
 * a run directory whose counter did not grow). One process that polls
 * instead of a shell loop starting one per run directory and try: a
 * process start costs tens of milliseconds in the emulated test VM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/ipc.h"

/* DAEMON's status reply from RUN_DIR, NULL (and *why) when none came. */
static Envelope *status_of(const char *run_dir, const char *daemon, int timeout_ms,
			   const char **why)
{
	Envelope req = L4LB__V1__ENVELOPE__INIT, *rep;
	L4lb__V1__StatusRequest body = L4LB__V1__STATUS_REQUEST__INIT;
	char url[300];

	*why = "bad run directory";
	if (ipc_url(url, sizeof(url), run_dir, daemon, "rep") < 0)
		return NULL;
	req.has_type = 1;
	req.type = L4LB__V1__ENVELOPE__TYPE__STATUS_REQUEST;
	req.status_request = &body;
	*why = NULL;
	rep = ipc_call(url, &req, timeout_ms, why);
	if (rep && !rep->status_reply) {
		*why = "wrong type";
		envelope_free(rep);
		return NULL;
	}
	if (!rep && !*why)
		*why = "no reply";
	return rep;
}

/* The counter NAME of a status reply, 0 when it was never counted. */
static unsigned long long counter_of(const Envelope *rep, const char *name)
{
	for (size_t i = 0; i < rep->status_reply->n_counters; i++) {
		const L4lb__V1__Counter *c = rep->status_reply->counters[i];

		if (c->name && strcmp(c->name, name) == 0)
			return c->value;
	}
	return 0;
}

static int print_one(const char *run_dir, const char *daemon, const char *name)
{
	const char *why;
	Envelope *rep = status_of(run_dir, daemon, 2000, &why);
	unsigned long long v;

	if (!rep) {
		fprintf(stderr, "%s: no status reply: %s\n", daemon, why);
		return 1;
	}
	v = counter_of(rep, name);
	for (size_t i = 0; i < rep->status_reply->n_info && !v; i++) {
		const L4lb__V1__KeyValue *kv = rep->status_reply->info[i];

		if (kv->key && kv->value && strcmp(kv->key, name) == 0) {
			printf("%s\n", kv->value);
			envelope_free(rep);
			return 0;
		}
	}
	printf("%llu\n", v);
	envelope_free(rep);
	return 0;
}

/* --grows: a daemon that does not answer one poll (a starved VM) is asked
 * again at the next; only the deadline fails. */
static int wait_grown(long timeout_ms, const char *daemon, const char *name, char **dirs,
		      int n)
{
	unsigned long long *first = calloc((size_t)n, sizeof(*first));
	int *known = calloc((size_t)n, sizeof(*known)), left = n, rc = 1;
	uint64_t end = clock_mono_ms() + (uint64_t)timeout_ms;
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	const char *why = NULL;

	if (!first || !known)
		goto done;
	for (;;) {
		for (int i = 0; i < n; i++) {
			Envelope *rep;

			if (known[i] == 2)
				continue;
			rep = status_of(dirs[i], daemon, 1000, &why);
			if (!rep)
				continue;
			if (!known[i]) {
				first[i] = counter_of(rep, name);
				known[i] = 1;
			} else if (counter_of(rep, name) > first[i]) {
				known[i] = 2;
				left--;
			}
			envelope_free(rep);
		}
		if (!left) {
			rc = 0;
			goto done;
		}
		if (clock_mono_ms() >= end)
			break;
		nanosleep(&tick, NULL);
	}
	for (int i = 0; i < n; i++)
		if (known[i] != 2)
			fprintf(stderr, "%s: %s %s %s in %ld ms\n", dirs[i], daemon, name,
				known[i] ? "did not grow" : "never answered", timeout_ms);
done:
	free(first);
	free(known);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "--grows") == 0 && atol(argv[2]) > 0)
		return wait_grown(atol(argv[2]), argv[3], argv[4], argv + 5, argc - 5);
	if (argc != 4) {
		fprintf(stderr, "usage: status_counter RUN_DIR DAEMON COUNTER\n"
				"       status_counter --grows TIMEOUT_MS DAEMON COUNTER RUN_DIR...\n");
		return 2;
	}
	return print_one(argv[1], argv[2], argv[3]);
}
