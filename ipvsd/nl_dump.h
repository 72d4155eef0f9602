/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A netlink dump read a few parts at a time, so that a long one (10,000
 * services or addresses) never holds the event loop: the kernel makes the
 * next part of a dump only when the last one is read, so the rest simply
 * waits in the kernel between two calls. Each dump has a socket of its own:
 * changes sent meanwhile on the daemon's other sockets never mix with it,
 * and dropping a dump half read is closing that socket.
 */
#ifndef IPVSD_NL_DUMP_H
#define IPVSD_NL_DUMP_H

#include <netlink/handlers.h>
#include <netlink/netlink.h>
#include <stddef.h>
#include <stdint.h>

struct nl_dump;

/* Sends req (a request with NLM_F_DUMP) on a new socket of protocol
 * (NETLINK_ROUTE, NETLINK_GENERIC, ...); every message of the reply goes to
 * on_msg(msg, arg) as it is read. 0 or -errno. */
int nl_dump_start(int protocol, struct nl_msg *req, nl_recvmsg_msg_cb_t on_msg, void *arg,
		  struct nl_dump **out);
/* Reads parts of the reply for about budget_us (at least one part;
 * UINT64_MAX: all of it). 1: the dump is complete; 0: more to come; -errno:
 * it failed (-EINTR: the kernel says it was inconsistent, -ENOBUFS: messages
 * were lost; either way dump again). */
int nl_dump_step(struct nl_dump *d, uint64_t budget_us);
/* Closes the socket: whatever the kernel had not yet sent is dropped. */
void nl_dump_free(struct nl_dump *d);

/* Reads and drops, without waiting, whatever is queued on sk: the rest of
 * an answer a request stopped reading part way (a dump that failed, the
 * ACKs after a batch's overrun), which would otherwise be taken for the
 * answer to the socket's next request. Returns how many datagrams. */
size_t nl_drop_pending(struct nl_sock *sk);

/* The messages of one part (len bytes), in order, to on_msg: 1 at the
 * end of the dump (NLMSG_DONE), 0 if more parts follow, -errno (an error
 * message, an interrupted dump, on_msg returning NL_STOP: -ECANCELED). */
int nl_dump_parse(void *buf, size_t len, nl_recvmsg_msg_cb_t on_msg, void *arg);

#endif
