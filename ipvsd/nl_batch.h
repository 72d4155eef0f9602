/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Many netlink requests in one sendmsg, each with its own sequence number
 * and ACK (as iproute2 does): one round trip for a whole batch instead of
 * one per object.
 */
#ifndef IPVSD_NL_BATCH_H
#define IPVSD_NL_BATCH_H

#include <netlink/netlink.h>
#include <stddef.h>

/* Requests per sendmsg: their ACKs must fit the receive buffer. */
#define NL_BATCH_MAX 512

/* Large socket buffers and short error ACKs for batching. */
void nl_batch_tune(struct nl_sock *sk);

/*
 * Completes (port, sequence, NLM_F_ACK), sends msgs[0..n) (n <=
 * NL_BATCH_MAX) in one sendmsg and waits for every ACK: errs[i] is 0 or
 * the kernel's -errno for msgs[i]. Returns 0, -ENOBUFS when ACKs were lost
 * (the caller resyncs), or another -errno. The caller frees the messages.
 */
int nl_batch_send(struct nl_sock *sk, struct nl_msg **msgs, size_t n, int *errs);

#endif
