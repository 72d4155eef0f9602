// SPDX-License-Identifier: Apache-2.0
/*
 * A hostile or broken overlayd peer for tests/it_hostile_overlayd.sh:
 *   overlay_peer [-s SRC] MODE HOST PORT [ARGS]
 * connects to HOST:PORT (from address SRC) and
 *   silent SECS         sends nothing
 *   garbage             sends a frame that is not a PeerMessage
 *   huge                announces a 4 GB frame
 *   nohello             sends a Ping before any Hello
 *   joinflood N         N connections, each a Hello and a Join from another
 *                       made-up node 127.81.x.y, sent from that address
 *   adj ID NODE EPOCH CLOCK
 *                       a Hello as ID, then an Adjacency record for NODE
 *                       (EPOCH, CLOCK) with no active links
 *   noread ID SECS      a Hello as ID, then Pings as fast as it can for SECS
 *                       without ever reading a Pong (a 4 KB receive buffer):
 *                       prints "dropped after N ms, K pings" when overlayd
 *                       closes the link, else "still open after K pings"
 *   claim ID            a Hello as ID (another node's identity), then a
 *                       Disconnect in its name
 *   digest ID ENTRIES KNOWN SECS [active]
 *                       a Hello as ID, an Adjacency of KNOWN made-up nodes
 *                       127.91.x.y (ttl 0: not forwarded), with `active` a
 *                       high-priority Neighbor (Pings are answered), then a
 *                       Digest of ENTRIES made-up nodes 127.90.x.y every
 *                       250 ms for SECS: prints "sent K digests, P pongs,
 *                       R records back" (exit 0) or "closed after N ms"
 * then waits (at most 15 s, or SECS + 5) for overlayd to close the
 * connection and prints "closed after N ms" (exit 0) or "still open"
 * (exit 1). joinflood and adj print "sent" and exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/overlay.pb-c.h"

typedef L4lb__Overlay__V1__PeerMessage PeerMessage;
typedef L4lb__Overlay__V1__NodeId NodeId;

static const char *src;
static int rcvbuf; /* SO_RCVBUF set before connect, if not 0 */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int dial_from(const char *host, int port, const char *from)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -1;
	if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) {
		close(fd);
		return -1;
	}
	if (from) {
		struct sockaddr_in s = { .sin_family = AF_INET };

		if (inet_pton(AF_INET, from, &s.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&s, sizeof(s)) < 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		close(fd);
		return -1;
	}
	return fd;
}

static int dial(const char *host, int port)
{
	return dial_from(host, port, src);
}

static int send_all(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static int send_msg(int fd, const PeerMessage *m)
{
	size_t len = l4lb__overlay__v1__peer_message__get_packed_size(m);
	unsigned char *buf = malloc(len + 4);
	int rc;

	if (!buf)
		return -1;
	buf[0] = (unsigned char)(len >> 24);
	buf[1] = (unsigned char)(len >> 16);
	buf[2] = (unsigned char)(len >> 8);
	buf[3] = (unsigned char)len;
	l4lb__overlay__v1__peer_message__pack(m, buf + 4);
	rc = send_all(fd, buf, len + 4);
	free(buf);
	return rc;
}

static void node(NodeId *n, uint8_t *ip, const char *s)
{
	l4lb__overlay__v1__node_id__init(n);
	inet_pton(AF_INET, s, ip);
	n->has_ip = n->has_port = 1;
	n->ip.data = ip;
	n->ip.len = 4;
	n->port = 61420;
}

static int send_hello(int fd, const char *id)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Hello h = L4LB__OVERLAY__V1__HELLO__INIT;
	NodeId n;
	uint8_t ip[4];

	node(&n, ip, id);
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO;
	m.hello = &h;
	h.from = &n;
	h.has_epoch = 1;
	h.epoch = 1;
	return send_msg(fd, &m);
}

/* Reads (and drops) until EOF or the deadline: 0 when closed. */
static int wait_closed(int fd, int ms)
{
	long long t0 = now_ms(), end = t0 + ms;
	char buf[4096];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			printf("closed after %lld ms\n", now_ms() - t0);
			return 0;
		}
		if (n < 0)
			break;
	}
	printf("still open\n");
	return 1;
}

static int join_flood(const char *host, int port, int n)
{
	for (int i = 0; i < n; i++) {
		PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
		L4lb__Overlay__V1__Join j = L4LB__OVERLAY__V1__JOIN__INIT;
		char id[32];
		uint8_t ip[4];
		NodeId self;
		int fd;

		/* from the address it names: a node refuses a Hello whose
		 * identity is not the connection's source */
		snprintf(id, sizeof(id), "127.81.%d.%d", i / 250, i % 250 + 1);
		if ((fd = dial_from(host, port, id)) < 0)
			return 1;
		node(&self, ip, id);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__JOIN;
		m.join = &j;
		j.node = &self;
		if (send_hello(fd, id) < 0 || send_msg(fd, &m) < 0) {
			close(fd);
			return 1;
		}
		usleep(50000);
		close(fd);
	}
	printf("sent\n");
	return 0;
}

static int adjacency(int fd, const char *id, const char *of, const char *epoch, const char *clk)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Adjacency a = L4LB__OVERLAY__V1__ADJACENCY__INIT, *ap = &a;
	NodeId n;
	uint8_t ip[4];

	node(&n, ip, of);
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__ADJACENCY;
	m.n_adjacency = 1;
	m.adjacency = &ap;
	a.node = &n;
	a.has_epoch = a.has_clock = a.has_ttl = 1;
	a.epoch = strtoull(epoch, NULL, 10);
	a.clock = strtoull(clk, NULL, 10);
	a.ttl = 4;
	if (send_hello(fd, id) < 0 || send_msg(fd, &m) < 0)
		return 1;
	usleep(500000);
	printf("sent\n");
	return 0;
}

/* Never reads: overlayd's Pongs pile up in its output queue. */
static int no_read(const char *host, int port, const char *id, int secs)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Ping p = L4LB__OVERLAY__V1__PING__INIT;
	long long t0, end;
	unsigned long k = 0;
	int fd;

	rcvbuf = 4096; /* the window overlayd sees stays small */
	if ((fd = dial(host, port)) < 0 || send_hello(fd, id) < 0)
		return 1;
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PING;
	m.ping = &p;
	p.has_seq = p.has_sent_us = 1;
	t0 = now_ms();
	end = t0 + secs * 1000LL;
	while (now_ms() < end) {
		struct pollfd pf = { fd, POLLOUT, 0 };

		p.seq = ++k;
		p.sent_us = (uint64_t)now_ms() * 1000;
		if (poll(&pf, 1, 100) < 0)
			break;
		if ((pf.revents & (POLLERR | POLLHUP)) || ((pf.revents & POLLOUT) &&
							   send_msg(fd, &m) < 0)) {
			printf("dropped after %lld ms, %lu pings\n", now_ms() - t0, k);
			close(fd);
			return 0;
		}
	}
	printf("still open after %lu pings\n", k);
	close(fd);
	return 1;
}

static void fake_node(NodeId *n, uint8_t *ip, int net, size_t k)
{
	char id[32];

	snprintf(id, sizeof(id), "127.%d.%zu.%zu", net, k / 250 % 250, k % 250 + 1);
	node(n, ip, id);
}

/* A message of KNOWN records naming made-up nodes (no links, not forwarded). */
static int send_fake_records(int fd, size_t known)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Adjacency *a = calloc(known + 1, sizeof(*a));
	L4lb__Overlay__V1__Adjacency **ap = calloc(known + 1, sizeof(*ap));
	NodeId *ids = calloc(known + 1, sizeof(*ids));
	uint8_t *ips = calloc(known + 1, 4);
	int rc = -1;

	if (!a || !ap || !ids || !ips)
		goto done;
	for (size_t k = 0; k < known; k++) {
		l4lb__overlay__v1__adjacency__init(&a[k]);
		fake_node(&ids[k], ips + 4 * k, 91, k);
		a[k].node = &ids[k];
		a[k].has_epoch = a[k].has_clock = a[k].has_ttl = 1;
		a[k].epoch = a[k].clock = 1;
		ap[k] = &a[k];
	}
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__ADJACENCY;
	m.n_adjacency = known;
	m.adjacency = ap;
	rc = send_msg(fd, &m);
done:
	free(a);
	free(ap);
	free(ids);
	free(ips);
	return rc;
}

/* Reads what arrived: Pings answered, Adjacency records counted. 0, or -1
 * when overlayd closed the connection. */
static int serve_input(int fd, unsigned char *buf, size_t *have, unsigned long *pongs,
		       unsigned long *records)
{
	ssize_t n = recv(fd, buf + *have, (1u << 21) - *have, MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		return -1;
	if (n > 0)
		*have += (size_t)n;
	while (*have >= 4) {
		size_t len = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 |
			     buf[3];
		PeerMessage *m;

		if (len > (1u << 20))
			return -1;
		if (*have < len + 4)
			break;
		if ((m = l4lb__overlay__v1__peer_message__unpack(NULL, len, buf + 4))) {
			if (m->type == L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PING && m->ping) {
				PeerMessage r = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
				L4lb__Overlay__V1__Pong p = L4LB__OVERLAY__V1__PONG__INIT;

				r.has_type = 1;
				r.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PONG;
				r.pong = &p;
				p.has_seq = p.has_sent_us = 1;
				p.seq = m->ping->seq;
				p.sent_us = m->ping->sent_us;
				if (send_msg(fd, &r) == 0)
					(*pongs)++;
			}
			if (m->type == L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__ADJACENCY)
				*records += m->n_adjacency;
			l4lb__overlay__v1__peer_message__free_unpacked(m, NULL);
		}
		memmove(buf, buf + 4 + len, *have - 4 - len);
		*have -= 4 + len;
	}
	return 0;
}

/* Large digests, repeatedly: each must cost overlayd O(entries log known). */
static int digests(const char *host, int port, const char *id, size_t entries, size_t known,
		   int secs, int active)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Digest d = L4LB__OVERLAY__V1__DIGEST__INIT;
	L4lb__Overlay__V1__DigestEntry *e = calloc(entries + 1, sizeof(*e));
	L4lb__Overlay__V1__DigestEntry **ep = calloc(entries + 1, sizeof(*ep));
	NodeId *ids = calloc(entries + 1, sizeof(*ids));
	uint8_t *ips = calloc(entries + 1, 4);
	unsigned char *in = malloc(1u << 21);
	unsigned long sent = 0, pongs = 0, records = 0;
	size_t have = 0;
	long long t0 = now_ms(), next = t0, end = t0 + secs * 1000LL;
	int fd = -1, rc = 1;

	if (!e || !ep || !ids || !ips || !in)
		goto done;
	for (size_t k = 0; k < entries; k++) {
		l4lb__overlay__v1__digest_entry__init(&e[k]);
		fake_node(&ids[k], ips + 4 * k, 90, k);
		e[k].node = &ids[k];
		e[k].has_epoch = e[k].has_clock = 1;
		e[k].epoch = e[k].clock = 1;
		ep[k] = &e[k];
	}
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__DIGEST;
	m.digest = &d;
	d.n_entries = entries;
	d.entries = ep;
	if (l4lb__overlay__v1__peer_message__get_packed_size(&m) > (1u << 20)) {
		fprintf(stderr, "digest of %zu entries over 1 MiB\n", entries);
		goto done;
	}
	if ((fd = dial(host, port)) < 0 || send_hello(fd, id) < 0 ||
	    (known && send_fake_records(fd, known) < 0))
		goto done;
	if (active) {
		PeerMessage nm = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
		L4lb__Overlay__V1__Neighbor nb = L4LB__OVERLAY__V1__NEIGHBOR__INIT;

		nm.has_type = 1;
		nm.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__NEIGHBOR;
		nm.neighbor = &nb;
		nb.has_high_priority = nb.high_priority = 1;
		if (send_msg(fd, &nm) < 0)
			goto done;
	}
	while (now_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long wait = next - now_ms();

		if (poll(&p, 1, wait > 0 ? (int)wait : 0) < 0)
			break;
		if ((p.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    serve_input(fd, in, &have, &pongs, &records) < 0) {
			printf("closed after %lld ms, %lu digests sent\n", now_ms() - t0, sent);
			goto done;
		}
		if (now_ms() >= next) {
			if (send_msg(fd, &m) < 0)
				break;
			sent++;
			next += 250;
		}
	}
	printf("sent %lu digests, %lu pongs, %lu records back\n", sent, pongs, records);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(e);
	free(ep);
	free(ids);
	free(ips);
	free(in);
	return rc;
}

int main(int argc, char **argv)
{
	const char *mode;
	int fd, port, rc = 2;

	if (argc > 2 && strcmp(argv[1], "-s") == 0) {
		src = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 4)
		goto usage;
	mode = argv[1];
	port = atoi(argv[3]);
	if (strcmp(mode, "joinflood") == 0)
		return argc == 5 ? join_flood(argv[2], port, atoi(argv[4])) : 2;
	if (strcmp(mode, "noread") == 0)
		return argc == 6 ? no_read(argv[2], port, argv[4], atoi(argv[5])) : 2;
	if (strcmp(mode, "digest") == 0)
		return argc == 8 || argc == 9
			       ? digests(argv[2], port, argv[4], strtoul(argv[5], NULL, 10),
					 strtoul(argv[6], NULL, 10), atoi(argv[7]),
					 argc == 9 && strcmp(argv[8], "active") == 0)
			       : 2;
	if ((fd = dial(argv[2], port)) < 0)
		return 1;
	if (strcmp(mode, "silent") == 0 && argc == 5) {
		rc = wait_closed(fd, atoi(argv[4]) * 1000 + 5000);
	} else if (strcmp(mode, "garbage") == 0) {
		static const unsigned char g[] = { 0, 0, 0, 12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						   0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };

		rc = send_all(fd, g, sizeof(g)) < 0 ? 1 : wait_closed(fd, 15000);
	} else if (strcmp(mode, "huge") == 0) {
		static const unsigned char h[] = { 0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4 };

		rc = send_all(fd, h, sizeof(h)) < 0 ? 1 : wait_closed(fd, 15000);
	} else if (strcmp(mode, "nohello") == 0) {
		PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
		L4lb__Overlay__V1__Ping p = L4LB__OVERLAY__V1__PING__INIT;

		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PING;
		m.ping = &p;
		rc = send_msg(fd, &m) < 0 ? 1 : wait_closed(fd, 15000);
	} else if (strcmp(mode, "claim") == 0 && argc == 5) {
		PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
		L4lb__Overlay__V1__Disconnect d = L4LB__OVERLAY__V1__DISCONNECT__INIT;

		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__DISCONNECT;
		m.disconnect = &d;
		d.has_alive = 1;
		d.alive = 1;
		rc = send_hello(fd, argv[4]) < 0 || send_msg(fd, &m) < 0 ? 1 : wait_closed(fd, 15000);
	} else if (strcmp(mode, "adj") == 0 && argc == 8) {
		rc = adjacency(fd, argv[4], argv[5], argv[6], argv[7]);
	} else {
		close(fd);
		goto usage;
	}
	close(fd);
	return rc;
usage:
	fprintf(stderr, "usage: overlay_peer [-s SRC] MODE HOST PORT [ARGS] (modes: silent SECS, "
			"garbage, huge, nohello, joinflood N, adj ID NODE EPOCH CLOCK, noread ID SECS, "
			"claim ID, digest ID ENTRIES KNOWN SECS [active])\n");
	return 2;
}
