/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nanomsg sockets on the libevent loop. Each daemon binds
 *   ipc://<run-dir>/<daemon>.rep   request/reply: status, snapshots, state
 *   ipc://<run-dir>/<daemon>.pub   publish: complete snapshots (vipd, overlayd)
 *   ipc://<run-dir>/vipd.delta.pub publish: VipTableDelta, one per generation
 * The loop only polls NN_RCVFD and every send is NN_DONTWAIT, so IPC never
 * blocks a daemon.
 */
#ifndef L4LB_IPC_H
#define L4LB_IPC_H

#include <event2/event.h>
#include <stdint.h>

#include "common/envelope.h"

/* "ipc://<run_dir>/<daemon>.<kind>" into buf; -ENAMETOOLONG if it does not
 * fit in a unix socket path. */
int ipc_url(char *buf, size_t size, const char *run_dir, const char *daemon, const char *kind);
/* The socket's file path (the URL without "ipc://"). */
const char *ipc_url_path(const char *url);

/* Sets the receive limit and buffer sizes every l4lb socket uses. */
int ipc_socket_tune(int sock);

/* --- request/reply server --- */
struct ipc_server;

/* Fills `reply` (malloc'd, sent and freed by the server). Return 0, or a
 * negative errno to have an ERROR envelope sent instead. */
typedef int (*ipc_handler_fn)(const Envelope *req, struct ipc_buf *reply, void *arg);

struct ipc_server *ipc_server_open(struct event_base *base, const char *url);
/* One handler per envelope type; replaces an earlier one. */
int ipc_server_handle(struct ipc_server *srv, int type, ipc_handler_fn fn, void *arg);
void ipc_server_close(struct ipc_server *srv);
/*
 * Runs the handler this server has for request `type` in this process, as
 * if a client had sent an empty request of that type, so a daemon's own
 * views (HTTP) show exactly what l4lbctl gets over the socket. Returns the
 * decoded reply (envelope_free it; it may be an ERROR envelope) or NULL with
 * *why set.
 */
Envelope *ipc_server_call(struct ipc_server *srv, int type, const char **why);

/* --- publisher of complete snapshots --- */
struct ipc_pub;

/*
 * Binds the PUB socket and answers SNAPSHOT_REQUEST on `srv` with the
 * current snapshot. Every snapshot is republished every `republish_ms`, and
 * a few times shortly after it is set, so subscribers that (re)connect in
 * between still get it quickly.
 */
struct ipc_pub *ipc_pub_open(struct event_base *base, const char *url, struct ipc_server *srv,
			     unsigned republish_ms);
/* Takes ownership of `snap` (a packed Envelope) and publishes it now. */
void ipc_pub_set(struct ipc_pub *pub, struct ipc_buf *snap);
int ipc_pub_has_snapshot(const struct ipc_pub *pub);
void ipc_pub_close(struct ipc_pub *pub);

/* --- subscriber to a publisher's snapshots --- */
struct ipc_sub;

/* Called with each snapshot newer than the last one delivered. */
typedef void (*ipc_snapshot_fn)(const Envelope *snap, void *arg);

/*
 * Subscribes to `pub_url` and asks `rep_url` for the current snapshot at
 * start and whenever nothing has arrived for `stale_ms`. Delivers only
 * envelopes of `type` (VIP_TABLE or REACHABILITY) that are newer by
 * (publisher_epoch, generation); older ones are counted and dropped.
 * pub_url NULL: no subscription, snapshots come only as replies (a reader
 * that follows deltas and fetches a snapshot when it needs one).
 */
struct ipc_sub *ipc_sub_open(struct event_base *base, const char *pub_url, const char *rep_url,
			     int type, unsigned stale_ms, ipc_snapshot_fn fn, void *arg);
void ipc_sub_close(struct ipc_sub *sub);
/* Asks for the current snapshot now. The reply is delivered even if it is
 * the version delivered last: the caller wants a fresh copy to check. */
void ipc_sub_request(struct ipc_sub *sub);

/*
 * Optional, for large snapshots: `peek` reads the version of a raw message
 * without unpacking it (0, or negative: not one it knows, so the message
 * goes the usual way). A newer one is then handed raw to `apply`, which
 * returns 0 when it applied it (counted ipc_snapshots_applied) or
 * IPC_RAW_SKIPPED when it left it alone because it already holds a newer
 * table by other means, e.g. deltas (counted ipc_snapshots_skipped; the
 * version still counts as received). If it returns negative, the message is
 * unpacked and given to the snapshot fn as usual (and if it does not
 * unpack, the previous version stays current).
 */
typedef int (*ipc_raw_peek_fn)(const void *data, size_t len, uint64_t *epoch, uint64_t *gen,
			       void *arg);
typedef int (*ipc_raw_apply_fn)(const void *data, size_t len, void *arg);
#define IPC_RAW_SKIPPED 1
void ipc_sub_set_raw(struct ipc_sub *sub, ipc_raw_peek_fn peek, ipc_raw_apply_fn apply);

/* The receive path on its own (the fuzz harness's entry): a subscriber
 * without sockets, and what any subscriber does with one message received
 * on its SUB socket (from_req 0) or as the answer to its snapshot request
 * (1): unpack, type check, ordering, delivery. Close with ipc_sub_close. */
struct ipc_sub *ipc_sub_detached(int type, ipc_snapshot_fn fn, void *arg);
void ipc_sub_receive(struct ipc_sub *sub, const void *msg, size_t len, int from_req);

/* --- plain subscriber: every message, raw, in arrival order --- */
struct ipc_feed;

/* Subscribes to `pub_url`; fn gets each message's bytes (not yet unpacked,
 * not ordered: the reader judges them). */
struct ipc_feed *ipc_feed_open(struct event_base *base, const char *pub_url,
			       ipc_raw_apply_fn fn, void *arg);
void ipc_feed_close(struct ipc_feed *feed);

/* --- ordering of snapshots (pure, unit-tested) --- */
struct snap_seq {
	uint64_t epoch, gen;
	int have;
};

enum snap_verdict { SNAP_NEWER, SNAP_SAME, SNAP_OLDER };

/* A snapshot from a new publisher instance (other epoch) or with a higher
 * generation is newer and becomes the current one. */
enum snap_verdict snap_seq_check(struct snap_seq *s, uint64_t epoch, uint64_t gen);

/* An epoch unique to this process start (wall clock ns mixed with pid). */
uint64_t ipc_new_epoch(void);

/* --- one-shot client (l4lbctl, tests) --- */
/* Sends `req` to `url` and waits up to timeout_ms for the reply. Returns
 * the reply (envelope_free it) or NULL with *why set. */
Envelope *ipc_call(const char *url, const Envelope *req, int timeout_ms, const char **why);
/* The same with an already packed (or deliberately broken) request. */
Envelope *ipc_call_raw(const char *url, const void *data, size_t len, int timeout_ms,
		       const char **why);

#endif
