// SPDX-License-Identifier: Apache-2.0
/*
 * overlayd's HTTP views: /v1/nodes and its metrics, read from what overlayd
 * shows on its control socket (OVERLAY_STATE, the status facts).
 */
#include "overlayd/http_views.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"

static const struct metrics_info status_metrics[] = {
	{ "known", "nodes", "Nodes heard of, self included.", 0 },
	{ "reachable", "reachable_nodes", "Reachable nodes, self included.", 0 },
	{ "active", "active_view", "Peers in the active view (monitored links).", 0 },
	{ "passive", "passive_view", "Peers in the passive view.", 0 },
	{ "connections", "connections", "Open TCP connections to peers.", 0 },
	{ "local_health", "local_health", "Local health multiplier (0 = healthy).", 0 },
	{ "generation", "reachability_generation", "Generation of the published reachability.",
	  0 },
	{ "pings", "pings_total", "Pings sent to active peers.", 0 },
	{ "pongs", "pongs_total", "Pongs received.", 0 },
	{ "timeouts", "ping_timeouts_total", "Pings not answered within the link's timeout.", 0 },
	{ "refuted", "refuted_total", "Suspicions refuted before confirmation.", 0 },
	{ "severs", "severs_total", "Links cut after confirmed failure.", 0 },
	{ "joins", "joins_total", "JOIN requests sent to the seeds.", 0 },
	{ "loop_lags", "loop_lags_total", "Ticks late enough to suspend failure detection.", 0 },
	{ "msgs_rx", "messages_received_total", "Overlay messages received.", 0 },
	{ "msgs_tx", "messages_sent_total", "Overlay messages sent.", 0 },
	{ "bytes_rx", "received_bytes_total", "Overlay bytes received.", 0 },
	{ "bytes_tx", "sent_bytes_total", "Overlay bytes sent.", 0 },
	{ "send_drops", "send_drops_total", "Messages dropped on full send queues.", 0 },
	{ "tx_queued", "queued_bytes", "Bytes waiting in the output queues, all connections.", 0 },
	{ "digests_refused", "digests_refused_total",
	  "Anti-entropy digests from nodes in none of the views, dropped.", 0 },
	{ "bad_messages", "bad_messages_total", "Malformed peer messages dropped.", 0 },
	{ NULL, NULL, NULL, 0 },
};

static int addr_text(const ProtobufCBinaryData *ip, char *buf, size_t size)
{
	if ((ip->len != 4 && ip->len != 16) ||
	    !inet_ntop(ip->len == 4 ? AF_INET : AF_INET6, ip->data, buf, (socklen_t)size))
		return -1;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Per active link: median and max of the RTT window, the timeout in use,
 * pings and timeouts. Links come and go, so the series are rebuilt. */
static void collect_links(struct daemon *d)
{
	static const char *const names[] = { "link_rtt_seconds", "link_rtt_max_seconds",
					     "link_timeout_seconds", "link_pings_total",
					     "link_timeouts_total" };
	const char *why;
	Envelope *env = ipc_server_call(d->rep, L4LB__V1__ENVELOPE__TYPE__OVERLAY_STATE_REQUEST,
					&why);
	const L4lb__V1__OverlayState *st;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		metrics_clear(names[i]);
	if (!env || env->type != L4LB__V1__ENVELOPE__TYPE__OVERLAY_STATE)
		goto done;
	st = env->overlay_state;
	if (st->reachability) {
		size_t down = 0;

		for (size_t i = 0; i < st->reachability->n_nodes; i++)
			down += !st->reachability->nodes[i]->reachable;
		metrics_gauge_set("unreachable_nodes", "Nodes heard of and not reachable now.", NULL,
				  (double)down);
	}
	for (size_t i = 0; i < st->n_active; i++) {
		const L4lb__V1__OverlayLink *l = st->active[i];
		char peer[INET6_ADDRSTRLEN];
		const char *labels[] = { "peer", peer, NULL };
		uint32_t w[64];
		size_t n = l->n_rtt_us < 64 ? l->n_rtt_us : 64;

		if (addr_text(&l->ip, peer, sizeof(peer)) < 0)
			continue;
		if (n) {
			memcpy(w, l->rtt_us, n * sizeof(w[0]));
			qsort(w, n, sizeof(w[0]), cmp_u32);
			metrics_gauge_set("link_rtt_seconds", "Median RTT of the recent window.",
					  labels, w[n / 2] / 1e6);
			metrics_gauge_set("link_rtt_max_seconds", "Largest RTT of the recent window.",
					  labels, w[n - 1] / 1e6);
		}
		metrics_gauge_set("link_timeout_seconds", "Ping timeout in use on the link.", labels,
				  l->timeout_us / 1e6);
		metrics_counter_set("link_pings_total", "Pings sent on the link.", labels, l->pings);
		metrics_counter_set("link_timeouts_total", "Pings timed out on the link.", labels,
				    l->timeouts);
	}
done:
	envelope_free(env);
}

static void collect(void *arg)
{
	struct daemon *d = arg;

	if (d->info)
		d->info(metrics_info_kv, (void *)status_metrics, d->info_arg);
	collect_links(d);
}

static void put_ip(struct evbuffer *b, const ProtobufCBinaryData *ip)
{
	http_json_ip(b, ip->data, ip->len);
}

static void put_node(struct evbuffer *b, const L4lb__V1__NodeInfo *n)
{
	evbuffer_add_printf(b, "{\"ip\":");
	put_ip(b, &n->ip);
	evbuffer_add_printf(b, ",\"reachable\":%s,\"since_unix_ms\":%llu,\"via\":",
			    n->reachable ? "true" : "false", (unsigned long long)n->since_unix_ms);
	put_ip(b, &n->via);
	evbuffer_add_printf(b, ",\"hops\":%u,\"active\":%s}", n->hops, n->active ? "true" : "false");
}

static void put_link(struct evbuffer *b, const L4lb__V1__OverlayLink *l)
{
	evbuffer_add_printf(b, "{\"ip\":");
	put_ip(b, &l->ip);
	evbuffer_add_printf(b, ",\"rtt_us\":[");
	for (size_t i = 0; i < l->n_rtt_us; i++)
		evbuffer_add_printf(b, "%s%u", i ? "," : "", l->rtt_us[i]);
	evbuffer_add_printf(b, "],\"timeout_us\":%u,\"pings\":%llu,\"timeouts\":%llu}",
			    l->timeout_us, (unsigned long long)l->pings,
			    (unsigned long long)l->timeouts);
}

static int route_nodes(struct evbuffer *body, const char **ctype, void *arg)
{
	struct daemon *d = arg;
	const char *why = NULL;
	Envelope *env = ipc_server_call(d->rep, L4LB__V1__ENVELOPE__TYPE__OVERLAY_STATE_REQUEST,
					&why);
	const L4lb__V1__OverlayState *st;
	const L4lb__V1__Reachability *r;
	int code = 200;

	(void)ctype;
	if (!env || env->type != L4LB__V1__ENVELOPE__TYPE__OVERLAY_STATE) {
		http_json_error(body, env && env->error && env->error->message ? env->error->message
							: why ? why : "no overlay state");
		code = 503;
		goto done;
	}
	st = env->overlay_state;
	r = st->reachability;
	evbuffer_add_printf(body, "{\"self\":");
	put_ip(body, &st->self);
	evbuffer_add_printf(body, ",\n\"nodes\":[");
	for (size_t i = 0; r && i < r->n_nodes; i++) {
		evbuffer_add_printf(body, "%s", i ? ",\n" : "");
		put_node(body, r->nodes[i]);
	}
	evbuffer_add_printf(body, "],\n\"active\":[");
	for (size_t i = 0; i < st->n_active; i++) {
		evbuffer_add_printf(body, "%s", i ? ",\n" : "");
		put_link(body, st->active[i]);
	}
	evbuffer_add_printf(body, "],\n\"passive\":[");
	for (size_t i = 0; i < st->n_passive; i++) {
		evbuffer_add_printf(body, "%s", i ? "," : "");
		put_ip(body, &st->passive[i]);
	}
	evbuffer_add_printf(body, "]}\n");
done:
	envelope_free(env);
	return code;
}

int overlayd_http_init(struct daemon *d)
{
	metrics_add_collector(collect, d);
	if (!d->http)
		return 0;
	return http_route(d->http, "/v1/nodes", route_nodes, d);
}
