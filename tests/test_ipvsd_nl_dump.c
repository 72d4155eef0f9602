// SPDX-License-Identifier: Apache-2.0
/* A dump read a part at a time (ipvsd/nl_dump.c): each part's messages are
 * handed on in order, the dump ends at NLMSG_DONE, and an error, an
 * interrupted dump or a broken part ends it with -errno. The parts are
 * built here as the kernel sends them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "ipvsd/nl_dump.h"

struct part {
	_Alignas(4) unsigned char buf[4096];
	size_t len;
};

/* Appends a message of type with a 4-byte payload v. */
static void put(struct part *p, uint16_t type, uint16_t flags, int32_t v)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(p->buf + p->len);

	h->nlmsg_len = NLMSG_LENGTH(sizeof(v));
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = 1;
	h->nlmsg_pid = 0;
	memcpy(NLMSG_DATA(h), &v, sizeof(v));
	p->len += NLMSG_ALIGN(h->nlmsg_len);
}

/* NLMSG_ERROR carrying error (a struct nlmsgerr). */
static void put_error(struct part *p, int error)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(p->buf + p->len);
	struct nlmsgerr e = { .error = error };

	h->nlmsg_len = NLMSG_LENGTH(sizeof(e));
	h->nlmsg_type = NLMSG_ERROR;
	h->nlmsg_flags = 0;
	memcpy(NLMSG_DATA(h), &e, sizeof(e));
	p->len += NLMSG_ALIGN(h->nlmsg_len);
}

struct seen {
	int32_t v[64];
	size_t n;
	int stop_at; /* return NL_STOP for this value (0: never) */
};

static int on_msg(struct nl_msg *m, void *arg)
{
	struct seen *s = arg;
	int32_t v;

	memcpy(&v, nlmsg_data(nlmsg_hdr(m)), sizeof(v));
	s->v[s->n++] = v;
	return s->stop_at && v == s->stop_at ? NL_STOP : NL_OK;
}

static void test_parts_until_done(void **state)
{
	struct part a = { .len = 0 }, b = { .len = 0 };
	struct seen s = { .n = 0 };

	(void)state;
	for (int i = 1; i <= 3; i++)
		put(&a, 20, NLM_F_MULTI, i);
	put(&b, 20, NLM_F_MULTI, 4);
	put(&b, NLMSG_NOOP, NLM_F_MULTI, 99); /* skipped */
	put(&b, NLMSG_DONE, NLM_F_MULTI, 0);
	put(&b, 20, NLM_F_MULTI, 5); /* after the end: not read */
	assert_int_equal(nl_dump_parse(a.buf, a.len, on_msg, &s), 0); /* more to come */
	assert_int_equal(s.n, 3);
	assert_int_equal(nl_dump_parse(b.buf, b.len, on_msg, &s), 1);
	assert_int_equal(s.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(s.v[i], (int32_t)i + 1);
}

static void test_errors_end_the_dump(void **state)
{
	struct part p = { .len = 0 }, q = { .len = 0 }, r = { .len = 0 }, ack = { .len = 0 };
	struct seen s = { .n = 0 };

	(void)state;
	put(&p, 20, NLM_F_MULTI, 1);
	put_error(&p, -ENOENT); /* e.g. no such ipset */
	assert_int_equal(nl_dump_parse(p.buf, p.len, on_msg, &s), -ENOENT);
	assert_int_equal(s.n, 1);
	/* the kernel marks a dump whose table changed under it */
	put(&q, 20, NLM_F_MULTI | NLM_F_DUMP_INTR, 2);
	assert_int_equal(nl_dump_parse(q.buf, q.len, on_msg, &s), -EINTR);
	assert_int_equal(s.n, 1);
	/* a part cut short in a message */
	put(&r, 20, NLM_F_MULTI, 3);
	put(&r, 20, NLM_F_MULTI, 4);
	assert_int_equal(nl_dump_parse(r.buf, r.len - 2, on_msg, &s), -EBADMSG);
	assert_int_equal(s.n, 2); /* the whole one before it was read */
	/* an ACK (error 0) ends it too; a handler's NL_STOP cancels it */
	put_error(&ack, 0);
	assert_int_equal(nl_dump_parse(ack.buf, ack.len, on_msg, &s), 1);
	s.stop_at = 5;
	r.len = 0;
	put(&r, 20, NLM_F_MULTI, 5);
	put(&r, 20, NLM_F_MULTI, 6);
	assert_int_equal(nl_dump_parse(r.buf, r.len, on_msg, &s), -ECANCELED);
	assert_int_equal(s.v[s.n - 1], 5);
}

/* Sends a dump of the links (the loopback is there in any namespace). */
static void ask_links(struct nl_sock *sk)
{
	struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);

	assert_non_null(m);
	assert_int_equal(nlmsg_append(m, &g, sizeof(g), NLMSG_ALIGNTO), 0);
	assert_true(nl_send_auto(sk, m) >= 0);
	nlmsg_free(m);
}

static int count_msg(struct nl_msg *m, void *arg)
{
	(void)m;
	(*(int *)arg)++;
	return NL_OK;
}

/* An answer left unread (a request that stopped part way) is dropped
 * whole, so the next request's answer is read from its start to its DONE. */
static void test_drop_pending_leaves_the_socket_in_step(void **state)
{
	struct nl_sock *sk = nl_socket_alloc();
	char buf[64];
	int n = 0, rc = 0;

	(void)state;
	assert_non_null(sk);
	assert_int_equal(nl_connect(sk, NETLINK_ROUTE), 0);
	assert_int_equal(nl_drop_pending(sk), 0); /* nothing waits: returns at once */
	ask_links(sk);
	assert_true(nl_drop_pending(sk) >= 1);
	assert_int_equal(recv(nl_socket_get_fd(sk), buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	ask_links(sk);
	while (rc == 0) {
		struct sockaddr_nl from;
		unsigned char *b = NULL;
		int len = nl_recv(sk, &from, &b, NULL);

		assert_true(len > 0);
		rc = nl_dump_parse(b, (size_t)len, count_msg, &n);
		free(b);
	}
	assert_int_equal(rc, 1);
	assert_true(n >= 1);
	nl_socket_free(sk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parts_until_done),
		cmocka_unit_test(test_errors_end_the_dump),
		cmocka_unit_test(test_drop_pending_leaves_the_socket_in_step),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
