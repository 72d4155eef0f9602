// SPDX-License-Identifier: Apache-2.0
#include "overlayd/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/log.h"

struct conn {
	struct net *net;
	struct bufferevent *bev;
	struct node_id peer; /* len 0 until its Hello arrived (incoming) */
	int outgoing, up, closing;
	uint64_t last_us;
	struct conn *next;
};

struct net {
	struct event_base *base;
	struct evconnlistener *lst;
	struct node_id self;
	uint64_t epoch;
	struct overlay *o;
	struct conn *conns;
	uint64_t rx, tx;
	size_t n_conns;
};

long net_frame_len(const unsigned char *hdr, size_t max)
{
	uint32_t len = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
		       ((uint32_t)hdr[2] << 8) | hdr[3];

	if (len == 0 || len > max)
		return -EMSGSIZE;
	return (long)len;
}

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
	if (last && n->o)
		overlay_link_down(n->o, &peer, clock_mono_us());
}

static int frame_send(struct conn *c, const PeerMessage *m)
{
	size_t len = l4lb__overlay__v1__peer_message__get_packed_size(m);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	unsigned char hdr[4];
	unsigned char *buf;

	if (len > NET_MAX_FRAME)
		return -EMSGSIZE;
	if (evbuffer_get_length(out) + len > NET_MAX_QUEUE) {
		counter_inc("overlay_tx_queue_full");
		return -ENOBUFS;
	}
	if (!(buf = malloc(len ? len : 1)))
		return -ENOMEM;
	l4lb__overlay__v1__peer_message__pack(m, buf);
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
	evbuffer_add(out, hdr, 4);
	evbuffer_add(out, buf, len);
	free(buf);
	c->net->tx += len + 4;
	return 0;
}

static void send_hello(struct conn *c)
{
	PeerMessage m = L4LB__OVERLAY__V1__PEER_MESSAGE__INIT;
	L4lb__Overlay__V1__Hello h = L4LB__OVERLAY__V1__HELLO__INIT;
	PbNodeId self;

	node_to_pb(&c->net->self, &self);
	m.has_type = 1;
	m.type = L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO;
	m.hello = &h;
	h.from = &self;
	h.has_epoch = 1;
	h.epoch = c->net->epoch;
	frame_send(c, &m);
}

static void bad_peer(struct conn *c, const char *why)
{
	char b[NODE_STR_MAX];

	report_bad_input("overlay_rx_malformed", "peer %s: %s, disconnected",
			 c->peer.len ? node_str(&c->peer, b) : "(no hello)", why);
	conn_lost(c);
}

/* Returns -1 when c was freed. */
static int on_frame(struct conn *c, const unsigned char *data, size_t len)
{
	PeerMessage *m = l4lb__overlay__v1__peer_message__unpack(NULL, len, data);
	struct node_id from;
	int rc = 0;

	if (!m) {
		bad_peer(c, "undecodable frame");
		return -1;
	}
	if (m->type == L4LB__OVERLAY__V1__PEER_MESSAGE__TYPE__HELLO) {
		if (!m->hello || node_from_pb(m->hello->from, &from) < 0 ||
		    (c->peer.len && !node_eq(&from, &c->peer)) || node_eq(&from, &c->net->self)) {
			bad_peer(c, "bad hello");
			rc = -1;
		} else {
			c->peer = from;
			c->up = 1;
		}
	} else if (!c->peer.len || !c->up) {
		bad_peer(c, "message before hello");
		rc = -1;
	} else if (c->net->o && overlay_receive(c->net->o, &c->peer, m, clock_mono_us()) < 0) {
		bad_peer(c, "invalid message");
		rc = -1;
	}
	l4lb__overlay__v1__peer_message__free_unpacked(m, NULL);
	return rc;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	c->last_us = clock_mono_us();
	for (;;) {
		size_t have = evbuffer_get_length(in);
		unsigned char hdr[4];
		long len;

		if (have < 4)
			return;
		evbuffer_copyout(in, hdr, 4);
		if ((len = net_frame_len(hdr, NET_MAX_FRAME)) < 0) {
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

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->closing)
		conn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		bufferevent_set_timeouts(c->bev, NULL, NULL);
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
	(void)sa;
	(void)len;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!(bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE)))
		return;
	if ((c = conn_new(n, bev)))
		send_hello(c);
}

static struct conn *conn_connect(struct net *n, const struct node_id *to)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	struct bufferevent *bev;
	struct timeval tv = { 1, 0 }; /* connect timeout */
	struct conn *c;

	if (to->len == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, to->ip, 4);
		s4->sin_port = htons(to->port);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, to->ip, 16);
		s6->sin6_port = htons(to->port);
		sl = sizeof(*s6);
	}
	if (!(bev = bufferevent_socket_new(n->base, -1, BEV_OPT_CLOSE_ON_FREE)))
		return NULL;
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

void net_tick(struct net *n, uint64_t now_us)
{
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
		    const struct node_id *listen)
{
	struct net *n = calloc(1, sizeof(*n));
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	char b[NODE_STR_MAX];

	if (!n)
		return NULL;
	n->base = base;
	n->self = *self;
	n->epoch = epoch;
	if (listen->len == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, listen->ip, 4);
		s4->sin_port = htons(listen->port);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, listen->ip, 16);
		s6->sin6_port = htons(listen->port);
		sl = sizeof(*s6);
	}
	n->lst = evconnlistener_new_bind(base, on_accept, n,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
					 (struct sockaddr *)&ss, (int)sl);
	if (!n->lst) {
		log_error("overlay: cannot listen on %s: %s", node_str(listen, b), strerror(errno));
		free(n);
		return NULL;
	}
	log_info("overlay: listening on %s as %s", node_str(listen, b), node_str(self, b + 0));
	return n;
}

void net_attach(struct net *n, struct overlay *o)
{
	n->o = o;
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
