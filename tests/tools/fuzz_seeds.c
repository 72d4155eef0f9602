// SPDX-License-Identifier: Apache-2.0
/*
 * Writes the binary seed corpora the fuzzers start from (checked in under
 * tests/fuzz/corpus/; run again when the formats change):
 *   fuzz_seeds overlay DIR   framed PeerMessage streams: a Hello, then
 *                            every message type a peer may send; each in
 *                            fuzz_overlayd_frames' three modes (a first
 *                            byte 0 open, 1 keyed, 2 keyed and sealed by
 *                            the harness, without the Hello)
 *   fuzz_seeds netlink DIR   IPVS generic-netlink dump replies (services,
 *                            destinations, IPv4 and IPv6)
 */
#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/overlay.pb-c.h"

typedef L4lb__Overlay__V1__PeerMessage PeerMessage;
typedef L4lb__Overlay__V1__NodeId NodeId;

struct out {
	unsigned char buf[8192];
	size_t len;
};

static int save(const char *dir, const char *name, const struct out *o)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "wb")) || fwrite(o->buf, 1, o->len, f) != o->len) {
		perror(path);
		return -1;
	}
	return fclose(f);
}

/* --- overlay frames --- */

/* A stream of frames (a Hello first) in the fuzzer's three modes. */
static int save_modes(const char *dir, const char *name, const struct out *o)
{
	static struct out m;
	size_t hello = 4 + (((size_t)o->buf[0] << 24) | ((size_t)o->buf[1] << 16) |
			    ((size_t)o->buf[2] << 8) | o->buf[3]);
	char n[128];
	int rc = 0;

	for (int mode = 0; mode < 3; mode++) {
		size_t skip = mode == 2 ? hello : 0;

		m.buf[0] = (unsigned char)mode;
		memcpy(m.buf + 1, o->buf + skip, o->len - skip);
		m.len = 1 + o->len - skip;
		snprintf(n, sizeof(n), "%s%s", name,
			 mode == 0 ? "" : mode == 1 ? ".keyed" : ".sealed");
		rc |= save(dir, n, &m);
	}
	return rc;
}

static void frame(struct out *o, const PeerMessage *m)
{
	size_t len = l4lb__overlay__v1__peer_message__get_packed_size(m);

	o->buf[o->len++] = (unsigned char)(len >> 24);
	o->buf[o->len++] = (unsigned char)(len >> 16);
	o->buf[o->len++] = (unsigned char)(len >> 8);
	o->buf[o->len++] = (unsigned char)len;
	o->len += l4lb__overlay__v1__peer_message__pack(m, o->buf + o->len);
}

static uint8_t ips[4][4] = { { 10, 0, 0, 3 }, { 10, 0, 0, 4 }, { 10, 0, 0, 1 }, { 10, 0, 0, 2 } };

static void node(NodeId *n, int i)
{
	l4lb__overlay__v1__node_id__init(n);
	n->has_ip = n->has_port = 1;
	n->ip.data = ips[i];
	n->ip.len = 4;
	n->port = 61420;
}

static void hello(struct out *o, NodeId *from)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Hello h = L4LB__OVERLAY__V1__HELLO__INIT;

	o->len = 0;
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO;
	m.hello = &h;
	h.from = from;
	h.has_epoch = 1;
	h.epoch = 42;
	frame(o, &m);
}

static int overlay_seeds(const char *dir)
{
	NodeId n[4], *list[4] = { &n[0], &n[1], &n[2], &n[3] };
	PeerMessage m;
	struct out o;
	int rc = 0;

	for (int i = 0; i < 4; i++)
		node(&n[i], i);
	/* join, then its forward, then neighbor/disconnect */
	{
		L4lb__Overlay__V1__Join j = L4LB__OVERLAY__V1__JOIN__INIT;
		L4lb__Overlay__V1__ForwardJoin fj = L4LB__OVERLAY__V1__FORWARD_JOIN__INIT;
		L4lb__Overlay__V1__Neighbor nb = L4LB__OVERLAY__V1__NEIGHBOR__INIT;
		L4lb__Overlay__V1__NeighborReply nr = L4LB__OVERLAY__V1__NEIGHBOR_REPLY__INIT;
		L4lb__Overlay__V1__Disconnect d = L4LB__OVERLAY__V1__DISCONNECT__INIT;

		hello(&o, &n[0]);
		l4lb__overlay__v1__peer_message__init(&m);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__JOIN;
		m.join = &j;
		j.node = &n[0];
		frame(&o, &m);
		l4lb__overlay__v1__peer_message__init(&m);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__FORWARD_JOIN;
		m.forward_join = &fj;
		fj.node = &n[1];
		fj.has_ttl = 1;
		fj.ttl = 3;
		frame(&o, &m);
		rc |= save_modes(dir, "join", &o);

		hello(&o, &n[0]);
		l4lb__overlay__v1__peer_message__init(&m);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__NEIGHBOR;
		m.neighbor = &nb;
		nb.has_high_priority = 1;
		nb.high_priority = 1;
		frame(&o, &m);
		l4lb__overlay__v1__peer_message__init(&m);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__NEIGHBOR_REPLY;
		m.neighbor_reply = &nr;
		nr.has_accepted = nr.accepted = 1;
		frame(&o, &m);
		l4lb__overlay__v1__peer_message__init(&m);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__DISCONNECT;
		m.disconnect = &d;
		d.has_alive = d.alive = 1;
		frame(&o, &m);
		rc |= save_modes(dir, "neighbor", &o);
	}
	/* pings and pongs on an active link, shuffles */
	{
		L4lb__Overlay__V1__Neighbor nb = L4LB__OVERLAY__V1__NEIGHBOR__INIT;
		L4lb__Overlay__V1__Ping p = L4LB__OVERLAY__V1__PING__INIT;
		L4lb__Overlay__V1__Pong q = L4LB__OVERLAY__V1__PONG__INIT;
		L4lb__Overlay__V1__Shuffle s = L4LB__OVERLAY__V1__SHUFFLE__INIT;
		L4lb__Overlay__V1__ShuffleReply sr = L4LB__OVERLAY__V1__SHUFFLE_REPLY__INIT;

		hello(&o, &n[0]);
		l4lb__overlay__v1__peer_message__init(&m);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__NEIGHBOR;
		m.neighbor = &nb;
		frame(&o, &m);
		for (int i = 1; i <= 3; i++) {
			l4lb__overlay__v1__peer_message__init(&m);
			m.has_type = 1;
			m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PING;
			m.ping = &p;
			p.has_seq = p.has_sent_us = 1;
			p.seq = (uint64_t)i;
			p.sent_us = 1000u * (uint64_t)i;
			frame(&o, &m);
			l4lb__overlay__v1__peer_message__init(&m);
			m.has_type = 1;
			m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__PONG;
			m.pong = &q;
			q.has_seq = q.has_sent_us = 1;
			q.seq = (uint64_t)i;
			q.sent_us = 1000000 + 25000u * (uint64_t)i;
			frame(&o, &m);
		}
		rc |= save_modes(dir, "ping", &o);

		hello(&o, &n[0]);
		l4lb__overlay__v1__peer_message__init(&m);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__SHUFFLE;
		m.shuffle = &s;
		s.origin = &n[0];
		s.has_ttl = s.has_id = 1;
		s.ttl = 2;
		s.id = 99;
		s.n_nodes = 2;
		s.nodes = list;
		frame(&o, &m);
		l4lb__overlay__v1__peer_message__init(&m);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__SHUFFLE_REPLY;
		m.shuffle_reply = &sr;
		sr.has_id = 1;
		sr.id = 99;
		sr.n_nodes = 3;
		sr.nodes = list + 1;
		frame(&o, &m);
		rc |= save_modes(dir, "shuffle", &o);
	}
	/* adjacency records (one replayed older) and a digest */
	{
		L4lb__Overlay__V1__Neighbor nb = L4LB__OVERLAY__V1__NEIGHBOR__INIT;
		L4lb__Overlay__V1__Adjacency a[3], *ap[3] = { &a[0], &a[1], &a[2] };
		L4lb__Overlay__V1__DigestEntry e[2], *ep[2] = { &e[0], &e[1] };
		L4lb__Overlay__V1__Digest dg = L4LB__OVERLAY__V1__DIGEST__INIT;

		hello(&o, &n[0]);
		l4lb__overlay__v1__peer_message__init(&m);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__NEIGHBOR;
		m.neighbor = &nb;
		frame(&o, &m);
		for (int i = 0; i < 3; i++) {
			l4lb__overlay__v1__adjacency__init(&a[i]);
			a[i].node = &n[i < 2 ? i : 0];
			a[i].has_epoch = a[i].has_clock = a[i].has_ttl = 1;
			a[i].epoch = 42;
			a[i].clock = i == 2 ? 1 : 5;
			a[i].ttl = 4;
			a[i].n_active = 2;
			a[i].active = i ? list + 2 : list + 1;
		}
		l4lb__overlay__v1__peer_message__init(&m);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__ADJACENCY;
		m.n_adjacency = 3;
		m.adjacency = ap;
		frame(&o, &m);
		for (int i = 0; i < 2; i++) {
			l4lb__overlay__v1__digest_entry__init(&e[i]);
			e[i].node = &n[i];
			e[i].has_epoch = e[i].has_clock = 1;
			e[i].epoch = 42;
			e[i].clock = 9;
		}
		l4lb__overlay__v1__peer_message__init(&m);
		m.has_type = 1;
		m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__DIGEST;
		m.digest = &dg;
		dg.n_entries = 2;
		dg.entries = ep;
		frame(&o, &m);
		rc |= save_modes(dir, "adjacency", &o);
	}
	return rc;
}

/* --- IPVS netlink replies --- */

static struct nlattr *attr(struct out *o, int type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(o->buf + o->len);

	a->nla_type = (unsigned short)type;
	a->nla_len = (unsigned short)(NLA_HDRLEN + len);
	if (data)
		memcpy(o->buf + o->len + NLA_HDRLEN, data, len);
	o->len += NLA_ALIGN(NLA_HDRLEN + len);
	return a;
}

static void nest_end(struct out *o, struct nlattr *a)
{
	a->nla_len = (unsigned short)((unsigned char *)o->buf + o->len - (unsigned char *)a);
}

static struct nlmsghdr *msg_start(struct out *o, int cmd)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(o->buf + o->len);
	struct genlmsghdr *g = (struct genlmsghdr *)(o->buf + o->len + NLMSG_HDRLEN);

	memset(h, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	h->nlmsg_type = 0x20; /* a dynamic genl family id */
	h->nlmsg_flags = NLM_F_MULTI;
	g->cmd = (uint8_t)cmd;
	g->version = 1;
	o->len += NLMSG_HDRLEN + GENL_HDRLEN;
	return h;
}

static void msg_end(struct out *o, struct nlmsghdr *h)
{
	h->nlmsg_len = (uint32_t)((unsigned char *)o->buf + o->len - (unsigned char *)h);
}

static void svc(struct out *o, uint16_t af, const void *addr, uint16_t port)
{
	struct nlmsghdr *h = msg_start(o, IPVS_CMD_NEW_SERVICE);
	struct nlattr *n = attr(o, IPVS_CMD_ATTR_SERVICE, NULL, 0);
	uint16_t proto = IPPROTO_TCP, nport = htons(port);
	struct ip_vs_flags fl = { 0, 0 };
	uint32_t u = 0;

	attr(o, IPVS_SVC_ATTR_AF, &af, 2);
	attr(o, IPVS_SVC_ATTR_PROTOCOL, &proto, 2);
	attr(o, IPVS_SVC_ATTR_ADDR, addr, af == AF_INET6 ? 16 : 4);
	attr(o, IPVS_SVC_ATTR_PORT, &nport, 2);
	attr(o, IPVS_SVC_ATTR_SCHED_NAME, "wlc", 4);
	attr(o, IPVS_SVC_ATTR_FLAGS, &fl, sizeof(fl));
	attr(o, IPVS_SVC_ATTR_TIMEOUT, &u, 4);
	attr(o, IPVS_SVC_ATTR_NETMASK, &u, 4);
	nest_end(o, n);
	msg_end(o, h);
}

static void dest(struct out *o, uint16_t af, const void *addr, uint16_t port, uint32_t weight)
{
	struct nlmsghdr *h = msg_start(o, IPVS_CMD_NEW_DEST);
	struct nlattr *n = attr(o, IPVS_CMD_ATTR_DEST, NULL, 0);
	uint16_t nport = htons(port);
	uint32_t fwd = IP_VS_CONN_F_MASQ, c = 3;

	attr(o, IPVS_DEST_ATTR_ADDR, addr, af == AF_INET6 ? 16 : 4);
	attr(o, IPVS_DEST_ATTR_PORT, &nport, 2);
	attr(o, IPVS_DEST_ATTR_FWD_METHOD, &fwd, 4);
	attr(o, IPVS_DEST_ATTR_WEIGHT, &weight, 4);
	attr(o, IPVS_DEST_ATTR_ACTIVE_CONNS, &c, 4);
	attr(o, IPVS_DEST_ATTR_INACT_CONNS, &c, 4);
	attr(o, IPVS_DEST_ATTR_ADDR_FAMILY, &af, 2);
	nest_end(o, n);
	msg_end(o, h);
}

static void done_msg(struct out *o)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(o->buf + o->len);
	int32_t zero = 0;

	memset(h, 0, NLMSG_HDRLEN);
	h->nlmsg_type = NLMSG_DONE;
	h->nlmsg_flags = NLM_F_MULTI;
	memcpy(o->buf + o->len + NLMSG_HDRLEN, &zero, 4);
	o->len += NLMSG_HDRLEN + 4;
	msg_end(o, h);
}

static int netlink_seeds(const char *dir)
{
	uint8_t v4a[4] = { 11, 0, 0, 1 }, v4b[4] = { 10, 0, 0, 7 };
	uint8_t v6a[16] = { 0xfd, 0x01, 0, 0x0c, [15] = 1 }, v6b[16] = { 0xfd, 2, [15] = 9 };
	struct out o = { .len = 0 };
	int rc = 0;

	svc(&o, AF_INET, v4a, 80);
	svc(&o, AF_INET6, v6a, 53);
	done_msg(&o);
	rc |= save(dir, "services", &o);
	o.len = 0;
	dest(&o, AF_INET, v4b, 8080, 1);
	dest(&o, AF_INET, v4a, 8081, 0);
	done_msg(&o);
	rc |= save(dir, "dests4", &o);
	o.len = 0;
	dest(&o, AF_INET6, v6b, 5353, 1);
	done_msg(&o);
	rc |= save(dir, "dests6", &o);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "overlay") == 0)
		return overlay_seeds(argv[2]) ? 1 : 0;
	if (argc == 3 && strcmp(argv[1], "netlink") == 0)
		return netlink_seeds(argv[2]) ? 1 : 0;
	fprintf(stderr, "usage: fuzz_seeds overlay|netlink DIR\n");
	return 2;
}
