// SPDX-License-Identifier: Apache-2.0
#include "common/ipc.h"

#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/log.h"

/* Messages up to twice the envelope limit are received so that an
 * oversize one is counted and refused by envelope_unpack; beyond that
 * nanomsg drops the sender's connection by itself. */
#define IPC_RCVMAXSIZE ((int)(2 * ENVELOPE_MAX_SIZE))
#define IPC_BUF_SIZE (16 << 20)
#define IPC_BATCH 64

int ipc_url(char *buf, size_t size, const char *run_dir, const char *daemon, const char *kind)
{
	int n = snprintf(buf, size, "ipc://%s/%s.%s", run_dir, daemon, kind);

	/* sun_path holds 108 bytes including the NUL. */
	if (n < 0 || (size_t)n >= size || n - 6 >= 108)
		return -ENAMETOOLONG;
	return 0;
}

const char *ipc_url_path(const char *url)
{
	return strncmp(url, "ipc://", 6) == 0 ? url + 6 : url;
}

int ipc_socket_tune(int sock)
{
	int max = IPC_RCVMAXSIZE, buf = IPC_BUF_SIZE;

	if (nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof(max)) < 0)
		return -nn_errno();
	/* PUB has no receive side and SUB no send side: ignore ENOPROTOOPT. */
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVBUF, &buf, sizeof(buf));
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_SNDBUF, &buf, sizeof(buf));
	return 0;
}

/*
 * A socket read on the loop: the server's, a subscriber's two, a feed's.
 * fn gets each message's bytes (its result is not used here), at most
 * IPC_BATCH per wakeup so one busy socket cannot starve the rest.
 */
struct rx {
	int sock;
	struct event *ev;
	ipc_raw_apply_fn fn;
	void *arg;
};

static void rx_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct rx *rx = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < IPC_BATCH; i++) {
		void *msg = NULL;
		int n = nn_recv(rx->sock, &msg, NN_MSG, NN_DONTWAIT);

		if (n < 0)
			break;
		counter_inc("ipc_rx_messages");
		rx->fn(msg, (size_t)n, rx->arg);
		nn_freemsg(msg);
	}
}

/* Watches rx->sock (open already). 0 or -1. */
static int rx_watch(struct event_base *base, struct rx *rx, ipc_raw_apply_fn fn, void *arg)
{
	int fd;
	size_t sz = sizeof(fd);

	rx->fn = fn;
	rx->arg = arg;
	if (nn_getsockopt(rx->sock, NN_SOL_SOCKET, NN_RCVFD, &fd, &sz) < 0)
		return -1;
	/* The descriptor is level-triggered: readable while messages wait. */
	rx->ev = event_new(base, fd, EV_READ | EV_PERSIST, rx_on_read, rx);
	if (rx->ev && event_add(rx->ev, NULL) < 0) {
		event_free(rx->ev);
		rx->ev = NULL;
	}
	return rx->ev ? 0 : -1;
}

static void rx_close(struct rx *rx)
{
	if (rx->ev)
		event_free(rx->ev);
	if (rx->sock >= 0)
		nn_close(rx->sock);
	rx->ev = NULL;
	rx->sock = -1;
}

static int open_socket(int protocol, const char *url, int bind)
{
	int s = nn_socket(AF_SP, protocol);

	if (s < 0)
		return -1;
	if (ipc_socket_tune(s) < 0 || (bind ? nn_bind(s, url) : nn_connect(s, url)) < 0) {
		int err = nn_errno();

		nn_close(s);
		errno = err;
		return -1;
	}
	return s;
}

/* ---------------------------------------------------------------- server */

struct ipc_server {
	struct rx rx;
	char *url;
	struct {
		int type;
		ipc_handler_fn fn;
		void *arg;
	} handlers[16];
	size_t nhandlers;
};

static int server_handle_one(const void *msg, size_t len, void *arg)
{
	struct ipc_server *srv = arg;
	struct ipc_buf reply = { 0 };
	const char *why = NULL;
	Envelope *env = envelope_unpack(msg, len, &why);
	int rc = -EPROTO;

	if (!env) {
		report_bad_input("ipc_rx_malformed", "%s: %s (%zu bytes)", srv->url, why, len);
	} else {
		size_t i;

		for (i = 0; i < srv->nhandlers; i++)
			if (srv->handlers[i].type == (int)env->type)
				break;
		if (i == srv->nhandlers) {
			report_bad_input("ipc_rx_unsupported", "%s: no handler for %s", srv->url,
					 envelope_type_name(env->type));
			why = "request type not supported by this daemon";
		} else {
			rc = srv->handlers[i].fn(env, &reply, srv->handlers[i].arg);
			if (rc < 0) {
				ipc_buf_free(&reply);
				why = strerror(-rc);
			}
		}
	}
	if (why && envelope_pack_error(&reply, why) < 0)
		goto done;
	if (nn_send(srv->rx.sock, reply.data, reply.len, NN_DONTWAIT) < 0) {
		counter_inc("ipc_tx_errors");
		log_limited(LOG_LVL_WARN, "ipc_tx_errors", "%s: reply not sent: %s", srv->url,
			    nn_strerror(nn_errno()));
	}
done:
	ipc_buf_free(&reply);
	envelope_free(env);
	return 0;
}

Envelope *ipc_server_call(struct ipc_server *srv, int type, const char **why)
{
	struct ipc_buf req = { 0 }, reply = { 0 };
	Envelope *env = NULL, *out = NULL;
	size_t i;
	int rc;

	*why = "request type not supported by this daemon";
	for (i = 0; srv && i < srv->nhandlers; i++)
		if (srv->handlers[i].type == type)
			break;
	if (!srv || i == srv->nhandlers)
		return NULL;
	/* through the codec, so the handler gets what a socket would give it */
	*why = "cannot encode the request";
	if (envelope_pack_request(type, &req) < 0 || !(env = envelope_unpack(req.data, req.len, why)))
		goto done;
	rc = srv->handlers[i].fn(env, &reply, srv->handlers[i].arg);
	if (rc < 0) {
		ipc_buf_free(&reply);
		*why = "cannot encode the error reply";
		if (envelope_pack_error(&reply, strerror(-rc)) < 0)
			goto done;
	}
	out = envelope_unpack(reply.data, reply.len, why);
done:
	ipc_buf_free(&req);
	ipc_buf_free(&reply);
	envelope_free(env);
	return out;
}

struct ipc_server *ipc_server_open(struct event_base *base, const char *url)
{
	struct ipc_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	srv->url = strdup(url);
	srv->rx.sock = open_socket(NN_REP, url, 1);
	if (srv->rx.sock < 0 || !srv->url) {
		log_error("cannot bind %s: %s", url, nn_strerror(errno));
		goto fail;
	}
	if (rx_watch(base, &srv->rx, server_handle_one, srv) < 0)
		goto fail;
	return srv;
fail:
	ipc_server_close(srv);
	return NULL;
}

int ipc_server_handle(struct ipc_server *srv, int type, ipc_handler_fn fn, void *arg)
{
	size_t i;

	for (i = 0; i < srv->nhandlers; i++)
		if (srv->handlers[i].type == type)
			break;
	if (i == sizeof(srv->handlers) / sizeof(srv->handlers[0]))
		return -ENOSPC;
	srv->handlers[i].type = type;
	srv->handlers[i].fn = fn;
	srv->handlers[i].arg = arg;
	if (i == srv->nhandlers)
		srv->nhandlers++;
	return 0;
}

void ipc_server_close(struct ipc_server *srv)
{
	if (!srv)
		return;
	rx_close(&srv->rx);
	free(srv->url);
	free(srv);
}

/* ------------------------------------------------------------- publisher */

static const unsigned pub_burst_ms[] = { 250, 1000, 3000 };

struct ipc_pub {
	int sock;
	char *url;
	struct event *timer;
	struct ipc_buf snap;
	unsigned republish_ms;
	unsigned burst;
};

static void pub_send(struct ipc_pub *pub)
{
	if (!pub->snap.data)
		return;
	/* PUB never blocks: with no subscriber the message is dropped. */
	if (nn_send(pub->sock, pub->snap.data, pub->snap.len, NN_DONTWAIT) < 0)
		counter_inc("ipc_pub_dropped");
	else
		counter_inc("ipc_published");
}

static void pub_schedule(struct ipc_pub *pub)
{
	unsigned ms = pub->burst < sizeof(pub_burst_ms) / sizeof(pub_burst_ms[0])
			      ? pub_burst_ms[pub->burst++]
			      : pub->republish_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(pub->timer, &tv);
}

static void pub_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_pub *pub = arg;

	(void)fd;
	(void)what;
	pub_send(pub);
	pub_schedule(pub);
}

static int pub_on_snapshot_request(const Envelope *req, struct ipc_buf *reply, void *arg)
{
	struct ipc_pub *pub = arg;

	(void)req;
	if (!pub->snap.data)
		return -EAGAIN; /* not synced yet: never answer with an empty table */
	reply->data = malloc(pub->snap.len ? pub->snap.len : 1);
	if (!reply->data)
		return -ENOMEM;
	memcpy(reply->data, pub->snap.data, pub->snap.len);
	reply->len = pub->snap.len;
	return 0;
}

struct ipc_pub *ipc_pub_open(struct event_base *base, const char *url, struct ipc_server *srv,
			     unsigned republish_ms)
{
	struct ipc_pub *pub = calloc(1, sizeof(*pub));

	if (!pub)
		return NULL;
	pub->republish_ms = republish_ms ? republish_ms : 5000;
	pub->url = strdup(url);
	pub->sock = open_socket(NN_PUB, url, 1);
	pub->timer = evtimer_new(base, pub_on_timer, pub);
	if (pub->sock < 0 || !pub->timer || !pub->url) {
		log_error("cannot bind %s: %s", url, nn_strerror(errno));
		ipc_pub_close(pub);
		return NULL;
	}
	if (srv)
		ipc_server_handle(srv, L4LB__V1__ENVELOPE__TYPE__SNAPSHOT_REQUEST,
				  pub_on_snapshot_request, pub);
	return pub;
}

void ipc_pub_set(struct ipc_pub *pub, struct ipc_buf *snap)
{
	ipc_buf_free(&pub->snap);
	pub->snap = *snap;
	snap->data = NULL;
	snap->len = 0;
	pub_send(pub);
	pub->burst = 0;
	evtimer_del(pub->timer);
	pub_schedule(pub);
}

int ipc_pub_has_snapshot(const struct ipc_pub *pub) { return pub->snap.data != NULL; }

void ipc_pub_close(struct ipc_pub *pub)
{
	if (!pub)
		return;
	if (pub->timer)
		event_free(pub->timer);
	if (pub->sock >= 0)
		nn_close(pub->sock);
	ipc_buf_free(&pub->snap);
	free(pub->url);
	free(pub);
}

/* ------------------------------------------------------------ subscriber */

enum snap_verdict snap_seq_check(struct snap_seq *s, uint64_t epoch, uint64_t gen)
{
	if (s->have && s->epoch == epoch) {
		if (gen == s->gen)
			return SNAP_SAME;
		if (gen < s->gen)
			return SNAP_OLDER;
	}
	s->have = 1;
	s->epoch = epoch;
	s->gen = gen;
	return SNAP_NEWER;
}

uint64_t ipc_new_epoch(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 48);
}

struct ipc_sub {
	struct rx sub, req; /* sock -1: not opened (no pub_url; detached) */
	char *rep_url;
	struct event *timer;
	int type;
	unsigned stale_ms;
	uint64_t last_rx_ms, req_sent_ms;
	struct snap_seq seq;
	ipc_snapshot_fn fn;
	void *arg;
	ipc_raw_peek_fn peek; /* optional: ipc_sub_set_raw */
	ipc_raw_apply_fn apply;
	int fresh; /* ipc_sub_request: deliver the next reply even if not newer */
};

static int snapshot_version(const Envelope *env, uint64_t *epoch, uint64_t *gen)
{
	switch (env->type) {
	case L4LB__V1__ENVELOPE__TYPE__VIP_TABLE:
		*epoch = env->vip_table->publisher_epoch;
		*gen = env->vip_table->generation;
		return 0;
	case L4LB__V1__ENVELOPE__TYPE__REACHABILITY:
		*epoch = env->reachability->publisher_epoch;
		*gen = env->reachability->generation;
		return 0;
	default:
		return -EPROTO;
	}
}

/* Orders a snapshot by its version: 1 if it is newer (now the current one),
 * or the same one asked for again by ipc_sub_request. */
static int sub_order(struct ipc_sub *sub, uint64_t epoch, uint64_t gen, int from_req)
{
	sub->last_rx_ms = clock_mono_ms();
	switch (snap_seq_check(&sub->seq, epoch, gen)) {
	case SNAP_NEWER:
		sub->fresh = sub->fresh && !from_req;
		return 1;
	case SNAP_SAME:
		if (from_req && sub->fresh) {
			sub->fresh = 0;
			return 1;
		}
		break;
	case SNAP_OLDER:
		report_bad_input("ipc_rx_out_of_order", "%s: generation %llu after %llu, ignored",
				 sub->rep_url, (unsigned long long)gen,
				 (unsigned long long)sub->seq.gen);
		break;
	}
	return 0;
}

/* Unpacks and delivers. ordered: the raw hook has already found it newer
 * (seq was the version before it, restored if it does not unpack). */
static void sub_deliver_unpacked(struct ipc_sub *sub, const void *msg, size_t len, int from_req,
				 const struct snap_seq *ordered)
{
	const char *why = NULL;
	Envelope *env = envelope_unpack(msg, len, &why);
	uint64_t epoch, gen;

	if (!env) {
		if (ordered)
			sub->seq = *ordered;
		report_bad_input("ipc_rx_malformed", "%s: %s (%zu bytes)", sub->rep_url, why, len);
		return;
	}
	if (env->type == L4LB__V1__ENVELOPE__TYPE__ERROR && from_req) {
		/* The publisher has no snapshot yet: ask again later. */
		log_debug("%s: %s", sub->rep_url, env->error->message ? env->error->message : "");
		goto done;
	}
	if ((int)env->type != sub->type || snapshot_version(env, &epoch, &gen) < 0) {
		if (ordered)
			sub->seq = *ordered;
		report_bad_input("ipc_rx_unexpected", "%s: unexpected %s", sub->rep_url,
				 envelope_type_name(env->type));
		goto done;
	}
	if (ordered || sub_order(sub, epoch, gen, from_req)) {
		counter_inc("ipc_snapshots_applied");
		sub->fn(env, sub->arg);
	}
done:
	envelope_free(env);
}

static void sub_deliver(struct ipc_sub *sub, const void *msg, size_t len, int from_req)
{
	struct snap_seq before = sub->seq;
	uint64_t epoch, gen;
	int rc;

	if (!sub->peek || sub->peek(msg, len, &epoch, &gen, sub->arg) < 0) {
		sub_deliver_unpacked(sub, msg, len, from_req, NULL);
		return;
	}
	if (!sub_order(sub, epoch, gen, from_req))
		return;
	rc = sub->apply(msg, len, sub->arg);
	if (rc == 0)
		counter_inc("ipc_snapshots_applied");
	else if (rc > 0) /* IPC_RAW_SKIPPED: the reader holds a newer table */
		counter_inc("ipc_snapshots_skipped");
	else
		sub_deliver_unpacked(sub, msg, len, from_req, &before);
}

void ipc_sub_receive(struct ipc_sub *sub, const void *msg, size_t len, int from_req)
{
	counter_inc("ipc_rx_messages"); /* as rx_on_read counts for the sockets */
	sub_deliver(sub, msg, len, from_req);
}

struct ipc_sub *ipc_sub_detached(int type, ipc_snapshot_fn fn, void *arg)
{
	struct ipc_sub *sub = calloc(1, sizeof(*sub));

	if (!sub)
		return NULL;
	sub->sub.sock = sub->req.sock = -1;
	sub->type = type;
	sub->fn = fn;
	sub->arg = arg;
	if (!(sub->rep_url = strdup("(detached)"))) {
		free(sub);
		return NULL;
	}
	return sub;
}

void ipc_sub_set_raw(struct ipc_sub *sub, ipc_raw_peek_fn peek, ipc_raw_apply_fn apply)
{
	sub->peek = peek;
	sub->apply = apply;
}

static int sub_on_pub(const void *msg, size_t len, void *arg)
{
	sub_deliver(arg, msg, len, 0);
	return 0;
}

static int sub_on_reply(const void *msg, size_t len, void *arg)
{
	sub_deliver(arg, msg, len, 1);
	return 0;
}

static void sub_request(struct ipc_sub *sub)
{
	struct ipc_buf b;

	if (envelope_pack_request(L4LB__V1__ENVELOPE__TYPE__SNAPSHOT_REQUEST, &b) < 0)
		return;
	/* REQ holds the request until the peer is there and resends it when
	 * the peer restarts; a new request replaces an unanswered one. */
	if (nn_send(sub->req.sock, b.data, b.len, NN_DONTWAIT) >= 0)
		sub->req_sent_ms = clock_mono_ms();
	ipc_buf_free(&b);
}

static void sub_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_sub *sub = arg;
	uint64_t now = clock_mono_ms();

	(void)fd;
	(void)what;
	if (now - sub->last_rx_ms >= sub->stale_ms && now - sub->req_sent_ms >= sub->stale_ms)
		sub_request(sub);
}

struct ipc_sub *ipc_sub_open(struct event_base *base, const char *pub_url, const char *rep_url,
			     int type, unsigned stale_ms, ipc_snapshot_fn fn, void *arg)
{
	struct ipc_sub *sub = calloc(1, sizeof(*sub));
	int resend = 1000;
	struct timeval tick = { 0, 250000 };

	if (!sub)
		return NULL;
	sub->sub.sock = sub->req.sock = -1;
	sub->type = type;
	sub->stale_ms = stale_ms ? stale_ms : 12000;
	sub->fn = fn;
	sub->arg = arg;
	sub->rep_url = strdup(rep_url);
	if (pub_url) {
		sub->sub.sock = open_socket(NN_SUB, pub_url, 0);
		if (sub->sub.sock < 0 ||
		    nn_setsockopt(sub->sub.sock, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0 ||
		    rx_watch(base, &sub->sub, sub_on_pub, sub) < 0)
			goto fail;
	}
	sub->req.sock = open_socket(NN_REQ, rep_url, 0);
	if (sub->req.sock < 0 || !sub->rep_url ||
	    nn_setsockopt(sub->req.sock, NN_REQ, NN_REQ_RESEND_IVL, &resend, sizeof(resend)) < 0)
		goto fail;
	sub->timer = event_new(base, -1, EV_PERSIST, sub_on_timer, sub);
	if (rx_watch(base, &sub->req, sub_on_reply, sub) < 0 || !sub->timer ||
	    evtimer_add(sub->timer, &tick) < 0)
		goto fail;
	sub_request(sub);
	return sub;
fail:
	log_error("cannot subscribe to %s: %s", pub_url ? pub_url : rep_url,
		  nn_strerror(nn_errno()));
	ipc_sub_close(sub);
	return NULL;
}

void ipc_sub_request(struct ipc_sub *sub)
{
	sub->fresh = 1;
	sub_request(sub);
}

void ipc_sub_close(struct ipc_sub *sub)
{
	if (!sub)
		return;
	if (sub->timer)
		event_free(sub->timer);
	rx_close(&sub->sub);
	rx_close(&sub->req);
	free(sub->rep_url);
	free(sub);
}

/* ------------------------------------------------------ plain subscriber */

struct ipc_feed {
	struct rx rx;
};

struct ipc_feed *ipc_feed_open(struct event_base *base, const char *pub_url,
			       ipc_raw_apply_fn fn, void *arg)
{
	struct ipc_feed *feed = calloc(1, sizeof(*feed));

	if (!feed)
		return NULL;
	feed->rx.sock = open_socket(NN_SUB, pub_url, 0);
	if (feed->rx.sock < 0 ||
	    nn_setsockopt(feed->rx.sock, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0 ||
	    rx_watch(base, &feed->rx, fn, arg) < 0) {
		log_error("cannot subscribe to %s: %s", pub_url, nn_strerror(nn_errno()));
		ipc_feed_close(feed);
		return NULL;
	}
	return feed;
}

void ipc_feed_close(struct ipc_feed *feed)
{
	if (!feed)
		return;
	rx_close(&feed->rx);
	free(feed);
}

/* ---------------------------------------------------------------- client */

Envelope *ipc_call_raw(const char *url, const void *data, size_t len, int timeout_ms,
			const char **why)
{
	Envelope *reply = NULL;
	void *msg = NULL;
	int s, n;

	*why = NULL;
	s = open_socket(NN_REQ, url, 0);
	if (s < 0) {
		*why = "cannot open socket";
		return NULL;
	}
	nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout_ms, sizeof(timeout_ms));
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms, sizeof(timeout_ms));
	if (nn_send(s, data, len, 0) < 0) {
		*why = "send failed";
		goto done;
	}
	n = nn_recv(s, &msg, NN_MSG, 0);
	if (n < 0) {
		*why = nn_errno() == ETIMEDOUT ? "no reply" : "receive failed";
		goto done;
	}
	reply = envelope_unpack(msg, (size_t)n, why);
	nn_freemsg(msg);
done:
	nn_close(s);
	return reply;
}

Envelope *ipc_call(const char *url, const Envelope *req, int timeout_ms, const char **why)
{
	struct ipc_buf b;
	Envelope *reply;

	if (envelope_pack(req, &b) < 0) {
		*why = "cannot encode request";
		return NULL;
	}
	reply = ipc_call_raw(url, b.data, b.len, timeout_ms, why);
	ipc_buf_free(&b);
	return reply;
}
