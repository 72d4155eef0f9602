// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/nl_batch.h"

#include <netlink/msg.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define SOCK_BUF (8 << 20)

void nl_batch_tune(struct nl_sock *sk)
{
	int fd = nl_socket_get_fd(sk), sz = SOCK_BUF, one = 1;

	/* FORCE needs CAP_NET_ADMIN, which ipvsd has; else the capped sizes */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	/* errors need not echo the whole request back */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	/* many requests are in flight: replies are matched by sequence here */
	nl_socket_disable_seq_check(sk);
}

struct ack_ctx {
	int *errs;
	uint32_t seq0;
	size_t n, acked;
};

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct ack_ctx *c = arg;
	size_t i = nlmsg_hdr(msg)->nlmsg_seq - c->seq0;

	if (i < c->n && c->errs[i] == -ETIMEDOUT) {
		c->errs[i] = 0;
		c->acked++;
	}
	return NL_OK;
}

static int on_err(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct ack_ctx *c = arg;
	size_t i = e->msg.nlmsg_seq - c->seq0;

	(void)who;
	if (i < c->n && c->errs[i] == -ETIMEDOUT) {
		c->errs[i] = e->error;
		c->acked++;
	}
	return NL_SKIP;
}

static int seq_any(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

int nl_batch_send(struct nl_sock *sk, struct nl_msg **msgs, size_t n, int *errs)
{
	struct ack_ctx c = { .errs = errs, .n = n };
	struct nl_cb *cb = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct nlmsghdr *h;

		nlmsg_hdr(msgs[i])->nlmsg_flags |= NLM_F_ACK;
		nl_complete_msg(sk, msgs[i]);
		h = nlmsg_hdr(msgs[i]);
		if (i == 0)
			c.seq0 = h->nlmsg_seq;
		if (len + NLMSG_ALIGN(h->nlmsg_len) > cap) {
			size_t ncap = (cap + h->nlmsg_len) * 2;
			uint8_t *b = realloc(buf, ncap);

			if (!b) {
				rc = -ENOMEM;
				goto done;
			}
			buf = b;
			cap = ncap;
		}
		memcpy(buf + len, h, h->nlmsg_len);
		len += NLMSG_ALIGN(h->nlmsg_len);
		errs[i] = -ETIMEDOUT; /* until its ACK arrives */
	}
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		rc = -ENOMEM;
		goto done;
	}
	rc = nl_sendto(sk, buf, len);
	if (rc < 0) {
		log_warn("netlink: sending a batch of %zu: %s", n, nl_geterror(rc));
		rc = -EIO;
		goto done;
	}
	rc = 0;
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &c);
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, seq_any, NULL);
	nl_cb_err(cb, NL_CB_CUSTOM, on_err, &c);
	while (c.acked < n) {
		int r = nl_recvmsgs(sk, cb);

		if (r < 0) {
			/* recv's ENOBUFS comes back as NLE_NOMEM: ACKs were lost */
			rc = r == -NLE_NOMEM ? -ENOBUFS : -EIO;
			log_warn("netlink: waiting for ACKs (%zu of %zu): %s", c.acked, n,
				 nl_geterror(r));
			break;
		}
	}
done:
	nl_cb_put(cb);
	free(buf);
	return rc;
}
