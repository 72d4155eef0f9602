// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/nat_backend.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "ipvsd/child.h"

#define SAVE_TIMEOUT_MS 5000

static const char *const names[][2] = {
	[NAT_BACKEND_SYSTEM] = { "iptables", "ip6tables" },
	[NAT_BACKEND_NFT] = { "iptables-nft", "ip6tables-nft" },
	[NAT_BACKEND_LEGACY] = { "iptables-legacy", "ip6tables-legacy" },
};
static const char *const restores[][2] = {
	[NAT_BACKEND_SYSTEM] = { "iptables-restore", "ip6tables-restore" },
	[NAT_BACKEND_NFT] = { "iptables-nft-restore", "ip6tables-nft-restore" },
	[NAT_BACKEND_LEGACY] = { "iptables-legacy-restore", "ip6tables-legacy-restore" },
};
static enum nat_backend chosen = NAT_BACKEND_SYSTEM;

int nat_backend_parse(const char *s)
{
	static const char *const modes[] = {
		[NAT_BACKEND_SYSTEM] = "system", [NAT_BACKEND_NFT] = "nft",
		[NAT_BACKEND_LEGACY] = "legacy", [NAT_BACKEND_AUTO] = "auto",
	};

	for (int i = 0; i < (int)(sizeof(modes) / sizeof(modes[0])); i++)
		if (!strcmp(s, modes[i]))
			return i;
	return -1;
}

enum nat_backend nat_backend_choose(long legacy_rules, long nft_rules)
{
	/* -1 (could not be asked: not installed, failed, timed out) is no
	 * evidence for the other backend: an older iptables with neither
	 * -legacy nor -nft binaries must keep the system's `iptables` */
	if (legacy_rules < 0)
		legacy_rules = 0;
	if (nft_rules < 0)
		nft_rules = 0;
	if (legacy_rules > nft_rules)
		return NAT_BACKEND_LEGACY;
	if (nft_rules > legacy_rules)
		return NAT_BACKEND_NFT;
	return NAT_BACKEND_SYSTEM;
}

const char *nat_backend_ipt(int v6)
{
	return names[chosen][v6 ? 1 : 0];
}

const char *nat_backend_restore(int v6)
{
	return restores[chosen][v6 ? 1 : 0];
}

const char *nat_backend_name(enum nat_backend b, int v6)
{
	return b == NAT_BACKEND_AUTO ? NULL : names[b][v6 ? 1 : 0];
}

/* Counts the lines "-A CHAIN ..." of `save -t nat` whose chain is not one of
 * ipvsd's (L4LB-*, nor a jump to one). -1 when it cannot run. */
static long count_rules(const char *save)
{
	const char *argv[] = { save, "-t", "nat", NULL };
	char buf[4096], line[160];
	size_t used = 0;
	long n = 0;
	int fd, st;
	pid_t pid;
	uint64_t deadline = clock_mono_ms() + SAVE_TIMEOUT_MS;

	if (child_spawn(argv, &pid, &fd) < 0)
		return -1;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = clock_mono_ms();
		ssize_t r;
		int pr = now < deadline ? poll(&p, 1, (int)(deadline - now)) : 0;

		/* a signal (SIGHUP, SIGTERM at start) is no reason to give up
		 * on the count: the deadline still bounds the wait */
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			kill(pid, SIGKILL);
			n = -1;
			break;
		}
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			break;
		/* line by line; only each line's start matters */
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				if (used < sizeof(line) - 1)
					line[used++] = buf[i];
				continue;
			}
			line[used] = 0;
			used = 0;
			if (!strncmp(line, "-A ", 3) && !strstr(line, "L4LB-"))
				n++;
		}
	}
	close(fd);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n >= 0 && child_status(st) != 0)
		n = -1;
	return n;
}

/* Rules in one backend, the families asked for; -1 when it cannot be asked. */
static long backend_rules(const char *save4, const char *save6, int ask4, int ask6)
{
	long a = ask4 ? count_rules(save4) : -1, b = ask6 ? count_rules(save6) : -1;

	return a < 0 && b < 0 ? -1 : (a > 0 ? a : 0) + (b > 0 ? b : 0);
}

/* Whether the family's legacy nat table exists: asking iptables-legacy-save
 * (or ip6tables-legacy-save) for it would load the legacy modules of that
 * family on a host that never used them. */
int nat_backend_legacy_loaded(int v6)
{
	char l[64];
	int found = 0;
	FILE *f = fopen(v6 ? "/proc/net/ip6_tables_names" : "/proc/net/ip_tables_names", "re");

	if (!f)
		return 0;
	while (!found && fgets(l, sizeof(l), f))
		found = !strcmp(l, "nat\n");
	fclose(f);
	return found;
}

void nat_backend_resolve(enum nat_backend mode)
{
	int l4 = nat_backend_legacy_loaded(0), l6 = nat_backend_legacy_loaded(1);
	long legacy = 0, nft;

	chosen = mode;
	if (mode != NAT_BACKEND_AUTO) {
		log_info("nat: rules through %s and %s (--iptables)", names[chosen][0],
			 names[chosen][1]);
		return;
	}
	if (l4 || l6)
		legacy = backend_rules("iptables-legacy-save", "ip6tables-legacy-save", l4, l6);
	nft = backend_rules("iptables-nft-save", "ip6tables-nft-save", 1, 1);
	chosen = nat_backend_choose(legacy, nft);
	log_info("nat: rules through %s and %s (others' nat rules: legacy %ld, nft %ld)",
		 names[chosen][0], names[chosen][1], legacy, nft);
}
