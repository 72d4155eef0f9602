/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipvsd's own nat chains, for IPv4 (iptables) and IPv6 (ip6tables), through
 * the iptables binaries so that whichever backend the host uses (nft or
 * legacy) holds them:
 *   L4LB-MASQ  (from POSTROUTING): MASQUERADE IPVS-masqueraded traffic, so
 *              connections from the node itself and hairpin ones get replies;
 *   L4LB-VIPS  (first in OUTPUT and PREROUTING): RETURN for VIP traffic (the
 *              ipsets) so that port-mapping DNAT never captures it.
 * Checked with -C first: nothing is written when all is in place.
 */
#ifndef IPVSD_NAT_RULES_H
#define IPVSD_NAT_RULES_H

/* 0, or -errno when a rule could not be put in place (logged). */
int nat_rules_ensure(int dry_run);

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
 */
int sysctls_ensure(int dry_run);

#endif
