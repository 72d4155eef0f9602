/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which iptables backend holds ipvsd's nat chains. The ACCEPT that keeps
 * port-mapping DNAT off VIP traffic only works in the backend that holds
 * the DNAT rules: an ACCEPT in nft's nat table does not stop a DNAT in the
 * legacy one. Debian's `iptables` is iptables-nft, yet docker or
 * kube-proxy may run on iptables-legacy. --iptables says which:
 *   auto    (default) the backend whose nat table already holds more rules
 *           (the others' rules; so ipvsd follows docker's choice), the
 *           system's `iptables` when they hold as many;
 *   system  `iptables` / `ip6tables`, whatever they point to;
 *   nft, legacy  iptables-nft / iptables-legacy and their ip6tables.
 * Chosen once at start; logged. Counting runs up to four -save commands of
 * at most 5 s each before ipvsd is ready (milliseconds on a normal host).
 * --cleanup removes ipvsd's chains from every backend: an earlier start may
 * have chosen another one (docker started later, an older ipvsd).
 */
#ifndef IPVSD_NAT_BACKEND_H
#define IPVSD_NAT_BACKEND_H

enum nat_backend { NAT_BACKEND_SYSTEM, NAT_BACKEND_NFT, NAT_BACKEND_LEGACY, NAT_BACKEND_AUTO };

/* "auto", "system", "nft" or "legacy"; -1 on anything else. */
int nat_backend_parse(const char *s);

/* auto's rule: the backend with more nat rules that are not ipvsd's; the
 * system's on a tie (nothing anywhere: a fresh node). A count of -1 (that
 * backend could not be asked) counts as 0. */
enum nat_backend nat_backend_choose(long legacy_rules, long nft_rules);

/* Resolves `mode` (auto runs the -save commands, blocking: start-up only)
 * and makes nat_backend_ipt() return its binaries. */
void nat_backend_resolve(enum nat_backend mode);

/* The binary for IPv4 (v6 = 0) or IPv6 (v6 = 1): "iptables" until resolved. */
const char *nat_backend_ipt(int v6);
/* Its iptables-restore ("iptables-nft-restore"): moves a rule atomically. */
const char *nat_backend_restore(int v6);
/* A backend's binary ("iptables-legacy"); NULL for NAT_BACKEND_AUTO. */
const char *nat_backend_name(enum nat_backend b, int v6);
/* Whether the family's legacy nat table is in use in this network namespace
 * (/proc/net/ip{,6}_tables_names): only then is it asked, nothing loaded. */
int nat_backend_legacy_loaded(int v6);

#endif
