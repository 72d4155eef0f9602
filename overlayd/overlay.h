/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The overlay core: HyParView membership (membership.c), the adaptive ping
 * of every active link (ping.c), adjacency dissemination (gossip.c) and
 * reachability (adjacency.c). Pure: time and the transport are injected,
 * so a whole cluster runs in one unit test with a fake clock.
 *
 * The transport delivers whole PeerMessages with the sender's identity
 * (from its Hello), sends messages (connecting on demand), closes links,
 * and reports a peer whose connections all went down or failed to open.
 */
#ifndef OVERLAYD_OVERLAY_H
#define OVERLAYD_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#include "overlayd/adjacency.h"
#include "overlayd/node.h"
#include "overlayd/rtt.h"
#include "proto/overlay.pb-c.h"

typedef L4lb__Overlay__V1__PeerMessage PeerMessage;

#define OVERLAY_MAX_ACTIVE 32
#define OVERLAY_MAX_PASSIVE 256
#define OVERLAY_MAX_SEEDS 64
#define OVERLAY_PING_RING 16
#define OVERLAY_PROBES 16 /* indirect probes served at once */
/* After our own loop ran late, the cascading check waits this long
 * before it shortens a timeout again (ping.c). */
#define OVERLAY_LAG_DOUBT_US 2000000
/* after a first link, the time to read the records sent in the burst */
#define OVERLAY_LEARN_US 1000000
/* the local health multiplier goes down by one after this long */
#define OVERLAY_LHM_DECAY_US 2000000
/* overlay_next_tick: the longest sleep between ticks. Our own stall is
 * seen only as the loop running late for the tick due (own_lag), and a
 * stall that began early in a sleep shows late by the sleep less: this
 * long, any stall over it plus lag_ms is still found (100 ms by default;
 * the fixed 20 ms tick found those over 70 ms); a longer sleep let
 * host-wide starvation pass for the peers' silence */
#define OVERLAY_MAX_SLEEP_US 50000

struct overlay_params {
	unsigned active_max, passive_max; /* HyParView view sizes */
	unsigned arwl, prwl;              /* active / passive random-walk lengths */
	unsigned ka, kp;                  /* shuffle: active and passive ids sent */
	unsigned shuffle_walk;            /* shuffle: random-walk length */
	unsigned shuffle_ms;
	unsigned tick_ms;                 /* how often overlay_tick is called */
	unsigned ping_ms;                 /* ping interval per active link */
	/* a ping due within this long goes out with the work at hand (a
	 * tick, input: overlay_poll) rather than in a wakeup of its own
	 * (0: only once due) */
	unsigned ping_early_ms;
	struct rtt_params rtt;
	unsigned confirm_min_ms;          /* suspicion confirmed after max(this, timeout/2) */
	unsigned probe_k;                 /* neighbours asked to probe a suspected link */
	unsigned lag_ms;                  /* a tick this late means we lagged ourselves */
	unsigned join_min_ms, join_max_ms; /* join retry backoff */
	unsigned fill_ms;                 /* try a passive node when the view is not full */
	unsigned heal_ms;                 /* contact an unreachable known node */
	unsigned retry_ms;                /* do not ask the same passive node sooner */
	unsigned digest_ms;               /* periodic anti-entropy */
	unsigned expire_ms;               /* forget records unreachable this long */
	unsigned grace_ms;                /* an unaccused node without path stays (adj_reach) */
	unsigned linger_ms;               /* a live peer dropped from the view stays advertised */
	unsigned gossip_ttl;
	uint32_t seed;                    /* PRNG seed */
};

void overlay_params_default(struct overlay_params *p);

struct overlay_ops {
	/* Queue m for `to`, connecting if needed. 0 or -errno (-ENOBUFS when
	 * the link's queue is full: the message is dropped). */
	int (*send)(void *ctx, const struct node_id *to, const PeerMessage *m);
	/* Close every connection to peer (no overlay_link_down follows). */
	void (*close)(void *ctx, const struct node_id *peer);
	/* The reachable set or a path changed (optional). */
	void (*changed)(void *ctx);
};

/* Other nodes' records dropped a peer of ours since we last heard it
 * (cascading check, ping.c). */
struct accusation {
	uint64_t at_us;       /* the first such record, 0: none since the peer spoke */
	struct node_id first; /* the node whose record that was */
	int n;                /* distinct nodes, counted up to 2 */
};

struct link {
	struct node_id node;
	struct rtt_window rtt;
	uint64_t since_us;
	uint64_t next_ping_us;
	uint64_t seq;                      /* last ping sent */
	uint64_t sent_us[OVERLAY_PING_RING]; /* send time by seq % ring */
	uint64_t unacked_seq;              /* oldest unanswered ping, 0: none */
	uint64_t unacked_us;               /* its send time (shifted by own lag) */
	uint64_t suspect_us;               /* 0, or when the timeout expired */
	uint64_t probe_id;                 /* of the indirect probes for this suspicion */
	uint64_t reprieve_us;              /* answered through others: not suspected before */
	uint64_t heard_us;                 /* last message of any kind from the peer */
	uint64_t answered_us;              /* send time of the latest ping answered */
	struct accusation acc;             /* other nodes dropped the peer */
	uint64_t pings, pongs, timeouts;
};

/* An indirect probe we run for a neighbour: our Ping (seq 0, sent_us =
 * token) to target, answered with PROBE_ACK{target, id} to requester. */
struct probe_req {
	struct node_id requester, target;
	uint64_t id, token, at_us;
};

/* A live peer we dropped from the active view (or that dropped us) for
 * view management: still advertised in our record until a node reached
 * not through it lists it, or for linger_ms, so that reachability never
 * flaps for a node that is alive but whose last links went at once.
 * Still pinged meanwhile (bare pings, as for indirect probes: they do not
 * ask it back into the view), so one that crashes right after is no
 * longer advertised once a ping stays unanswered as long as it would have
 * taken to sever its link. */
struct lingering {
	struct node_id node;
	uint64_t since_us, until_us;
	uint64_t next_ping_us;
	uint64_t unacked_us;               /* oldest unanswered ping's time, 0: none */
	uint64_t first_token;              /* tokens of our pings since it lingers */
	uint32_t timeout_us;               /* its link's timeout when it was dropped */
	struct accusation acc;             /* other nodes dropped it since it lingers */
};

struct passive {
	struct node_id node;
	uint64_t asked_us;                 /* last NEIGHBOR/JOIN we sent it, 0 never */
	int asked_high;                    /* that NEIGHBOR was at high priority */
};

struct overlay_stats {
	uint64_t pings, pongs, timeouts, refuted, severs, joins, lags;
	uint64_t cascade_severs; /* severs on the short clock of a cascading check */
	uint64_t probes_sent, probes_served, probe_acks, probe_drops, unknown;
	uint64_t probes_refused; /* PROBEs for an address that is no known node */
	uint64_t msgs_rx, msgs_tx, records_rx, records_new, send_drops, bad;
	uint64_t digests_refused; /* DIGESTs from a node in none of our views */
	uint64_t digest_cmps;     /* address comparisons spent on digests */
};

struct overlay {
	struct overlay_params p;
	struct overlay_ops ops;
	void *ctx;
	struct node_id self;
	uint64_t epoch, clock;
	struct link active[OVERLAY_MAX_ACTIVE];
	size_t n_active;
	struct lingering linger[OVERLAY_MAX_ACTIVE];
	size_t n_linger;
	struct passive passive[OVERLAY_MAX_PASSIVE];
	size_t n_passive;
	struct node_id seeds[OVERLAY_MAX_SEEDS];
	size_t n_seeds, next_seed;
	struct adj_table *adj;
	uint64_t generation;               /* bumped on every reachability change */
	uint64_t fill_gen;                 /* generation membership.c last looked at */
	uint32_t rng;
	unsigned lhm;                      /* local health multiplier − 1 (Lifeguard) */
	/* when the next tick is due (overlay_tick: tick_ms later, unless
	 * overlay_next_tick says otherwise); a loop running past it by
	 * lag_ms lagged itself */
	uint64_t tick_due_us, lhm_decay_us;
	uint64_t lagged_us;                /* when our own loop last ran late, 0 never */
	size_t n_grace;                    /* nodes kept reachable in grace */
	uint64_t join_at_us, join_backoff_ms;
	uint64_t fill_at_us, heal_at_us, shuffle_at_us, digest_at_us, expire_at_us;
	uint64_t shuffle_id;
	struct probe_req probes[OVERLAY_PROBES];
	uint64_t probe_token;
	struct node_id shuffle_sent[16];
	size_t n_shuffle_sent;
	int dirty;                         /* records changed: recompute reachability */
	int linked;                        /* had a link at the last recompute */
	struct overlay_stats st;
};

struct overlay *overlay_new(const struct overlay_params *p, const struct node_id *self,
			    uint64_t epoch, const struct node_id *seeds, size_t n_seeds,
			    const struct overlay_ops *ops, void *ctx, uint64_t now_us);
void overlay_free(struct overlay *o);

/* A message from `from`; returns 0, or -EPROTO when the peer sent nonsense
 * (the transport then disconnects it; nothing else changed). */
int overlay_receive(struct overlay *o, const struct node_id *from, const PeerMessage *m,
		    uint64_t now_us);
/* Every connection to peer is gone or could not be opened. */
void overlay_link_down(struct overlay *o, const struct node_id *peer, uint64_t now_us);
/* Timers: call every p.tick_ms, or at the time overlay_next_tick returns. */
void overlay_tick(struct overlay *o, uint64_t now_us);
/* When overlay_tick must run next (ask after a tick and after input,
 * which may bring work sooner): the earliest timer due; every tick_ms
 * while the state is judged as time passes (a link in doubt, a node in
 * its orphan grace, a lingering peer, no link); at most
 * OVERLAY_MAX_SLEEP_US ahead. An idle node wakes for its pings and
 * periodic timers, not 1000 / tick_ms times a second. The loop running
 * later than this by lag_ms counts as its own lag. */
uint64_t overlay_next_tick(struct overlay *o, uint64_t now_us);
/* After input, the loop being awake anyway: when a ping is due within
 * p.ping_early_ms, runs the links' part of the tick now (the ping goes
 * out in this wakeup, a little early, instead of in one of its own);
 * then overlay_next_tick. A tick already due (the returned time is not
 * after now_us) is left as it is: the caller keeps its pending timer. */
uint64_t overlay_poll(struct overlay *o, uint64_t now_us);

struct link *overlay_link(struct overlay *o, const struct node_id *n);
int overlay_is_passive(const struct overlay *o, const struct node_id *n);
/* Current ping timeout of a link (µs), local health included. */
uint32_t overlay_timeout(const struct overlay *o, const struct link *l);

/* --- internal, shared by the core's files --- */
uint32_t overlay_rand(struct overlay *o);
int overlay_send(struct overlay *o, const struct node_id *to, PeerMessage *m);
void overlay_recompute(struct overlay *o, uint64_t now_us);

/* membership.c */
/* Why a link leaves the active view. */
enum member_drop {
	DROP_EVICT,   /* view management: DISCONNECT sent, the peer is alive */
	DROP_PEER,    /* the peer sent DISCONNECT: it is alive */
	DROP_FAILED,  /* ping timeout confirmed: DISCONNECT sent, an accusation */
	DROP_DOWN,    /* every connection closed or failed: an accusation */
};

void member_active_add(struct overlay *o, const struct node_id *n, uint64_t now_us);
void member_active_remove(struct overlay *o, size_t i, enum member_drop why, uint64_t now_us);
/* Pings lingering peers; ends lingers whose peer relinked elsewhere,
 * stopped answering or whose time is up. */
void member_linger_tick(struct overlay *o, uint64_t now_us);
/* Node `by` dropped n: if it lingers here, two such nodes put its
 * silence on the cascading check's short clock. */
void member_linger_accused(struct overlay *o, const struct node_id *n, const struct node_id *by,
			   uint64_t now_us);
/* A Pong to a bare ping with token from `from`: a lingering peer answered. */
void member_linger_answered(struct overlay *o, const struct node_id *from, uint64_t token);
void member_passive_add(struct overlay *o, const struct node_id *n);
void member_passive_remove(struct overlay *o, const struct node_id *n);
int member_receive(struct overlay *o, const struct node_id *from, const PeerMessage *m,
		   uint64_t now_us);
void member_tick(struct overlay *o, uint64_t now_us);

/* ping.c */
void ping_link_init(struct link *l, const struct node_id *n, uint64_t now_us);
void ping_tick(struct overlay *o, uint64_t now_us);
/* When ping_tick next has work: a ping due, or the soonest a link can be
 * found late; 0 (now) while a link is suspected or accused. */
uint64_t ping_next_due(const struct overlay *o);
/* Node `by` dropped l's peer from its view (cascading check). */
void ping_accused(struct overlay *o, struct link *l, const struct node_id *by, uint64_t now_us);
/* Counts `by` among the nodes that dropped a peer; 1 when it is the first. */
int accusation_add(struct accusation *a, const struct node_id *by, uint64_t now_us);
/* The ping timeout of a peer two other nodes dropped, from its usual one. */
uint64_t accused_timeout(const struct overlay *o, uint64_t timeout_us);
void ping_on_ping(struct overlay *o, const struct node_id *from, const PeerMessage *m,
		  uint64_t now_us);
void ping_on_pong(struct overlay *o, const struct node_id *from, const PeerMessage *m,
		  uint64_t now_us);
int ping_on_probe(struct overlay *o, const struct node_id *from, const PeerMessage *m,
		  uint64_t now_us);
int ping_on_probe_ack(struct overlay *o, const PeerMessage *m, uint64_t now_us);
/* A Ping with seq 0 (answered by a Pong that changes no view), its sent_us
 * carrying token; the answer comes back to probe/linger bookkeeping. */
void ping_send_bare(struct overlay *o, const struct node_id *to, uint64_t token);
/* Any message from an active peer: when it was last heard of. */
void ping_heard(struct link *l, uint64_t now_us);
/* The event loop itself was late by lag_us: do not blame peers for it. */
void ping_own_lag(struct overlay *o, uint64_t lag_us);
/* Our pings to l's peer go unanswered longer than its RTTs explain, or
 * it has answered none yet. */
int ping_doubtful(const struct overlay *o, const struct link *l, uint64_t now_us);
/* Lifts the taint of records whose link has answered a ping sent after
 * they came, and passes them on; sets `tainted` for adj_reach (on our own
 * record: none of our links answers). */
void ping_untaint(struct overlay *o, uint64_t now_us);

/* gossip.c */
void gossip_self_changed(struct overlay *o, uint64_t now_us);
void gossip_send_digest(struct overlay *o, const struct node_id *to);
int gossip_on_adjacency(struct overlay *o, const struct node_id *from, const PeerMessage *m,
			uint64_t now_us);
int gossip_on_digest(struct overlay *o, const struct node_id *from, const PeerMessage *m);
/* Floods a record held back while it was tainted to every link but one. */
void gossip_relay(struct overlay *o, struct adj_record *r, const struct node_id *except);

#endif
