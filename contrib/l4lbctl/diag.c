// SPDX-License-Identifier: Apache-2.0
/*
 * l4lbctl diag: a support archive (tar.gz) of what a support engineer asks
 * for first: the daemons' own views (status, VIP table, nodes, IPVS state),
 * the kernel's (ipvsadm, ipset, NAT rules, addresses, sysctls) and recent
 * logs. Every piece is optional: MANIFEST.txt says what each file came
 * from and what could not be collected and why, so a partial archive from
 * a broken node is still useful.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/daemon.h"
#include "contrib/l4lbctl/l4lbctl.h"

#define DIAG_CMD_TIMEOUT_MS 15000
#define SELF "@self" /* this l4lbctl, with --run-dir */

static const struct item {
	const char *file;
	const char *argv[12]; /* NULL-terminated */
} items[] = {
	{ "status.json", { SELF, "status", "--json" } },
	{ "vips.json", { SELF, "vips", "--json" } },
	{ "nodes.json", { SELF, "nodes", "--json" } },
	{ "ipvs.json", { SELF, "ipvs", "--json" } },
	{ "ipvsadm.txt", { "ipvsadm", "-Ln", "--stats" } },
	{ "ipvsadm-connections.txt", { "ipvsadm", "-Lnc" } },
	{ "ipset-l4lb-vips4.txt", { "ipset", "list", "l4lb-vips4" } },
	{ "ipset-l4lb-vips6.txt", { "ipset", "list", "l4lb-vips6" } },
	{ "iptables-nat.txt", { "iptables-save", "-t", "nat" } },
	{ "ip6tables-nat.txt", { "ip6tables-save", "-t", "nat" } },
	{ "addresses.txt", { "ip", "addr", "show" } },
	{ "routes.txt", { "ip", "route", "show", "table", "all" } },
	{ "systemctl-status.txt",
	  { "systemctl", "status", "--no-pager", "l4lb-vipd", "l4lb-overlayd", "l4lb-ipvsd" } },
	{ "journal.txt",
	  { "journalctl", "--no-pager", "-n", "2000", "-u", "l4lb-vipd", "-u", "l4lb-overlayd",
	    "-u", "l4lb-ipvsd" } },
	/* the default HTTP endpoints (common/daemon.h): the kernel's IPVS
	 * counters per backend are only there */
	{ "metrics-vipd.txt",
	  { "curl", "-fsS", "--max-time", "5", "http://" L4LB_HTTP_VIPD "/metrics" } },
	{ "metrics-overlayd.txt",
	  { "curl", "-fsS", "--max-time", "5", "http://" L4LB_HTTP_OVERLAYD "/metrics" } },
	{ "metrics-ipvsd.txt",
	  { "curl", "-fsS", "--max-time", "5", "http://" L4LB_HTTP_IPVSD "/metrics" } },
	{ "versions.txt", { SELF, "--version" } },
	{ "uname.txt", { "uname", "-a" } },
};

/* Settings the Linux caveats of the README are about. */
static const char *const sysctls[] = {
	"net/ipv4/ip_forward",		   "net/ipv4/ip_local_port_range",
	"net/ipv4/vs/conntrack",	   "net/ipv4/vs/conn_reuse_mode",
	"net/ipv4/vs/expire_nodest_conn",  "net/ipv4/vs/expire_quiescent_template",
	"net/ipv4/conf/all/rp_filter",	   "net/bridge/bridge-nf-call-iptables",
	"net/netfilter/nf_conntrack_max",  "net/netfilter/nf_conntrack_count",
	"net/ipv6/conf/all/forwarding",
};

/* Runs argv with stdout and stderr into path; a line for the manifest in
 * note. Never fails the whole collection. */
static void run_to(const char *const *argv, const char *path, char *note, size_t size)
{
	uint64_t deadline = clock_mono_ms() + DIAG_CMD_TIMEOUT_MS;
	int status, fd;
	pid_t pid, w;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(note, size, "not collected: fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && clock_mono_ms() < deadline)
		usleep(20000);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		snprintf(note, size, "incomplete: timed out after %d s", DIAG_CMD_TIMEOUT_MS / 1000);
	} else if (w < 0) {
		snprintf(note, size, "unknown: waitpid: %s", strerror(errno));
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		snprintf(note, size, "not collected: %s is not installed", argv[0]);
		unlink(path);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		snprintf(note, size, "ok");
	} else if (WIFEXITED(status)) {
		snprintf(note, size, "failed: exit status %d (its output is in the file)",
			 WEXITSTATUS(status));
	} else {
		snprintf(note, size, "failed: killed by signal %d", WTERMSIG(status));
	}
}

static void collect_sysctls(const char *dir, FILE *manifest)
{
	char path[2 * PATH_MAX], line[256];
	FILE *out, *in;
	size_t missing = 0;

	snprintf(path, sizeof(path), "%s/sysctl.txt", dir);
	if (!(out = fopen(path, "w"))) {
		fprintf(manifest, "sysctl.txt: not collected: %s\n", strerror(errno));
		return;
	}
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		snprintf(path, sizeof(path), "/proc/sys/%s", sysctls[i]);
		in = fopen(path, "r");
		if (!in || !fgets(line, sizeof(line), in)) {
			fprintf(out, "%s: (not available: %s)\n", sysctls[i],
				in ? "empty" : strerror(errno));
			missing++;
		} else {
			fprintf(out, "%s = %s%s", sysctls[i], line, strchr(line, '\n') ? "" : "\n");
		}
		if (in)
			fclose(in);
	}
	fclose(out);
	fprintf(manifest, "sysctl.txt: /proc/sys: ok, %zu of %zu not available\n", missing,
		sizeof(sysctls) / sizeof(sysctls[0]));
}

static int collect(const struct ctl *c, const char *dir, const char *self)
{
	char path[2 * PATH_MAX], note[256], cmd[512];
	FILE *manifest;
	time_t now = time(NULL);

	snprintf(path, sizeof(path), "%s/MANIFEST.txt", dir);
	if (!(manifest = fopen(path, "w")))
		return -errno;
	fprintf(manifest, "l4lb diag, %s", ctime(&now));
	fprintf(manifest, "run directory %s\n\nfile: command: result\n", c->run_dir);
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		const char *argv[16];
		size_t n = 0, len = 0;

		for (size_t j = 0; items[i].argv[j]; j++) {
			if (strcmp(items[i].argv[j], SELF) == 0) {
				argv[n++] = self;
				argv[n++] = "--run-dir";
				argv[n++] = c->run_dir;
			} else {
				argv[n++] = items[i].argv[j];
			}
		}
		argv[n] = NULL;
		cmd[0] = '\0';
		for (size_t j = 0; j < n && len < sizeof(cmd); j++)
			len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, "%s%s", j ? " " : "",
						argv[j]);
		snprintf(path, sizeof(path), "%s/%s", dir, items[i].file);
		run_to(argv, path, note, sizeof(note));
		fprintf(manifest, "%s: %s: %s\n", items[i].file, cmd, note);
	}
	collect_sysctls(dir, manifest);
	return fclose(manifest) == 0 ? 0 : -EIO;
}

static int run_wait(const char *const *argv)
{
	int status;
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return -errno;
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int cmd_diag(struct ctl *c, int argc, char **argv)
{
	const char *out = c->output ? c->output : "-";
	const char *tmp = getenv("TMPDIR");
	char base[PATH_MAX], dir[PATH_MAX + 16], self[PATH_MAX];
	ssize_t n;
	int rc = CTL_DOWN;

	if (argc > 1) {
		fprintf(stderr, "l4lbctl diag: unexpected argument '%s'\n", argv[1]);
		return CTL_USAGE;
	}
	if (strcmp(out, "-") == 0 && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "l4lbctl diag: the archive is binary: use -o FILE or "
				"redirect it (l4lbctl diag > diag.tar.gz)\n");
		return CTL_USAGE;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "l4lbctl diag: cannot find myself: %s\n", strerror(errno));
		return CTL_DOWN;
	}
	self[n] = '\0';
	snprintf(base, sizeof(base), "%s/l4lb-diag.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		fprintf(stderr, "l4lbctl diag: cannot create %s: %s\n", base, strerror(errno));
		return CTL_DOWN;
	}
	snprintf(dir, sizeof(dir), "%s/l4lb-diag", base);
	if (mkdir(dir, 0750) < 0 || collect(c, dir, self) < 0) {
		fprintf(stderr, "l4lbctl diag: cannot write into %s: %s\n", dir, strerror(errno));
	} else {
		const char *tar[] = { "tar", "-czf", out, "-C", base, "l4lb-diag", NULL };

		if (run_wait(tar) == 0)
			rc = CTL_OK;
		else
			fprintf(stderr, "l4lbctl diag: tar failed writing %s\n", out);
	}
	{
		const char *rm[] = { "rm", "-rf", base, NULL };

		run_wait(rm);
	}
	return rc;
}
