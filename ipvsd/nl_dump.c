// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/nl_dump.h"

#include <errno.h>
#include <netlink/msg.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "common/clock.h"

struct nl_dump {
	struct nl_sock *sk;
	nl_recvmsg_msg_cb_t on_msg;
	void *arg;
	int done;
};

int nl_dump_parse(void *buf, size_t len, nl_recvmsg_msg_cb_t on_msg, void *arg)
{
	struct nlmsghdr *h = buf;
	int n = len > (size_t)INT32_MAX ? INT32_MAX : (int)len;

	for (; nlmsg_ok(h, n); h = nlmsg_next(h, &n)) {
		struct nl_msg *m;
		int rc;

		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = nlmsg_data(h);

			if (h->nlmsg_len < (uint32_t)nlmsg_size(sizeof(*e)))
				return -EBADMSG;
			return e->error < 0 ? e->error : 1; /* an ACK ends it too */
		}
		if (h->nlmsg_flags & NLM_F_DUMP_INTR)
			return -EINTR;
		if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_OVERRUN)
			continue;
		if (!(m = nlmsg_convert(h)))
			return -ENOMEM;
		rc = on_msg(m, arg);
		nlmsg_free(m);
		if (rc == NL_STOP)
			return -ECANCELED;
	}
	/* a part ends on a whole message: anything left over is broken */
	return n > 0 ? -EBADMSG : 0;
}

int nl_dump_start(int protocol, struct nl_msg *req, nl_recvmsg_msg_cb_t on_msg, void *arg,
		  struct nl_dump **out)
{
	struct nl_dump *d = calloc(1, sizeof(*d));
	int rc = -ENOMEM;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->on_msg = on_msg;
	d->arg = arg;
	if (!(d->sk = nl_socket_alloc()))
		goto fail;
	rc = -EIO;
	if (nl_connect(d->sk, protocol) < 0)
		goto fail;
	/* a part is as large as the kernel likes (up to 32 KiB): peeked at
	 * first, never truncated */
	nl_socket_enable_msg_peek(d->sk);
	nl_socket_disable_seq_check(d->sk);
	if (nl_send_auto(d->sk, req) < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	nl_dump_free(d);
	return rc;
}

int nl_dump_step(struct nl_dump *d, uint64_t budget_us)
{
	uint64_t t0 = budget_us == UINT64_MAX ? 0 : clock_mono_us();
	int rc = 0;

	if (d->done)
		return 1;
	do {
		struct sockaddr_nl from;
		unsigned char *buf = NULL;
		int len = nl_recv(d->sk, &from, &buf, NULL);

		if (len <= 0) { /* the socket failed or was closed */
			/* messages lost (the socket overran) is said as such:
			 * the callers read such a dump again at once */
			int err = len < 0 && errno == ENOBUFS ? -ENOBUFS : -EIO;

			free(buf);
			return err;
		}
		rc = nl_dump_parse(buf, (size_t)len, d->on_msg, d->arg);
		free(buf);
	} while (rc == 0 && (budget_us == UINT64_MAX || clock_mono_us() - t0 < budget_us));
	d->done = rc == 1;
	return rc;
}

void nl_dump_free(struct nl_dump *d)
{
	if (!d)
		return;
	nl_socket_free(d->sk);
	free(d);
}

size_t nl_drop_pending(struct nl_sock *sk)
{
	char buf[8192];
	int fd = nl_socket_get_fd(sk);
	size_t n = 0;
	ssize_t r;

	/* MSG_TRUNC: a datagram larger than buf is dropped whole all the same */
	while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC)) > 0 ||
	       (r < 0 && (errno == ENOBUFS || errno == EINTR)))
		n += r > 0;
	return n;
}
