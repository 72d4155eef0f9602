// SPDX-License-Identifier: Apache-2.0
/*
 * l4lbctl cleanup: removes everything l4lb put in the kernel by running
 * `ipvsd --cleanup` (one-shot) with the same configuration and run
 * directory. Refused while ipvsd runs: it would put everything back at its
 * next reconcile, and it is the service that must be stopped first.
 * With --json ipvsd runs as a child instead: its log still goes to stderr,
 * and what it says it removed is summed up on stdout (cleanup_report.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "contrib/l4lbctl/cleanup_report.h"
#include "contrib/l4lbctl/l4lbctl.h"

extern char **environ;

const char *ctl_sibling(const char *name, char *buf, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			snprintf(buf, size, "%s/../sbin/%s", self, name);
			if (access(buf, X_OK) == 0)
				return buf;
			snprintf(buf, size, "%s/%s", self, name);
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	snprintf(buf, size, "%s", name);
	return buf;
}

/* Runs args with stdout and stderr into a pipe, echoes every line to
 * stderr and reads it into rep. The child's exit status (1 if it could not
 * run or was killed: the exit codes of l4lbctl, not a shell's 128+N). */
static int run_reported(const char *const *args, struct cleanup_report *rep)
{
	posix_spawn_file_actions_t fa;
	char *line = NULL;
	size_t cap = 0;
	int fds[2], rc, status;
	pid_t pid;
	FILE *in;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(rep->reason, sizeof(rep->reason), "pipe: %s", strerror(errno));
		return CTL_DOWN;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	/* the plain log format (not the journal's) whoever runs l4lbctl */
	unsetenv("JOURNAL_STREAM");
	rc = posix_spawnp(&pid, args[0], &fa, NULL, (char *const *)args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc) {
		close(fds[0]);
		snprintf(rep->reason, sizeof(rep->reason), "cannot run %s: %s", args[0],
			 strerror(rc));
		fprintf(stderr, "l4lbctl cleanup: %s\n", rep->reason);
		return CTL_DOWN;
	}
	in = fdopen(fds[0], "r");
	while (in && getline(&line, &cap, in) > 0) {
		fputs(line, stderr);
		cleanup_report_line(rep, line);
	}
	free(line);
	if (in)
		fclose(in);
	else
		close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return CTL_DOWN;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	snprintf(rep->reason, sizeof(rep->reason), "%s was killed by signal %d", args[0],
		 WTERMSIG(status));
	return CTL_DOWN;
}

int cmd_cleanup(struct ctl *c, int argc, char **argv)
{
	struct cleanup_report rep = { 0 };
	char why[512], prog[PATH_MAX];
	const char *args[10];
	Envelope *st;
	size_t n = 0;
	int rc;

	if (argc > 1) {
		fprintf(stderr, "l4lbctl cleanup: unexpected argument '%s'\n", argv[1]);
		return CTL_USAGE;
	}
	/* a stale socket of a crashed ipvsd does not count: only an answer */
	st = ctl_call(c, "ipvsd", L4LB__V1__ENVELOPE__TYPE__STATUS_REQUEST, why, sizeof(why));
	if (st) {
		rep.result = CLEANUP_REFUSED;
		rep.pid = st->status_reply ? st->status_reply->pid : 0;
		snprintf(rep.reason, sizeof(rep.reason),
			 "ipvsd is running (pid %lu) and would program everything again: stop it "
			 "first with `systemctl stop l4lb-ipvsd`", rep.pid);
		fprintf(stderr, "l4lbctl cleanup: %s\n", rep.reason);
		if (c->json)
			cleanup_report_json(&rep, CTL_DOWN, stdout);
		envelope_free(st);
		return CTL_DOWN;
	}
	args[n++] = c->ipvsd ? c->ipvsd : ctl_sibling("ipvsd", prog, sizeof(prog));
	args[n++] = "--cleanup";
	args[n++] = "--run-dir";
	args[n++] = c->run_dir;
	if (c->config) {
		args[n++] = "--config";
		args[n++] = c->config;
	}
	if (c->json) {
		/* after --config: the summary line is logged at info */
		args[n++] = "--log-level";
		args[n++] = "info";
		args[n] = NULL;
		rc = run_reported(args, &rep);
		cleanup_report_json(&rep, rc, stdout);
		cleanup_report_clear(&rep);
		return rc;
	}
	args[n] = NULL;
	fflush(stdout);
	execvp(args[0], (char *const *)args);
	fprintf(stderr, "l4lbctl cleanup: cannot run %s: %s\n", args[0], strerror(errno));
	return CTL_DOWN;
}
