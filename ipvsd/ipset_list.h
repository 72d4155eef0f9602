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

#include "ipvsd/plan.h"

/* Adds set's members to out (unsorted): key af, addr, proto and port.
 * 0, -ENOENT when there is no such set, -EMEDIUMTYPE when it is not of type
 * hash:ip,port, or -errno. */
int ipset_list_members(const char *set, struct key_set *out);

#endif
