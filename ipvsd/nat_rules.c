// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/nat_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/log.h"
#include "ipvsd/vip_set.h"

extern char **environ;

/* Runs argv quietly; its exit status, or -errno. */
static int run_quiet(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -rc;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -EIO;
}

/* One rule: -C, and if missing -A (or -I at the top). */
static int rule(const char *ipt, int dry_run, const char *chain, int top, const char *const *spec)
{
	char *argv[32];
	int n = 0, rc;

	argv[n++] = (char *)ipt;
	argv[n++] = "-w";
	argv[n++] = "-t";
	argv[n++] = "nat";
	argv[n++] = "-C";
	argv[n++] = (char *)chain;
	for (int i = 0; spec[i] && n < 30; i++)
		argv[n++] = (char *)spec[i];
	argv[n] = NULL;
	rc = run_quiet(argv);
	if (rc == 0)
		return 0;
	if (dry_run) {
		log_info("dry-run: would add a rule to %s %s", ipt, chain);
		return 0;
	}
	argv[4] = top ? "-I" : "-A";
	counter_inc("nat_rule_writes");
	rc = run_quiet(argv);
	if (rc != 0) {
		log_error("nat: `%s -t nat %s %s ...` failed (%d)", ipt, argv[4], chain, rc);
		return -EIO;
	}
	log_info("nat: added a rule to %s %s", ipt, chain);
	return 0;
}

static int chain(const char *ipt, int dry_run, const char *name)
{
	char *list[] = { (char *)ipt, "-w", "-t", "nat", "-S", (char *)name, NULL };
	char *make[] = { (char *)ipt, "-w", "-t", "nat", "-N", (char *)name, NULL };
	int rc;

	rc = run_quiet(list);
	if (rc == 0 || dry_run)
		return rc < 0 ? rc : 0;
	if (rc < 0) {
		log_error("nat: cannot run %s: %s", ipt, strerror(-rc));
		return rc;
	}
	counter_inc("nat_rule_writes");
	if (run_quiet(make) != 0) {
		log_error("nat: cannot create chain %s with %s", name, ipt);
		return -EIO;
	}
	return 0;
}

static int family_ensure(const char *ipt, const char *set, int dry_run)
{
	const char *masq[] = { "-m", "ipvs", "--ipvs", "--vdir", "ORIGINAL", "--vmethod", "MASQ",
			       "-m", "comment", "--comment", "l4lb: IPVS masquerade",
			       "-j", "MASQUERADE", NULL };
	const char *vips[] = { "-m", "set", "--match-set", set, "dst,dst", "-m", "comment",
			       "--comment", "l4lb: VIP traffic skips port-mapping DNAT",
			       "-j", "RETURN", NULL };
	const char *jmasq[] = { "-j", "L4LB-MASQ", NULL };
	const char *jvips[] = { "-j", "L4LB-VIPS", NULL };
	int rc;

	if ((rc = chain(ipt, dry_run, "L4LB-MASQ")) < 0 || (rc = chain(ipt, dry_run, "L4LB-VIPS")) < 0)
		return rc;
	if ((rc = rule(ipt, dry_run, "L4LB-MASQ", 0, masq)) < 0 ||
	    (rc = rule(ipt, dry_run, "L4LB-VIPS", 0, vips)) < 0 ||
	    (rc = rule(ipt, dry_run, "POSTROUTING", 0, jmasq)) < 0 ||
	    (rc = rule(ipt, dry_run, "OUTPUT", 1, jvips)) < 0 ||
	    (rc = rule(ipt, dry_run, "PREROUTING", 1, jvips)) < 0)
		return rc;
	return 0;
}

int nat_rules_ensure(int dry_run)
{
	int rc = family_ensure("iptables", VIP_SET4, dry_run);
	int rc6 = family_ensure("ip6tables", VIP_SET6, dry_run);

	return rc < 0 ? rc : rc6;
}

static int sysctl_set(const char *path, const char *want, int dry_run)
{
	char cur[32] = "";
	int fd = open(path, O_RDWR | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd < 0) {
		log_error("sysctl: %s: %s", path, strerror(errno));
		return -errno;
	}
	n = read(fd, cur, sizeof(cur) - 1);
	if (n > 0 && atoi(cur) == atoi(want))
		goto done;
	if (dry_run) {
		log_info("dry-run: would set %s = %s", path, want);
		goto done;
	}
	counter_inc("sysctl_writes");
	if (pwrite(fd, want, strlen(want), 0) < 0) {
		rc = -errno;
		log_error("sysctl: %s = %s: %s", path, want, strerror(errno));
	}
done:
	close(fd);
	return rc;
}

int sysctls_ensure(int dry_run)
{
	static const char *const kv[][2] = {
		{ "/proc/sys/net/ipv4/vs/conntrack", "1" },
		{ "/proc/sys/net/ipv4/vs/expire_nodest_conn", "1" },
		{ "/proc/sys/net/ipv4/vs/expire_quiescent_template", "1" },
		{ "/proc/sys/net/ipv4/vs/conn_reuse_mode", "1" },
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		int r = sysctl_set(kv[i][0], kv[i][1], dry_run);

		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}
