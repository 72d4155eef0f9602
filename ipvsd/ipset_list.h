/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The members of an ipset of type hash:ip,port read straight from the
 * kernel (nfnetlink IPSET_CMD_LIST, a dump). libipset's listing formats
 * every member as text, looking up its protocol's name in /etc/protocols
 * each time: at 10,000 members that is 50,000 file system calls per full
 * reconcile (minutes on the test VM's 9p root).
 */
#ifndef IPVSD_IPSET_LIST_H
#define IPVSD_IPSET_LIST_H

#include <stdint.h>

#include "ipvsd/plan.h"

/* Adds set's members to out (unsorted): key af, addr, proto and port.
 * 0, -ENOENT when there is no such set, -EMEDIUMTYPE when it is not of type
 * hash:ip,port, or -errno. */
int ipset_list_members(const char *set, struct key_set *out);

/* The same, read a few parts at a time (nl_dump.h), so a large set never
 * holds the event loop: start, then step until it returns 1 (done: the
 * members are in out) or -errno as above (also -EINTR or -ENOBUFS: the
 * dump was inconsistent or overran, read it again); 0: more to come.
 * out must live until then; abort drops a listing half read. */
struct nl_dump;
struct ipset_list {
	struct nl_dump *dump;
	struct key_set *out;
	int err;
};
int ipset_list_start(struct ipset_list *l, const char *set, struct key_set *out);
int ipset_list_step(struct ipset_list *l, uint64_t budget_us);
void ipset_list_abort(struct ipset_list *l);

#endif
