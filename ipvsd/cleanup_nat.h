/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nat part of `ipvsd --cleanup`, as pure logic: from one backend's
 * `iptables-save -t nat`, the iptables-restore --noflush script that removes
 * ipvsd's chains (L4LB-VIPS, L4LB-MASQ) and the jumps ipvsd put in
 * (OUTPUT and PREROUTING to L4LB-VIPS, POSTROUTING to L4LB-MASQ). One read
 * and one transaction per backend and family instead of a process per rule:
 * in the test VM a process start costs up to a second under load. A jump
 * ipvsd did not make (another chain's) keeps its chain in use: the
 * transaction then fails as a whole and nothing is half removed.
 */
#ifndef IPVSD_CLEANUP_NAT_H
#define IPVSD_CLEANUP_NAT_H

#include <stddef.h>

/* What a script removes. */
struct cleanup_nat {
	unsigned chains, jumps;
};

/* Every copy of a jump goes (-D removes one), up to this many each: a
 * bound on the script's size whatever the table holds. */
#define CLEANUP_NAT_COPIES_MAX 16

/* Writes into out (NUL-terminated) the script for the nat table `save`,
 * and in *found what it removes; found->chains == 0: nothing of ipvsd's is
 * there and out is empty. 0, or -E2BIG when out is too small. */
int cleanup_nat_script(const char *save, char *out, size_t size, struct cleanup_nat *found);

#endif
