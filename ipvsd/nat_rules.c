// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/nat_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/log.h"
#include "ipvsd/nat_backend.h"
#include "ipvsd/vip_set.h"

/* argv = ipt -w -t nat OP CHAIN SPEC... */
static void argv_fill(const char **argv, const char *ipt, const char *op, const char *chain,
		      const char *const *spec)
{
	int n = 0;

	argv[n++] = ipt;
	argv[n++] = "-w";
	argv[n++] = "-t";
	argv[n++] = "nat";
	argv[n++] = op;
	argv[n++] = chain;
	for (int i = 0; spec && spec[i] && n < NAT_ARGV_MAX - 1; i++)
		argv[n++] = spec[i];
	argv[n] = NULL;
}

static void step_chain(struct nat_step *s, const char *ipt, const char *chain)
{
	*s = (struct nat_step){ .kind = NAT_KIND_CHAIN, .name = chain };
	argv_fill(s->check, ipt, "-S", chain, NULL);
	argv_fill(s->fix, ipt, "-N", chain, NULL);
	s->chain = 0;
}

/* top: insert at the head of the chain (the ACCEPT must come before any DNAT).
 * dep: the index of the step of the chain the rule lives in or jumps to. */
static void step_rule(struct nat_step *s, const char *ipt, const char *chain, int top,
		      const char *const *spec, const char *listed, size_t dep)
{
	*s = (struct nat_step){ .kind = NAT_KIND_RULE, .name = chain, .listed = listed };
	argv_fill(s->check, ipt, "-C", chain, spec);
	argv_fill(s->fix, ipt, top ? "-I" : "-A", chain, spec);
	s->chain = dep + 1;
}

/* ipvsd's jump as rule 1 of `from` (v6: ip6tables). dep: the index of the
 * step of the chain it jumps to. */
static void step_jump_first(struct nat_step *s, int v6, const char *from, size_t dep)
{
	/* -D takes the first copy, the one found below some other rule; a
	 * restore fails as a whole (nothing changed) when there is none */
	static const struct {
		const char *from, *to, *expect, *input;
	} moves[] = {
		{ "OUTPUT", "L4LB-VIPS", "-A OUTPUT -j L4LB-VIPS",
		  "*nat\n-D OUTPUT -j L4LB-VIPS\n-I OUTPUT 1 -j L4LB-VIPS\nCOMMIT\n" },
		{ "PREROUTING", "L4LB-VIPS", "-A PREROUTING -j L4LB-VIPS",
		  "*nat\n-D PREROUTING -j L4LB-VIPS\n-I PREROUTING 1 -j L4LB-VIPS\nCOMMIT\n" },
		{ "POSTROUTING", "L4LB-MASQ", "-A POSTROUTING -j L4LB-MASQ",
		  "*nat\n-D POSTROUTING -j L4LB-MASQ\n-I POSTROUTING 1 -j L4LB-MASQ\nCOMMIT\n" },
	};
	static const char *const one[] = { "1", NULL };
	const char *first[] = { "1", "-j", NULL, NULL };
	size_t m = 0;

	while (m + 1 < sizeof(moves) / sizeof(moves[0]) && strcmp(moves[m].from, from))
		m++;
	first[2] = moves[m].to;
	*s = (struct nat_step){ .kind = NAT_KIND_FIRST, .name = moves[m].from };
	argv_fill(s->check, nat_backend_ipt(v6), "-S", from, one);
	s->expect = moves[m].expect;
	s->listed = moves[m].expect;
	nat_rules_restore(v6, s->fix);
	s->fix_input = moves[m].input;
	argv_fill(s->fix2, nat_backend_ipt(v6), "-I", from, first);
	s->chain = dep + 1;
}

int nat_step_output_ok(const struct nat_step *s, const char *out)
{
	size_t n = s->expect ? strlen(s->expect) : 0;

	if (!s->expect)
		return 1;
	/* iptables-nft warns ("# Warning: iptables-legacy tables present")
	 * before the rule: stderr is unbuffered, stdout flushed at exit */
	while (*out == '#') {
		const char *nl = strchr(out, '\n');

		if (!nl)
			return 0;
		out = nl + 1;
	}
	return !strncmp(out, s->expect, n) && (out[n] == '\n' || out[n] == 0);
}

void nat_rules_listing(int v6, const char **argv)
{
	argv_fill(argv, nat_backend_ipt(v6), "-S", NULL, NULL); /* no chain: the whole table */
}

void nat_rules_restore(int v6, const char **argv)
{
	argv[0] = nat_backend_restore(v6);
	argv[1] = "-w";
	argv[2] = "--noflush";
	argv[3] = NULL;
}

/* Appends fmt's text to buf (size bytes, *len used); -ENOSPC when it does
 * not fit. */
static int text_add(char *buf, size_t size, size_t *len, const char *fmt, const char *arg)
{
	int w = snprintf(buf + *len, size - *len, fmt, arg);

	if (w < 0 || (size_t)w >= size - *len)
		return -ENOSPC;
	*len += (size_t)w;
	return 0;
}

/* One argument as iptables-restore splits a line: words at spaces, a
 * double-quoted one kept whole (the comment). A quote, backslash or line
 * break inside is refused rather than escaped: none of ipvsd's rules holds
 * one, and the restore would read it differently from the command. */
static int text_arg(char *buf, size_t size, size_t *len, const char *arg)
{
	if (strpbrk(arg, "\"\\\n") || !*arg)
		return -EINVAL;
	return text_add(buf, size, len, strchr(arg, ' ') || strchr(arg, '\t') ? " \"%s\"" : " %s",
			arg);
}

int nat_rules_batch(const struct nat_step *steps, size_t n, int v6, char *buf, size_t size)
{
	size_t len = 0;
	int rc;

	if (size == 0)
		return -ENOSPC;
	buf[0] = 0;
	if ((rc = text_add(buf, size, &len, "%s", "*nat\n")) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const struct nat_step *s = &steps[i];
		/* what the per-piece path runs for a piece not there at all */
		const char *const *argv = s->fix2[0] ? s->fix2 : s->fix;

		if (s->v6 != v6)
			continue;
		/* argv: ipt -w -t nat OP CHAIN SPEC... (argv_fill) */
		if (!argv[0] || !argv[4] || !argv[5])
			return -EINVAL;
		if (s->kind == NAT_KIND_CHAIN) {
			rc = text_add(buf, size, &len, ":%s - [0:0]\n", argv[5]);
		} else {
			rc = text_add(buf, size, &len, "%s", argv[4]);
			for (int a = 5; argv[a] && rc == 0; a++)
				rc = text_arg(buf, size, &len, argv[a]);
			if (rc == 0)
				rc = text_add(buf, size, &len, "%s", "\n");
		}
		if (rc < 0)
			return rc;
	}
	return text_add(buf, size, &len, "%s", "COMMIT\n");
}

size_t nat_rules_steps(struct nat_step *out, size_t max)
{
	static const char *const masq[] = { "-m", "ipvs", "--ipvs", "--vdir", "ORIGINAL",
					    "--vmethod", "MASQ", "-m", "comment", "--comment",
					    "l4lb: IPVS masquerade", "-j", "MASQUERADE", NULL };
	/* as `iptables -S` prints them, captured from iptables 1.8.9 (nft and
	 * legacy print the same); another form is checked with -C */
	static const char masq_listed[] =
		"-A L4LB-MASQ -m ipvs --vdir ORIGINAL --vmethod MASQ -m comment "
		"--comment \"l4lb: IPVS masquerade\" -j MASQUERADE";
	static const char *const vips_listed[] = {
		"-A L4LB-VIPS -m set --match-set " VIP_SET4 " dst,dst -m comment "
		"--comment \"l4lb: VIP traffic skips port-mapping DNAT\" -j ACCEPT",
		"-A L4LB-VIPS -m set --match-set " VIP_SET6 " dst,dst -m comment "
		"--comment \"l4lb: VIP traffic skips port-mapping DNAT\" -j ACCEPT",
	};
	static const char *const vips4[] = { "-m", "set", "--match-set", VIP_SET4, "dst,dst",
					     "-m", "comment", "--comment",
					     "l4lb: VIP traffic skips port-mapping DNAT",
					     "-j", "ACCEPT", NULL };
	static const char *const vips6[] = { "-m", "set", "--match-set", VIP_SET6, "dst,dst",
					     "-m", "comment", "--comment",
					     "l4lb: VIP traffic skips port-mapping DNAT",
					     "-j", "ACCEPT", NULL };
	const char *const ipt[] = { nat_backend_ipt(0), nat_backend_ipt(1) };
	size_t n = 0;

	for (int f = 0; f < 2; f++) {
		size_t m = n, v = n + 1; /* the two chains' steps */

		if (n + 7 > max)
			break;
		step_chain(&out[n++], ipt[f], "L4LB-MASQ");
		step_chain(&out[n++], ipt[f], "L4LB-VIPS");
		step_rule(&out[n++], ipt[f], "L4LB-MASQ", 0, masq, masq_listed, m);
		/* ACCEPT, not RETURN: a RETURN in ipvsd's own chain only goes
		 * back to OUTPUT/PREROUTING, whose next rule is the DNAT; ACCEPT
		 * ends the nat table for the connection (no NAT). At the top, so
		 * that it also comes before a RETURN left by an older ipvsd. */
		step_rule(&out[n++], ipt[f], "L4LB-VIPS", 1, f ? vips6 : vips4, vips_listed[f],
			  v);
		/* first too: an earlier RETURN (ip-masq-agent's "no masquerade
		 * inside the cluster", flannel's) or SNAT would end the nat
		 * table for IPVS's connections before the MASQUERADE, and
		 * replies to a VIP source never come back */
		step_jump_first(&out[n++], f, "POSTROUTING", m);
		step_jump_first(&out[n++], f, "OUTPUT", v);
		step_jump_first(&out[n++], f, "PREROUTING", v);
		for (size_t i = m; i < n; i++)
			out[i].v6 = f;
	}
	return n;
}

const char *nat_argv_format(const char *const *argv, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = 0;
	for (int i = 0; argv[i] && len < size; i++) {
		int w = snprintf(buf + len, size - len, "%s%s", i ? " " : "", argv[i]);

		if (w < 0)
			break;
		len += (size_t)w;
	}
	return buf;
}

static int sysctl_set(const char *path, const char *want, int dry_run)
{
	char cur[32] = "";
	int fd = open(path, O_RDWR | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd < 0 && dry_run) {
		log_info("dry-run: would set %s = %s (not readable here: %s)", path, want,
			 strerror(errno));
		return 0;
	}
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
