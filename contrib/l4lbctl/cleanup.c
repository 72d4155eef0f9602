// SPDX-License-Identifier: Apache-2.0
/*
 * l4lbctl cleanup: removes everything l4lb put in the kernel by running
 * `ipvsd --cleanup` (one-shot) with the same configuration and run
 * directory. Refused while ipvsd runs: it would put everything back at its
 * next reconcile, and it is the service that must be stopped first.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "contrib/l4lbctl/l4lbctl.h"

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

int cmd_cleanup(struct ctl *c, int argc, char **argv)
{
	char why[512], prog[PATH_MAX];
	const char *args[8];
	Envelope *st;
	size_t n = 0;

	if (argc > 1) {
		fprintf(stderr, "l4lbctl cleanup: unexpected argument '%s'\n", argv[1]);
		return CTL_USAGE;
	}
	/* a stale socket of a crashed ipvsd does not count: only an answer */
	st = ctl_call(c, "ipvsd", L4LB__V1__ENVELOPE__TYPE__STATUS_REQUEST, why, sizeof(why));
	if (st) {
		fprintf(stderr,
			"l4lbctl cleanup: ipvsd is running (pid %u) and would program everything "
			"again: stop it first with `systemctl stop l4lb-ipvsd`\n",
			st->status_reply ? st->status_reply->pid : 0);
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
	args[n] = NULL;
	fflush(stdout);
	execvp(args[0], (char *const *)args);
	fprintf(stderr, "l4lbctl cleanup: cannot run %s: %s\n", args[0], strerror(errno));
	return CTL_DOWN;
}
