/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipvsd's own nat chains, for IPv4 (iptables) and IPv6 (ip6tables), through
 * the iptables binaries of the backend nat_backend.h chose (nft or legacy):
 *   L4LB-MASQ  (first in POSTROUTING): MASQUERADE IPVS-masqueraded traffic,
 *              so connections from the node itself and hairpin ones get
 *              replies;
 *   L4LB-VIPS  (first in OUTPUT and PREROUTING): ACCEPT for VIP traffic (the
 *              ipsets) so that port-mapping DNAT never captures it.
 * This file only says which commands check and repair them; nat_check.c runs
 * them off the event loop. Each piece is checked first: nothing is written
 * when all is in place. A pass reads the whole nat table once per family
 * (`iptables -w -t nat -S`, nat_listing.h judges each piece from it); a
 * piece the listing cannot decide is checked by its own command (-S / -C).
 * A family whose whole listing shows none of its 7 pieces (every first
 * start on a node) gets them all from one iptables-restore --noflush
 * (nat_rules_batch(): the text is made of the per-piece repairs' argv), one
 * process instead of 7; if that restore fails, piece by piece as always.
 *
 * The jumps to L4LB-VIPS must stay the FIRST rule of OUTPUT and PREROUTING
 * (a DNAT jump inserted above them captures VIP traffic), and the jump to
 * L4LB-MASQ the first of POSTROUTING (the nat table decides a connection's
 * NAT at its first matching NAT target, RETURN or ACCEPT: a "no masquerade
 * inside the cluster" RETURN or an SNAT above it leaves a connection from
 * the node to a VIP with the VIP as its source, which the backend cannot
 * answer). L4LB-MASQ matches only IPVS-masqueraded connections, so coming
 * first changes nothing for other traffic. So each check reads rule 1
 * (-S CHAIN 1). One found lower down is moved back by
 * iptables-restore --noflush: its -D and -I 1 commit as one transaction, so
 * there is no moment without the jump; a jump missing altogether is
 * inserted at 1.
 */
#ifndef IPVSD_NAT_RULES_H
#define IPVSD_NAT_RULES_H

#include <stddef.h>

#define NAT_ARGV_MAX 24
#define NAT_STEPS_MAX 16

/* What a step keeps in place, as the listing shows it. */
enum nat_kind {
	NAT_KIND_CHAIN, /* a chain of ipvsd's: "-N NAME" */
	NAT_KIND_RULE,  /* a rule anywhere in ipvsd's chain NAME */
	NAT_KIND_FIRST, /* a jump that must be the first rule of NAME */
};

struct nat_step {
	int v6; /* whose listing judges it: iptables (0) or ip6tables (1) */
	enum nat_kind kind;
	const char *name;   /* the chain made, holding the rule, jumped from */
	/* NAT_KIND_RULE, _FIRST: the rule as `iptables -S` prints it (the
	 * ipvs match drops "--ipvs", the comment is quoted) */
	const char *listed;
	const char *check[NAT_ARGV_MAX]; /* exits 0 when the piece is in place */
	/* NULL, or the first line (warnings starting with '#' aside) the
	 * check must print for the piece to be in place */
	const char *expect;
	const char *fix[NAT_ARGV_MAX];   /* run when the check fails */
	const char *fix_input;           /* NULL, or fix's stdin */
	/* fix2[0] NULL, or run when fix fails: fix moves a piece found in the
	 * wrong place, fix2 puts in one that is not there at all */
	const char *fix2[NAT_ARGV_MAX];
	/* 1 + the index of the chain step this rule lives in or jumps to (0:
	 * none). A chain that did not exist can hold no rule, nor be jumped to:
	 * when that step just created it, this one is put in place unchecked
	 * (by fix2 if it has one). */
	size_t chain;
};

/* The steps, in order: chains before the rules in them, the rules before the
 * jumps that send traffic through them. Returns how many were written. */
size_t nat_rules_steps(struct nat_step *out, size_t max);

/* The listing of the nat table, whole: "iptables -w -t nat -S" (v6:
 * ip6tables) into argv (NAT_ARGV_MAX). -S rather than the backend's -save:
 * it prints each rule in the same form as the -S CHAIN 1 of the per-piece
 * check (both are the same printer), with no header, counters or COMMIT
 * to skip, and exits non-zero when the table cannot be read. */
void nat_rules_listing(int v6, const char **argv);

/* "iptables-restore -w --noflush" (v6: ip6tables-restore, of the backend
 * nat_backend.h chose) into argv (4 entries at least). */
void nat_rules_restore(int v6, const char **argv);

/*
 * The restore text that puts family v6's pieces of steps[n] in place in one
 * transaction, for a nat table that holds none of them: "*nat", a
 * ":CHAIN - [0:0]" line per chain, each rule and jump as the per-piece
 * repair for a missing piece writes it (fix2, else fix: the same argv, so
 * the specs exist once), "COMMIT". An argument with a space is
 * double-quoted, as iptables-restore splits lines. Into buf (size bytes):
 * 0, -ENOSPC, or -EINVAL for an argument it cannot quote.
 *
 * Only for a table without either chain: with --noflush a ":CHAIN" line of
 * a chain that exists flushes it (legacy and nft alike).
 */
int nat_rules_batch(const struct nat_step *steps, size_t n, int v6, char *buf, size_t size);

/* Whether a check's output shows the piece in place (s->expect). */
int nat_step_output_ok(const struct nat_step *s, const char *out);

/* "iptables -w -t nat -C OUTPUT -j L4LB-VIPS" into buf, for logs. */
const char *nat_argv_format(const char *const *argv, char *buf, size_t size);

/*
 * Sysctls set deliberately (only written when they differ):
 *   net.ipv4.vs.conntrack=1            needed by the MASQUERADE rule above;
 *   net.ipv4.vs.expire_nodest_conn=1   packets to a deleted destination are
 *                                      dropped at once, not blackholed;
 *   net.ipv4.vs.expire_quiescent_template=1
 *   net.ipv4.vs.conn_reuse_mode=1      the kernel default: a reused source
 *                                      port is rescheduled (not sent to a
 *                                      removed backend); since Linux 5.9 the
 *                                      1 s SYN drop (kubernetes#70747) no
 *                                      longer happens with conntrack=1.
 * Plain /proc writes: cheap enough for the event loop.
 */
int sysctls_ensure(int dry_run);

#endif
