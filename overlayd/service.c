// SPDX-License-Identifier: Apache-2.0
#include "overlayd/service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/log.h"
#include "overlayd/net.h"
#include "overlayd/publish_gate.h"

struct service {
	struct daemon *d;
	struct ipc_pub *pub;
	struct net *net;
	struct overlay *o;
	struct event *tick;
	uint64_t pub_epoch, published_gen;
	struct publish_gate gate;
	const char *state_dir;
	uint64_t saved_epoch; /* in state_dir/epoch */
};

static int s_send(void *ctx, const struct node_id *to, const PeerMessage *m)
{
	struct service *s = ctx;

	return net_ops_template.send(s->net, to, m);
}

static void s_close(void *ctx, const struct node_id *peer)
{
	struct service *s = ctx;

	net_ops_template.close(s->net, peer);
}

static void publish(struct service *s)
{
	struct ipc_buf b = { 0 };
	int was_open = s->gate.open;

	if (!publish_gate_check(&s->gate, s->o->n_active, clock_mono_us()))
		return;
	if (!was_open) {
		log_info("overlayd: publishing reachability (%zu active links)", s->o->n_active);
		daemon_notify("READY=1");
	}
	if (service_pack_reachability(s->o, s->pub_epoch, &b) < 0) {
		log_error("overlayd: cannot pack the reachability snapshot");
		return;
	}
	s->published_gen = s->o->generation;
	ipc_pub_set(s->pub, &b);
}

static void s_changed(void *ctx)
{
	struct service *s = ctx;

	/* during overlay_new the service is not wired yet */
	if (s->o) {
		publish_gate_changed(&s->gate, clock_mono_us());
		publish(s);
	}
}

static const struct overlay_ops service_ops = { s_send, s_close, s_changed };

/* Fills NodeInfo array for every known node; the caller frees infos/ptrs. */
static int fill_nodes(struct overlay *o, L4lb__V1__NodeInfo **infos_out,
		      L4lb__V1__NodeInfo ***ptrs_out, ProtobufCBinaryData **reach_out,
		      size_t *n_reach)
{
	struct adj_table *t = o->adj;
	uint64_t now_mono = clock_mono_us(), now_real = clock_real_ms();
	L4lb__V1__NodeInfo *infos = calloc(t->n + 1, sizeof(*infos));
	L4lb__V1__NodeInfo **ptrs = calloc(t->n + 1, sizeof(*ptrs));
	ProtobufCBinaryData *reach = calloc(t->n + 1, sizeof(*reach));

	if (!infos || !ptrs || !reach) {
		free(infos);
		free(ptrs);
		free(reach);
		return -ENOMEM;
	}
	*n_reach = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct adj_record *r = t->recs[i];
		L4lb__V1__NodeInfo *ni = &infos[i];

		l4lb__v1__node_info__init(ni);
		ni->has_ip = ni->has_reachable = ni->has_since_unix_ms = ni->has_active = 1;
		ni->ip.data = r->node.ip;
		ni->ip.len = r->node.len;
		ni->reachable = r->reachable;
		ni->since_unix_ms = now_real - (now_mono - r->since_us) / 1000;
		ni->active = overlay_link(o, &r->node) != NULL;
		if (r->via.len) {
			ni->has_via = 1;
			ni->via.data = r->via.ip;
			ni->via.len = r->via.len;
		}
		if (r->reachable) {
			ni->has_hops = 1;
			ni->hops = r->hops;
			reach[(*n_reach)++] = ni->ip;
		}
		if (r->have) {
			ni->has_record_epoch = ni->has_record_clock = 1;
			ni->record_epoch = r->epoch;
			ni->record_clock = r->clock;
		}
		ptrs[i] = ni;
	}
	*infos_out = infos;
	*ptrs_out = ptrs;
	*reach_out = reach;
	return 0;
}

static int pack_state(struct overlay *o, uint64_t pub_epoch, int full, struct ipc_buf *out)
{
	Envelope env = L4LB__V1__ENVELOPE__INIT;
	L4lb__V1__Reachability r = L4LB__V1__REACHABILITY__INIT;
	L4lb__V1__OverlayState st = L4LB__V1__OVERLAY_STATE__INIT;
	L4lb__V1__OverlayLink links[OVERLAY_MAX_ACTIVE], *lp[OVERLAY_MAX_ACTIVE];
	uint32_t rtts[OVERLAY_MAX_ACTIVE][RTT_WINDOW];
	ProtobufCBinaryData passive[OVERLAY_MAX_PASSIVE];
	L4lb__V1__NodeInfo *infos = NULL, **ptrs = NULL;
	ProtobufCBinaryData *reach = NULL;
	size_t n_reach = 0;
	int rc;

	if ((rc = fill_nodes(o, &infos, &ptrs, &reach, &n_reach)) < 0)
		return rc;
	r.has_generation = r.has_publisher_epoch = r.has_self = r.has_updated_unix_ms = 1;
	r.generation = o->generation;
	r.publisher_epoch = pub_epoch;
	r.self.data = o->self.ip;
	r.self.len = o->self.len;
	r.updated_unix_ms = clock_real_ms();
	r.n_reachable = n_reach;
	r.reachable = reach;
	r.n_nodes = o->adj->n;
	r.nodes = ptrs;
	env.has_type = 1;
	if (!full) {
		env.type = L4LB__V1__ENVELOPE__TYPE__REACHABILITY;
		env.reachability = &r;
	} else {
		env.type = L4LB__V1__ENVELOPE__TYPE__OVERLAY_STATE;
		env.overlay_state = &st;
		st.has_self = 1;
		st.self = r.self;
		st.reachability = &r;
		for (size_t i = 0; i < o->n_active; i++) {
			struct link *l = &o->active[i];
			L4lb__V1__OverlayLink *ol = &links[i];

			l4lb__v1__overlay_link__init(ol);
			ol->has_ip = ol->has_timeout_us = ol->has_pings = ol->has_timeouts = 1;
			ol->ip.data = l->node.ip;
			ol->ip.len = l->node.len;
			ol->n_rtt_us = rtt_samples(&l->rtt, rtts[i]);
			ol->rtt_us = rtts[i];
			ol->timeout_us = overlay_timeout(o, l);
			ol->pings = l->pings;
			ol->timeouts = l->timeouts;
			lp[i] = ol;
		}
		st.n_active = o->n_active;
		st.active = lp;
		for (size_t i = 0; i < o->n_passive; i++) {
			passive[i].data = o->passive[i].node.ip;
			passive[i].len = o->passive[i].node.len;
		}
		st.n_passive = o->n_passive;
		st.passive = passive;
	}
	rc = envelope_pack(&env, out);
	free(infos);
	free(ptrs);
	free(reach);
	return rc;
}

int service_pack_reachability(struct overlay *o, uint64_t publisher_epoch, struct ipc_buf *out)
{
	return pack_state(o, publisher_epoch, 0, out);
}

static int on_state_request(const Envelope *req, struct ipc_buf *reply, void *arg)
{
	struct service *s = arg;

	(void)req;
	return pack_state(s->o, s->pub_epoch, 1, reply);
}

/* The tick runs when the core next has work, not every tick_ms. One due
 * already keeps its pending timer: event_add would take it off this
 * turn's expired timers, to run a turn later at the soonest. */
static void schedule(struct service *s, uint64_t due, uint64_t now)
{
	uint64_t in = due > now ? due - now : 0;
	struct timeval tv = { (time_t)(in / 1000000), (suseconds_t)(in % 1000000) };

	if (!in && evtimer_pending(s->tick, NULL))
		return;
	if (event_add(s->tick, &tv) < 0)
		log_limited(LOG_LVL_ERROR, "overlay_tick_timer",
			    "overlayd: the tick's timer could not be armed (ticks on input only)");
}

/* After input: pings due soon go out in this wakeup (overlay_poll). */
static void on_input(void *arg)
{
	struct service *s = arg;
	uint64_t now = clock_mono_us();

	if (s->tick)
		schedule(s, overlay_poll(s->o, now), now);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct service *s = arg;
	uint64_t now = clock_mono_us();

	(void)fd;
	(void)what;
	overlay_tick(s->o, now);
	net_tick(s->net, now);
	/* the core took over a higher epoch of this node's earlier life (its
	 * state dir was lost): keep it, once, whether or not the write works */
	if (s->state_dir && s->o->epoch > s->saved_epoch) {
		log_info("overlayd: epoch %llu of an earlier life taken over",
			 (unsigned long long)s->o->epoch);
		overlayd_epoch_save(s->state_dir, s->o->epoch);
		s->saved_epoch = s->o->epoch;
	}
	if (!s->gate.open)
		publish(s);
	schedule(s, overlay_next_tick(s->o, now), now);
}

static void info(status_kv_fn kv, void *kvarg, void *arg)
{
	struct service *s = arg;
	struct overlay *o = s->o;
	const struct overlay_stats *st = &o->st;
	char b[64];
	size_t reach = 0, conns;
	uint64_t rx, tx;

	for (size_t i = 0; i < o->adj->n; i++)
		reach += o->adj->recs[i]->reachable;
	net_stats(s->net, &rx, &tx, &conns);
	kv("self", node_str(&o->self, b), kvarg);
#define KV(name, fmt, val) \
	do { \
		snprintf(b, sizeof(b), fmt, val); \
		kv(name, b, kvarg); \
	} while (0)
	KV("epoch", "%llu", (unsigned long long)o->epoch);
	KV("active", "%zu", o->n_active);
	KV("passive", "%zu", o->n_passive);
	KV("known", "%zu", o->adj->n);
	KV("reachable", "%zu", reach);
	KV("generation", "%llu", (unsigned long long)o->generation);
	KV("pings", "%llu", (unsigned long long)st->pings);
	KV("pongs", "%llu", (unsigned long long)st->pongs);
	KV("timeouts", "%llu", (unsigned long long)st->timeouts);
	KV("refuted", "%llu", (unsigned long long)st->refuted);
	KV("severs", "%llu", (unsigned long long)st->severs);
	KV("cascade_severs", "%llu", (unsigned long long)st->cascade_severs);
	KV("probes_sent", "%llu", (unsigned long long)st->probes_sent);
	KV("probe_acks", "%llu", (unsigned long long)st->probe_acks);
	KV("probes_served", "%llu", (unsigned long long)st->probes_served);
	KV("probe_drops", "%llu", (unsigned long long)st->probe_drops);
	KV("probes_refused", "%llu", (unsigned long long)st->probes_refused);
	KV("joins", "%llu", (unsigned long long)st->joins);
	KV("loop_lags", "%llu", (unsigned long long)st->lags);
	KV("local_health", "%u", o->lhm);
	KV("msgs_rx", "%llu", (unsigned long long)st->msgs_rx);
	KV("msgs_tx", "%llu", (unsigned long long)st->msgs_tx);
	KV("bytes_rx", "%llu", (unsigned long long)rx);
	KV("bytes_tx", "%llu", (unsigned long long)tx);
	KV("connections", "%zu", conns);
	KV("tx_queued", "%zu", net_queued(s->net));
	KV("send_drops", "%llu", (unsigned long long)st->send_drops);
	KV("digests_refused", "%llu", (unsigned long long)st->digests_refused);
	KV("bad_messages", "%llu", (unsigned long long)st->bad);
	KV("unknown_messages", "%llu", (unsigned long long)st->unknown);
#undef KV
}

struct service *service_new(struct daemon *d, struct ipc_pub *pub, const struct overlayd_cfg *c)
{
	struct service *s = calloc(1, sizeof(*s));
	struct overlay_params p = c->p;
	uint64_t epoch, now;
	struct overlay *o;

	if (!s)
		return NULL;
	s->d = d;
	s->pub = pub;
	s->pub_epoch = ipc_new_epoch();
	publish_gate_init(&s->gate, clock_mono_us());
	if (!(epoch = overlayd_epoch_bump(c->state_dir)))
		goto fail;
	s->state_dir = c->state_dir;
	s->saved_epoch = epoch;
	if (!(s->net = net_new(d->base, &c->self, epoch, &c->listen, c->key,
				   c->trust_ids ? NET_TRUST_IDS : 0)))
		goto fail;
	/* the loop sleeps until the core has work: pings due within a
	 * quarter tick go with other work (the fixed tick sent them up to a
	 * tick late); more, and the links' pings drift earlier round after
	 * round (each end pings half a period after the other) */
	p.ping_early_ms = p.tick_ms / 4;
	o = overlay_new(&p, &c->self, epoch, c->seeds, c->n_seeds, &service_ops, s,
			clock_mono_us());
	if (!o)
		goto fail;
	s->o = o;
	net_attach(s->net, o);
	net_on_input(s->net, on_input, s);
	if (!(s->tick = evtimer_new(d->base, on_tick, s)))
		goto fail;
	now = clock_mono_us();
	schedule(s, overlay_next_tick(o, now), now);
	ipc_server_handle(d->rep, L4LB__V1__ENVELOPE__TYPE__OVERLAY_STATE_REQUEST,
			  on_state_request, s);
	d->info = info;
	d->info_arg = s;
	log_info("overlayd: node %s epoch %llu, %zu seeds", node_str(&c->self, (char[NODE_STR_MAX]){ 0 }),
		 (unsigned long long)epoch, c->n_seeds);
	overlay_recompute(o, clock_mono_us());
	publish(s);
	return s;
fail:
	service_free(s);
	return NULL;
}

void service_free(struct service *s)
{
	if (!s)
		return;
	if (s->tick)
		event_free(s->tick);
	net_free(s->net);
	overlay_free(s->o);
	free(s);
}
