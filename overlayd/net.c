// SPDX-License-Identifier: Apache-2.0
#include "overlayd/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/log.h"
#include "overlayd/out_budget.h"

struct conn {
	struct net *net;
	struct bufferevent *bev;
	/* len 0 until the peer is trusted (incoming): its Hello in open mode,
	 * its proof in keyed mode; an unproven claim cannot close or take the
	 * place of a real peer's connection */
	struct node_id peer;
	struct node_id claimed; /* from its Hello */
	struct node_id remote;  /* incoming: the source address */
	struct frame_sec fs;
	struct evbuffer *pending; /* keyed: messages packed before the peer's Hello */
	int outgoing, up, closing;
	int connected; /* the socket is connected: frames are written at once */
	uint64_t last_us;
	uint64_t full_since_us; /* a send found the output queue full (0: not since it drained) */
	int budget_full;        /* ... because the shared budget was spent (out_budget.h) */
	struct conn *next;
};

struct net {
	struct event_base *base;
	struct evconnlistener *lst;
	struct node_id self;
	uint64_t epoch;
	const struct frame_key *key;
	unsigned flags;
	struct overlay *o;
	struct conn *conns;
	uint64_t rx, tx;
	size_t n_conns;
	uint32_t scope; /* interface of a link-local identity (0: none) */
	void (*on_input)(void *arg); /* net_on_input */
	void *on_input_arg;
};

static void conn_free(struct conn *c)
{
	struct conn **pp;

	if (!c)
		return;
	for (pp = &c->net->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->net->n_conns--;
	bufferevent_free(c->bev);
	if (c->pending)
		evbuffer_free(c->pending);
	frame_sec_free(&c->fs);
	free(c);
}

static int peer_connected(struct net *n, const struct node_id *peer, const struct conn *except)
{
	for (struct conn *c = n->conns; c; c = c->next)
		if (c != except && !c->closing && c->peer.len && node_eq(&c->peer, peer))
			return 1;
	return 0;
}

/* A connection ended: the core hears of it when it was the last one. */
static void conn_lost(struct conn *c)
{
	struct net *n = c->net;
	struct node_id peer = c->peer;
	int last = peer.len && !c->closing && !peer_connected(n, &peer, c);

	conn_free(c);
	if (last && n->o) {
		overlay_link_down(n->o, &peer, clock_mono_us());
		if (n->on_input)
			n->on_input(n->on_input_arg);
	}
}

/* Writes what is queued now instead of waiting for the loop to report the
 * socket writable: a write event added and deleted around every small
 * frame cost two epoll_ctl calls and a wakeup per message, most of an idle
 * node's system calls. What the socket does not take waits for the write
 * event as before (errors too: libevent reports them through on_event). */
static void conn_kick(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (!c->connected || c->closing)
		return;
	/* a socket bufferevent keeps its output's start frozen outside its
	 * own write callback; thawed only for this write */
	evbuffer_unfreeze(out, 1);
	while (evbuffer_get_length(out) > 0)
		if (evbuffer_write(out, bufferevent_getfd(c->bev)) <= 0)
			break;
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(c->bev, EV_WRITE);
}

/* Queued bytes of a connection, sent or waiting for the peer's Hello. */
static size_t conn_queued(const struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) +
	       (c->pending ? evbuffer_get_length(c->pending) : 0);
}

/* For status. */
size_t net_queued(const struct net *n)
{
	size_t total = 0;

	for (const struct conn *c = n->conns; c; c = c->next)
		total += conn_queued(c);
	return total;
}

/* What the queues hold beyond their own shares (out_budget.h); summed only
 * when a queue grows past its own share (a peer is slow or does not read). */
static size_t net_shared(const struct net *n)
{
	size_t shared = 0;

	for (const struct conn *c = n->conns; c; c = c->next)
		shared += out_budget_beyond(conn_queued(c));
	return shared;
}

/* Sealed frame of plen payload bytes at buf + FRAME_HDR onto the output. */
static int put_frame(struct conn *c, uint8_t *buf, size_t plen)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t len;
	int rc;

	if ((rc = frame_seal(&c->fs, buf, plen, &len)) < 0)
		return rc;
	evbuffer_add(out, buf, len);
	c->net->tx += len;
	conn_kick(c);
	return 0;
}

static int frame_send(struct conn *c, const PeerMessage *m)
{
	size_t plen = l4lb__overlay__v1__peer_message__get_packed_size(m);
	size_t queued = conn_queued(c);
	uint8_t small[2048], *buf = small;
	enum out_verdict v = OUT_OK;
	int rc = 0;

	if (plen + FRAME_TAG > FRAME_MAX)
		return -EMSGSIZE;
	if (queued + plen > OUT_BUDGET_OWN)
		v = out_budget_admit(queued, net_shared(c->net), plen, NET_MAX_QUEUE);
	if (v != OUT_OK) {
		counter_inc(v == OUT_LINK_FULL ? "overlay_tx_queue_full"
					       : "overlay_tx_budget_full");
		if (!c->full_since_us)
			c->full_since_us = clock_mono_us();
		c->budget_full |= v == OUT_BUDGET_FULL;
		return -ENOBUFS;
	}
	if (FRAME_HDR + plen + FRAME_TAG > sizeof(small) &&
	    !(buf = malloc(FRAME_HDR + plen + FRAME_TAG)))
		return -ENOMEM;
	l4lb__overlay__v1__peer_message__pack(m, buf + FRAME_HDR);
	if (frame_can_send(&c->fs) || m->type == L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO) {
		rc = put_frame(c, buf, plen);
	} else if (c->pending || (c->pending = evbuffer_new())) {
		/* the tag needs the peer's nonce: keep it until its Hello */
		uint32_t be = htonl((uint32_t)plen);

		evbuffer_add(c->pending, &be, 4);
		evbuffer_add(c->pending, buf + FRAME_HDR, plen);
	} else {
		rc = -ENOMEM;
	}
	if (buf != small)
		free(buf);
	return rc;
}

/* Keyed: the peer's nonce arrived; what waited goes out tagged. */
static int flush_pending(struct conn *c)
{
	uint32_t be;
	int rc = 0;

	while (c->pending && evbuffer_get_length(c->pending) >= 4 && rc == 0) {
		size_t plen;
		uint8_t *buf;

		evbuffer_remove(c->pending, &be, 4);
		plen = ntohl(be);
		if (!(buf = malloc(FRAME_HDR + plen + FRAME_TAG)))
			return -ENOMEM;
		evbuffer_remove(c->pending, buf + FRAME_HDR, plen);
		rc = put_frame(c, buf, plen);
		free(buf);
	}
	return rc;
}

static void send_hello(struct conn *c)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Hello h = L4LB__OVERLAY__V1__HELLO__INIT;
	uint8_t auth[32];
	PbNodeId self;

	node_to_pb(&c->net->self, &self);
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO;
	m.hello = &h;
	h.from = &self;
	h.has_epoch = 1;
	h.epoch = c->net->epoch;
	frame_hello(&c->fs, &h, auth);
	frame_send(c, &m);
}

static void bad_peer(struct conn *c, const char *why)
{
	char b[NODE_STR_MAX];

	report_bad_input("overlay_rx_malformed", "peer %s: %s, disconnected",
			 c->peer.len ? node_str(&c->peer, b) : "(no hello)", why);
	conn_lost(c);
}

/* The remote address of c's socket: what a peer says in its Hello is not
 * to be trusted when it failed to prove it. */
static const char *remote_str(const struct conn *c, char *buf)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct node_id n;

	if (c->remote.len)
		return node_str(&c->remote, buf);
	if (getpeername(bufferevent_getfd(c->bev), (struct sockaddr *)&ss, &sl) < 0 ||
	    node_from_sockaddr((struct sockaddr *)&ss, sl, &n) < 0)
		return "(unknown)";
	return node_str(&n, buf);
}

static void auth_failed(struct conn *c, const char *why)
{
	char a[NODE_STR_MAX], b[NODE_STR_MAX];

	report_bad_input("overlay_auth_failed", "peer at %s claiming %s: %s, disconnected",
			 remote_str(c, a), c->claimed.len ? node_str(&c->claimed, b) : "nothing",
			 why);
	conn_lost(c);
}

/* The peer's Hello: who it says it is. 0, or -1 when c was freed. */
static int on_hello(struct conn *c, const PeerMessage *m)
{
	struct node_id from;
	int rc;

	if (node_from_pb(m->hello->from, &from) < 0 ||
	    (c->peer.len && !node_eq(&from, &c->peer)) ||
	    (c->claimed.len && !node_eq(&from, &c->claimed)) || node_eq(&from, &c->net->self)) {
		bad_peer(c, "bad hello");
		return -1;
	}
	/* Open mode: identity is the node's address, and nodes connect from
	 * it (dial_socket), so a Hello naming another address is someone
	 * speaking for a node it is not (its Disconnect would cut the real
	 * node's link). With a key the proof decides instead. */
	if (!c->outgoing && !c->net->key && !(c->net->flags & NET_TRUST_IDS) &&
	    (rc = node_identity_check(&from, &c->remote)) < 0) {
		char a[NODE_STR_MAX], b[NODE_STR_MAX];

		report_bad_input("overlay_identity_refused",
				 "peer at %s claims to be %s (%s; --trust-peer-ids allows it "
				 "behind NAT), disconnected", remote_str(c, a), node_str(&from, b),
				 rc == -EAFNOSUPPORT ? "an identity of the other address family: "
				 "in open mode all nodes need ids of one family" :
				 "not its source address");
		conn_lost(c);
		return -1;
	}
	c->claimed = from;
	if (c->fs.state == FRAME_AUTH) {
		send_hello(c); /* now with our proof */
		if (flush_pending(c) < 0) {
			conn_lost(c);
			return -1;
		}
	}
	return 0;
}

/* Returns -1 when c was freed. */
static int on_frame(struct conn *c, const unsigned char *data, size_t len)
{
	enum frame_state was = c->fs.state;
	PeerMessage *m;
	int rc = frame_decode(&c->fs, data, len, &m);

	if (rc == -EACCES) {
		auth_failed(c, was == FRAME_HELLO ? "no or reflected nonce (no cluster key?)" :
			       was == FRAME_AUTH ? "bad proof or tag (wrong cluster key?)" :
						   "bad frame tag (tampered or replayed)");
		return -1;
	}
	if (rc < 0) {
		bad_peer(c, was == FRAME_HELLO && rc == -EPROTO ? "message before hello" :
			    "undecodable frame");
		return -1;
	}
	if (m->type == L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO) {
		rc = on_hello(c, m);
		if (rc == 0 && c->fs.state == FRAME_UP && !c->up) {
			c->peer = c->claimed;
			c->up = 1;
		}
	} else if (c->net->o && overlay_receive(c->net->o, &c->peer, m, clock_mono_us()) < 0) {
		bad_peer(c, "invalid message");
		rc = -1;
	}
	l4lb__overlay__v1__peer_message__free_unpacked(m, NULL);
	return rc;
}

/* The frames that arrived on c, each to the core (c may be freed). */
static void read_frames(struct conn *c, struct evbuffer *in)
{
	c->last_us = clock_mono_us();
	for (;;) {
		size_t have = evbuffer_get_length(in);
		unsigned char hdr[4];
		long len;

		if (have < 4)
			return;
		evbuffer_copyout(in, hdr, 4);
		if ((len = frame_len(hdr, FRAME_MAX)) < 0) {
			bad_peer(c, "frame size out of range");
			return;
		}
		if (have < 4 + (size_t)len)
			return;
		c->net->rx += 4 + (size_t)len;
		evbuffer_drain(in, 4);
		unsigned char *data = evbuffer_pullup(in, len);

		if (on_frame(c, data, (size_t)len) < 0)
			return;
		evbuffer_drain(in, (size_t)len);
		if (c->closing)
			return;
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct net *n = c->net;

	read_frames(c, bufferevent_get_input(bev));
	if (n->on_input)
		n->on_input(n->on_input_arg);
}

/* The output drained. */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->closing) {
		conn_free(c);
		return;
	}
	/* conn_kick writes from now on; the event only for what is left */
	if (c->connected)
		bufferevent_disable(bev, EV_WRITE);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		c->connected = 1;
		return;
	}
	if (c->closing) {
		conn_free(c);
		return;
	}
	conn_lost(c);
}

static struct conn *conn_new(struct net *n, struct bufferevent *bev)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		bufferevent_free(bev);
		return NULL;
	}
	c->net = n;
	c->bev = bev;
	if (frame_sec_init(&c->fs, n->key) < 0) {
		bufferevent_free(bev);
		free(c);
		return NULL;
	}
	c->last_us = clock_mono_us();
	c->next = n->conns;
	n->conns = c;
	n->n_conns++;
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return c;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		      void *arg)
{
	struct net *n = arg;
	struct bufferevent *bev;
	struct conn *c;
	int one = 1;

	(void)l;
	if (n->n_conns >= NET_MAX_CONNS) {
		report_bad_input("overlay_conn_limit",
				 "%zu connections open: a new one refused (a flood of connections?)",
				 n->n_conns);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!(bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		close(fd);
		return;
	}
	if (!(c = conn_new(n, bev)))
		return;
	c->connected = 1;
	node_from_sockaddr(sa, (socklen_t)len, &c->remote);
	send_hello(c);
}

/* The interface holding a link-local address (its scope), 0 if none: a
 * socket needs it to bind or connect to such an address. */
static uint32_t link_scope(const struct node_id *a)
{
	struct ifaddrs *ifa, *i;
	uint32_t scope = 0;

	if (!node_is_link_local(a) || getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && !scope; i = i->ifa_next) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)i->ifa_addr;

		if (s6 && s6->sin6_family == AF_INET6 && !memcmp(&s6->sin6_addr, a->ip, 16))
			scope = s6->sin6_scope_id ? s6->sin6_scope_id : if_nametoindex(i->ifa_name);
	}
	freeifaddrs(ifa);
	return scope;
}

/* ss (from node_to_sockaddr) gets our link's scope when it is link-local. */
static void set_scope(const struct net *n, const struct node_id *a, struct sockaddr_storage *ss)
{
	if (node_is_link_local(a))
		((struct sockaddr_in6 *)ss)->sin6_scope_id = n->scope;
}

/* A socket for a connection to `to`, bound to our own address when it is
 * of the same family: peers check in open mode that a Hello comes from
 * the address it names. Without that address (NAT: --node-ip is not
 * local) the kernel picks the source, logged. A peer of the other family
 * cannot be reached from our identity in open mode: tried anyway (the
 * peer may trust ids), logged. -1 on error. */
static evutil_socket_t dial_socket(struct net *n, const struct node_id *to)
{
	struct sockaddr_storage ss;
	struct node_id me = n->self;
	socklen_t sl;
	int one = 1;
	char b[NODE_STR_MAX], b2[NODE_STR_MAX];
	evutil_socket_t fd = socket(to->len == 4 ? AF_INET : AF_INET6,
				    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fd;
	if (n->self.len != to->len) {
		if (!n->key)
			log_limited(LOG_LVL_WARN, "overlay_dial_family",
				    "overlay: connecting to %s from identity %s: peers in open "
				    "mode refuse an identity of the other family (use one family, "
				    "a cluster key, or --trust-peer-ids on the peers)",
				    node_str(to, b), node_ip_str(&n->self, b2));
		return fd;
	}
	/* the port is chosen at connect, with the destination known, so
	 * binding the address does not use up ephemeral ports */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	me.port = 0;
	sl = node_to_sockaddr(&me, &ss);
	set_scope(n, &me, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		log_limited(LOG_LVL_WARN, "overlay_bind_self",
			    "overlay: cannot connect from own address %s (%s): peers in open "
			    "mode refuse such connections unless they run with --trust-peer-ids",
			    node_ip_str(&n->self, b), strerror(errno));
	}
	return fd;
}

static struct conn *conn_connect(struct net *n, const struct node_id *to)
{
	struct sockaddr_storage ss;
	socklen_t sl = node_to_sockaddr(to, &ss);
	struct bufferevent *bev;
	struct timeval tv = { 1, 0 }; /* connect timeout */
	struct conn *c;
	evutil_socket_t fd = dial_socket(n, to);

	if (fd < 0)
		return NULL;
	set_scope(n, to, &ss);
	if (!(bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		close(fd);
		return NULL;
	}
	if (!(c = conn_new(n, bev)))
		return NULL;
	c->outgoing = 1;
	c->peer = *to;
	bufferevent_set_timeouts(bev, &tv, &tv);
	if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)sl) < 0) {
		conn_free(c);
		return NULL;
	}
	send_hello(c);
	return c;
}

static int net_send(void *ctx, const struct node_id *to, const PeerMessage *m)
{
	struct net *n = ctx;
	struct conn *best = NULL;

	for (struct conn *c = n->conns; c; c = c->next)
		if (!c->closing && c->peer.len && node_eq(&c->peer, to) &&
		    (!best || (c->up && !best->up)))
			best = c;
	if (!best && !(best = conn_connect(n, to))) {
		/* tell the core asynchronously would be nicer; it retries anyway */
		return -ECONNREFUSED;
	}
	return frame_send(best, m);
}

static void net_close(void *ctx, const struct node_id *peer)
{
	struct net *n = ctx;
	struct timeval tv = { 1, 0 };

	for (struct conn *c = n->conns, *next; c; c = next) {
		next = c->next;
		if (!c->peer.len || !node_eq(&c->peer, peer) || c->closing)
			continue;
		/* Never freed here: we may be inside this connection's read
		 * callback. Flush what is queued (a DISCONNECT), but not
		 * forever; net_tick frees it once drained. */
		c->closing = 1;
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_set_timeouts(c->bev, NULL, &tv);
	}
}

const struct overlay_ops net_ops_template = { net_send, net_close, NULL };

/* A peer that keeps its connection busy (it sends, so it never looks idle)
 * but does not read what it is sent would hold the queue at its bound for
 * good, every message to it dropped. Once the queue has stayed above half
 * the bound for NET_STALL_US, the connection goes; when it was the shared
 * budget that refused (many such peers at once, none at its own bound),
 * above its own share. One per call: losing a link runs the core, which
 * may close other connections. */
static int drop_stalled(struct net *n, uint64_t now_us)
{
	char b[NODE_STR_MAX];

	for (struct conn *c = n->conns; c; c = c->next) {
		if (c->closing || !c->full_since_us)
			continue;
		if (conn_queued(c) < (c->budget_full ? OUT_BUDGET_OWN : NET_MAX_QUEUE / 2)) {
			c->full_since_us = 0;
			c->budget_full = 0;
			continue;
		}
		if (now_us - c->full_since_us < NET_STALL_US)
			continue;
		report_bad_input("overlay_tx_stalled",
				 "peer %s: output queue full for %u s (it does not read), disconnected",
				 c->peer.len ? node_str(&c->peer, b) : "(no hello)",
				 (unsigned)(NET_STALL_US / 1000000));
		conn_lost(c);
		return 1;
	}
	return 0;
}

void net_tick(struct net *n, uint64_t now_us)
{
	drop_stalled(n, now_us);
	/* connections outside the active view (shuffles, refused requests)
	 * are closed when idle */
	for (struct conn *c = n->conns, *next; c; c = next) {
		next = c->next;
		if (c->closing) {
			if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
				conn_free(c);
			continue;
		}
		if (c->last_us + 10000000 > now_us)
			continue;
		if (c->peer.len && n->o && overlay_link(n->o, &c->peer))
			continue;
		conn_free(c);
	}
}

struct net *net_new(struct event_base *base, const struct node_id *self, uint64_t epoch,
		    const struct node_id *listen, const struct frame_key *key, unsigned flags)
{
	struct net *n = calloc(1, sizeof(*n));
	struct sockaddr_storage ss;
	socklen_t sl = node_to_sockaddr(listen, &ss);
	char b[NODE_STR_MAX], b2[NODE_STR_MAX];

	if (!n)
		return NULL;
	n->base = base;
	n->self = *self;
	n->epoch = epoch;
	n->key = key;
	n->flags = flags;
	/* a link-local identity: peers' link-local ids are on the same link */
	n->scope = link_scope(self);
	if (node_is_link_local(self) && !n->scope)
		log_warn("overlay: %s is link-local but on no interface here: connections to "
			 "link-local peers will fail", node_ip_str(self, b));
	if (node_is_link_local(listen))
		((struct sockaddr_in6 *)&ss)->sin6_scope_id = link_scope(listen);
	n->lst = evconnlistener_new_bind(base, on_accept, n,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
					 (struct sockaddr *)&ss, (int)sl);
	if (!n->lst) {
		log_error("overlay: cannot listen on %s: %s", node_str(listen, b), strerror(errno));
		free(n);
		return NULL;
	}
	log_info("overlay: listening on %s as %s", node_str(listen, b), node_str(self, b2));
	return n;
}

void net_attach(struct net *n, struct overlay *o)
{
	n->o = o;
}

void net_on_input(struct net *n, void (*fn)(void *arg), void *arg)
{
	n->on_input = fn;
	n->on_input_arg = arg;
}

void net_free(struct net *n)
{
	if (!n)
		return;
	while (n->conns)
		conn_free(n->conns);
	if (n->lst)
		evconnlistener_free(n->lst);
	free(n);
}

void net_stats(const struct net *n, uint64_t *rx, uint64_t *tx, size_t *conns)
{
	*rx = n->rx;
	*tx = n->tx;
	*conns = n->n_conns;
}
