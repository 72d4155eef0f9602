/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which problems caused by outside input get a log line. Each distinct
 * problem (its kind and message) is logged the first time it is seen; while
 * it keeps recurring it is logged again only once per reminder period, with
 * how often it was seen meanwhile. Each kind logs at most
 * PROBLEM_LINES_PER_KIND lines per interval, so a flood of distinct bad
 * inputs (hostile or just a large broken state) cannot flood the log: the
 * lines held back are counted and mentioned with the kind's next line.
 * Counting every occurrence stays the caller's job (report_bad_input).
 *
 * Pure: the caller passes the clock, so tests drive it directly. Bounded:
 * fixed tables; a forgotten problem is at worst logged once more.
 */
#ifndef L4LB_PROBLEM_LOG_H
#define L4LB_PROBLEM_LOG_H

#include <stdbool.h>
#include <stdint.h>

#define PROBLEM_SLOTS 512
#define PROBLEM_KINDS 32
#define PROBLEM_LINES_PER_KIND 5
/* A recurring problem is logged again after this many intervals. */
#define PROBLEM_REMIND_INTERVALS 60

struct problem_log {
	struct {
		uint64_t hash, logged_ms, repeats;
	} slot[PROBLEM_SLOTS];
	struct {
		uint64_t hash, window_ms, lines, held_back;
	} kind[PROBLEM_KINDS];
};

struct problem_verdict {
	bool log;
	uint64_t repeats;	/* times this problem was seen since it was last logged */
	uint64_t held_back;	/* lines of this kind held back since its last line */
};

/* A zeroed struct problem_log is empty. interval_ms > 0. */
struct problem_verdict problem_log_admit(struct problem_log *pl, const char *kind,
					 const char *msg, uint64_t now_ms, uint64_t interval_ms);

#endif
