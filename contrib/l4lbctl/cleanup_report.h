/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `l4lbctl cleanup --json`: what `ipvsd --cleanup` did, read back from its
 * log lines (the one-shot cleanup has no socket to ask, and its log is the
 * record an operator reads too). Pure: lines in, a summary out.
 */
#ifndef L4LBCTL_CLEANUP_REPORT_H
#define L4LBCTL_CLEANUP_REPORT_H

#include <stddef.h>
#include <stdio.h>

#define CLEANUP_MAX_PROBLEMS 32

enum cleanup_result {
	CLEANUP_NONE,       /* no summary line: ipvsd stopped before the end */
	CLEANUP_DONE,       /* everything of l4lb's is gone */
	CLEANUP_INCOMPLETE, /* some of it could not be removed */
	CLEANUP_REFUSED,    /* an ipvsd is running */
};

struct cleanup_report {
	enum cleanup_result result;
	unsigned long services, addresses; /* removed (from the summary line) */
	char interface[64];                /* deleted, "" if none */
	int no_ipvs;                       /* the kernel has no IPVS */
	unsigned long pid;                 /* CLEANUP_REFUSED by l4lbctl: ipvsd's pid */
	char reason[512];                  /* CLEANUP_REFUSED / NONE: why */
	/* the error and warning lines, in order; later ones only counted */
	struct {
		char level[8];
		char *message;
	} problems[CLEANUP_MAX_PROBLEMS];
	size_t n_problems, problems_dropped;
};

/* Reads one line of ipvsd's log (either format of common/log.c, with or
 * without the newline). Lines that are not log lines are ignored. */
void cleanup_report_line(struct cleanup_report *r, const char *line);
/* Writes the documented JSON object (one line) with exit_status. */
void cleanup_report_json(const struct cleanup_report *r, int exit_status, FILE *f);
void cleanup_report_clear(struct cleanup_report *r);

#endif
