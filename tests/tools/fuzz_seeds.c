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
 *   fuzz_seeds ipc DIR       message sequences for fuzz_common_ipc_sub:
 *                            snapshots in and out of order, of the other
 *                            type, an error reply, garbage, through the
 *                            raw hooks and without
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

#include "common/envelope.h"
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

/* m, emptied, as a message of type t (its body is set by the caller). */
static PeerMessage *msg(PeerMessage *m, L4lb__Overlay__V1__PeerMessage__Type t)
{
	l4lb__overlay__v1__peer_message__init(m);
	m->has_type = 1;
	m->type = t;
	return m;
}

#define T(x) L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__##x

/* A stream that starts on an active link: a Hello, then a Neighbor. */
static void linked(struct out *o, NodeId *from)
{
	L4lb__Overlay__V1__Neighbor nb = L4LB__OVERLAY__V1__NEIGHBOR__INIT;
	PeerMessage m;

	hello(o, from);
	msg(&m, T(NEIGHBOR))->neighbor = &nb;
	frame(o, &m);
}

/* A join, then its forward; a neighbor request, its reply, a disconnect. */
static int join_seeds(const char *dir, NodeId *n)
{
	L4lb__Overlay__V1__Join j = L4LB__OVERLAY__V1__JOIN__INIT;
	L4lb__Overlay__V1__ForwardJoin fj = L4LB__OVERLAY__V1__FORWARD_JOIN__INIT;
	L4lb__Overlay__V1__Neighbor nb = L4LB__OVERLAY__V1__NEIGHBOR__INIT;
	L4lb__Overlay__V1__NeighborReply nr = L4LB__OVERLAY__V1__NEIGHBOR_REPLY__INIT;
	L4lb__Overlay__V1__Disconnect d = L4LB__OVERLAY__V1__DISCONNECT__INIT;
	PeerMessage m;
	struct out o;
	int rc = 0;

	hello(&o, &n[0]);
	msg(&m, T(JOIN))->join = &j;
	j.node = &n[0];
	frame(&o, &m);
	msg(&m, T(FORWARD_JOIN))->forward_join = &fj;
	fj.node = &n[1];
	fj.has_ttl = 1;
	fj.ttl = 3;
	frame(&o, &m);
	rc |= save_modes(dir, "join", &o);

	hello(&o, &n[0]);
	msg(&m, T(NEIGHBOR))->neighbor = &nb;
	nb.has_high_priority = 1;
	nb.high_priority = 1;
	frame(&o, &m);
	msg(&m, T(NEIGHBOR_REPLY))->neighbor_reply = &nr;
	nr.has_accepted = nr.accepted = 1;
	frame(&o, &m);
	msg(&m, T(DISCONNECT))->disconnect = &d;
	d.has_alive = d.alive = 1;
	frame(&o, &m);
	return rc | save_modes(dir, "neighbor", &o);
}

/* Pings and pongs on an active link; a shuffle and its reply. */
static int ping_seeds(const char *dir, NodeId *n, NodeId **list)
{
	L4lb__Overlay__V1__Ping p = L4LB__OVERLAY__V1__PING__INIT;
	L4lb__Overlay__V1__Pong q = L4LB__OVERLAY__V1__PONG__INIT;
	L4lb__Overlay__V1__Shuffle s = L4LB__OVERLAY__V1__SHUFFLE__INIT;
	L4lb__Overlay__V1__ShuffleReply sr = L4LB__OVERLAY__V1__SHUFFLE_REPLY__INIT;
	PeerMessage m;
	struct out o;
	int rc = 0;

	linked(&o, &n[0]);
	for (int i = 1; i <= 3; i++) {
		msg(&m, T(PING))->ping = &p;
		p.has_seq = p.has_sent_us = 1;
		p.seq = (uint64_t)i;
		p.sent_us = 1000u * (uint64_t)i;
		frame(&o, &m);
		msg(&m, T(PONG))->pong = &q;
		q.has_seq = q.has_sent_us = 1;
		q.seq = (uint64_t)i;
		q.sent_us = 1000000 + 25000u * (uint64_t)i;
		frame(&o, &m);
	}
	rc |= save_modes(dir, "ping", &o);

	hello(&o, &n[0]);
	msg(&m, T(SHUFFLE))->shuffle = &s;
	s.origin = &n[0];
	s.has_ttl = s.has_id = 1;
	s.ttl = 2;
	s.id = 99;
	s.n_nodes = 2;
	s.nodes = list;
	frame(&o, &m);
	msg(&m, T(SHUFFLE_REPLY))->shuffle_reply = &sr;
	sr.has_id = 1;
	sr.id = 99;
	sr.n_nodes = 3;
	sr.nodes = list + 1;
	frame(&o, &m);
	return rc | save_modes(dir, "shuffle", &o);
}

/* Adjacency records (one replayed older) and a digest. */
static int adjacency_seeds(const char *dir, NodeId *n, NodeId **list)
{
	L4lb__Overlay__V1__Adjacency a[3], *ap[3] = { &a[0], &a[1], &a[2] };
	L4lb__Overlay__V1__DigestEntry e[2], *ep[2] = { &e[0], &e[1] };
	L4lb__Overlay__V1__Digest dg = L4LB__OVERLAY__V1__DIGEST__INIT;
	PeerMessage m;
	struct out o;

	linked(&o, &n[0]);
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
	msg(&m, T(ADJACENCY))->n_adjacency = 3;
	m.adjacency = ap;
	frame(&o, &m);
	for (int i = 0; i < 2; i++) {
		l4lb__overlay__v1__digest_entry__init(&e[i]);
		e[i].node = &n[i];
		e[i].has_epoch = e[i].has_clock = 1;
		e[i].epoch = 42;
		e[i].clock = 9;
	}
	msg(&m, T(DIGEST))->digest = &dg;
	dg.n_entries = 2;
	dg.entries = ep;
	frame(&o, &m);
	return save_modes(dir, "adjacency", &o);
}

static int overlay_seeds(const char *dir)
{
	NodeId n[4], *list[4] = { &n[0], &n[1], &n[2], &n[3] };

	for (int i = 0; i < 4; i++)
		node(&n[i], i);
	return join_seeds(dir, n) | ping_seeds(dir, n, list) | adjacency_seeds(dir, n, list);
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

/* --- IPC subscriber input --- */

/* Appends one message of fuzz_common_ipc_sub's input: flags, length, bytes. */
static void ipc_msg(struct out *o, uint8_t flags, const void *data, size_t len)
{
	o->buf[o->len++] = flags;
	o->buf[o->len++] = (unsigned char)(len >> 8);
	o->buf[o->len++] = (unsigned char)len;
	memcpy(o->buf + o->len, data, len);
	o->len += len;
}

/* A snapshot envelope of `type` (VIP_TABLE with one VIP, or REACHABILITY
 * with one node), appended with its flags. */
static void ipc_snapshot(struct out *o, uint8_t flags, int type, uint64_t epoch, uint64_t gen)
{
	static uint8_t ip[4] = { 11, 0, 0, 1 }, be[4] = { 10, 0, 0, 7 };
	L4lb__V1__Backend b = L4LB__V1__BACKEND__INIT, *bp = &b;
	L4lb__V1__Vip v = L4LB__V1__VIP__INIT, *vp = &v;
	L4lb__V1__VipTable vt = L4LB__V1__VIP_TABLE__INIT;
	L4lb__V1__Reachability r = L4LB__V1__REACHABILITY__INIT;
	ProtobufCBinaryData node = { 4, be };
	Envelope env = L4LB__V1__ENVELOPE__INIT;
	struct ipc_buf buf;

	b.has_ip = b.has_port = b.has_weight = 1;
	b.ip = node;
	b.port = 8080;
	b.weight = 1;
	v.has_protocol = v.has_ip = v.has_port = 1;
	v.protocol = L4LB__V1__PROTOCOL__TCP;
	v.ip.data = ip;
	v.ip.len = 4;
	v.port = 80;
	v.n_backends = 1;
	v.backends = &bp;
	env.has_type = 1;
	env.type = (L4lb__V1__Envelope__Type)type;
	if (type == L4LB__V1__ENVELOPE__TYPE__VIP_TABLE) {
		vt.has_publisher_epoch = vt.has_generation = 1;
		vt.publisher_epoch = epoch;
		vt.generation = gen;
		vt.n_vips = 1;
		vt.vips = &vp;
		env.vip_table = &vt;
	} else {
		r.has_publisher_epoch = r.has_generation = 1;
		r.publisher_epoch = epoch;
		r.generation = gen;
		r.n_reachable = 1;
		r.reachable = &node;
		env.reachability = &r;
	}
	if (envelope_pack(&env, &buf) == 0) {
		ipc_msg(o, flags, buf.data, buf.len);
		ipc_buf_free(&buf);
	}
}

static int ipc_seeds(const char *dir)
{
	enum { VIPS = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE,
	       REACH = L4LB__V1__ENVELOPE__TYPE__REACHABILITY };
	/* not an envelope; long enough for the harness's peek (16 bytes) */
	static const uint8_t garbage[24] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x80, 9 };
	struct ipc_buf err;
	struct out o = { .len = 0 };
	int rc = 0;

	/* VIP tables: 1, 3, an older 2, the same 3, a new epoch, the wrong
	 * type, garbage, an error reply to the snapshot request */
	o.buf[o.len++] = 0;
	ipc_snapshot(&o, 0, VIPS, 7, 1);
	ipc_snapshot(&o, 0, VIPS, 7, 3);
	ipc_snapshot(&o, 0, VIPS, 7, 2);
	ipc_snapshot(&o, 1, VIPS, 7, 3);
	ipc_snapshot(&o, 0, VIPS, 6, 1);
	ipc_snapshot(&o, 0, REACH, 7, 9);
	ipc_msg(&o, 0, garbage, sizeof(garbage));
	if (envelope_pack_error(&err, "no snapshot yet") == 0) {
		ipc_msg(&o, 1, err.data, err.len);
		ipc_buf_free(&err);
	}
	rc |= save(dir, "vip_tables", &o);
	/* reachability, in and out of order */
	o.len = 0;
	o.buf[o.len++] = 1;
	ipc_snapshot(&o, 1, REACH, 3, 5);
	ipc_snapshot(&o, 0, REACH, 3, 4);
	ipc_snapshot(&o, 0, REACH, 3, 6);
	ipc_snapshot(&o, 0, VIPS, 3, 7);
	rc |= save(dir, "reachability", &o);
	/* through the raw hooks: applied raw, refused raw then unpacked,
	 * peeked but not an envelope (the version before it stays) */
	o.len = 0;
	o.buf[o.len++] = 2;
	ipc_snapshot(&o, 6, VIPS, 7, 1);
	ipc_snapshot(&o, 4, VIPS, 7, 2);
	ipc_msg(&o, 4, garbage, sizeof(garbage));
	ipc_snapshot(&o, 0, VIPS, 7, 3);
	return rc | save(dir, "raw_hooks", &o);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "overlay") == 0)
		return overlay_seeds(argv[2]) ? 1 : 0;
	if (argc == 3 && strcmp(argv[1], "netlink") == 0)
		return netlink_seeds(argv[2]) ? 1 : 0;
	if (argc == 3 && strcmp(argv[1], "ipc") == 0)
		return ipc_seeds(argv[2]) ? 1 : 0;
	fprintf(stderr, "usage: fuzz_seeds overlay|netlink|ipc DIR\n");
	return 2;
}
