// SPDX-License-Identifier: Apache-2.0
/*
 * vipd's HTTP views: /v1/vips and its metrics. Both read what vipd already
 * shows on its control socket (the published VIP table, the status facts),
 * so they follow vipd's internals without knowing them.
 */
#include "vipd/http_views.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"

static const struct metrics_info status_metrics[] = {
	{ "vips", "vips", "VIPs in the published table.", 0 },
	{ "backends", "backends", "Backends of all VIPs in the published table.", 0 },
	{ "tasks", "tasks", "Tasks known from the master.", 0 },
	{ "held_tasks", "held_tasks",
	  "Tasks left out of the table until the master names their agent or framework.", 0 },
	{ "generation", "table_generation", "Generation of the published VIP table.", 0 },
	{ "synced", "master_synced",
	  "1 once vipd holds a complete state from the master (stays 1 while it is away).", 0 },
	{ "master_connected", "master_connected",
	  "1 while the master answers; 0 from a failed request or a dead stream on.", 0 },
	{ "last_sync_unix_ms", "master_last_sync_timestamp_seconds",
	  "When the master last sent a complete state (unix time).", 0.001 },
	{ "last_success_unix_ms", "master_last_success_timestamp_seconds",
	  "When the master last sent a complete state, event or heartbeat (unix time).", 0.001 },
	{ NULL, NULL, NULL, 0 },
};

static const struct {
	const char *counter, *help;
} counter_helps[] = {
	{ "master_requests", "Requests (polls or stream subscriptions) sent to the master." },
	{ "master_errors", "Failed master requests (the last table stays published)." },
	{ "master_stream_timeouts", "Event streams declared dead after missed heartbeats." },
	{ "master_stream_reconnects", "Event stream subscriptions after an earlier one ended." },
	{ "master_subscribe_refused",
	  "Masters that refused SUBSCRIBE (HTTP 400/501): vipd polls GET_STATE instead." },
	{ "master_events_applied", "Master events applied to the VIP table." },
	{ "master_snapshots", "Complete states read from the master." },
	{ "tables_published", "VIP tables published (one per change)." },
	{ "table_publish_failures",
	  "VIP tables that could not be packed (too large): the last one stays." },
	{ "table_patches", "Changes applied to the table incrementally." },
	{ "deltas_published", "VIP table deltas published (one per generation)." },
	{ "deltas_too_large", "Deltas too large for one message: a heartbeat sent instead." },
	{ "ipc_rx_messages", "IPC messages received." },
	{ "ipc_tx_errors", "IPC replies that could not be sent." },
	{ "ipc_rx_malformed", "IPC messages dropped as malformed." },
};

static void collect(void *arg)
{
	struct daemon *d = arg;

	if (d->info)
		d->info(metrics_info_kv, (void *)status_metrics, d->info_arg);
}

static void put_hostport(struct evbuffer *b, const ProtobufCBinaryData *ip, uint32_t port)
{
	char buf[INET6_ADDRSTRLEN];

	if ((ip->len != 4 && ip->len != 16) ||
	    !inet_ntop(ip->len == 4 ? AF_INET : AF_INET6, ip->data, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "?");
	/* "10.0.0.1:80" / "[fd00::1]:80", as dcos-net writes a VIP */
	evbuffer_add_printf(b, ip->len == 16 ? "\"[%s]:%u\"" : "\"%s:%u\"", buf, port);
}

static const char *proto_name(int p)
{
	return p == L4LB__V1__PROTOCOL__UDP ? "udp" : "tcp";
}

static void put_backend(struct evbuffer *b, const L4lb__V1__Backend *be)
{
	evbuffer_add_printf(b, "{\"ip\":");
	http_json_ip(b, be->ip.data, be->ip.len);
	evbuffer_add_printf(b, ",\"port\":%u,\"weight\":%u,\"agent_ip\":", be->port,
			    be->has_weight ? be->weight : 1);
	http_json_ip(b, be->agent_ip.data, be->agent_ip.len);
	evbuffer_add_printf(b, ",\"task_ip\":");
	http_json_ip(b, be->task_ip.data, be->task_ip.len);
	evbuffer_add_printf(b, ",\"task_port\":%u}", be->task_port);
}

static void put_vip(struct evbuffer *b, const L4lb__V1__Vip *v)
{
	evbuffer_add_printf(b, "{\"vip\":");
	put_hostport(b, &v->ip, v->port);
	evbuffer_add_printf(b, ",\"protocol\":\"%s\",\"name\":", proto_name(v->protocol));
	if (v->name)
		http_json_string(b, v->name);
	else
		evbuffer_add_printf(b, "null");
	evbuffer_add_printf(b, ",\"labels\":[");
	for (size_t i = 0; i < v->n_labels; i++) {
		evbuffer_add_printf(b, "%s", i ? "," : "");
		http_json_string(b, v->labels[i]);
	}
	evbuffer_add_printf(b, "],\"backend\":[");
	for (size_t i = 0; i < v->n_backends; i++) {
		evbuffer_add_printf(b, "%s", i ? "," : "");
		put_backend(b, v->backends[i]);
	}
	evbuffer_add_printf(b, "]}");
}

/*
 * The last rendering, kept for its table generation: at 100,000 backends
 * decoding and rendering the table takes a few hundred ms of the loop, which
 * a dashboard polling /v1/vips should cost once per table, not per request.
 */
static struct {
	char gen[32]; /* the status fact "generation" it was rendered for */
	char *json;
	size_t len;
} cache;

static void find_generation(const char *key, const char *value, void *out)
{
	if (strcmp(key, "generation") == 0)
		snprintf(out, sizeof(cache.gen), "%s", value);
}

/* The published table as dcos-net's /v1/vips shape plus our fields. */
static int route_vips(struct evbuffer *body, const char **ctype, void *arg)
{
	struct daemon *d = arg;
	const char *why = NULL;
	char gen[sizeof(cache.gen)] = "";
	Envelope *env = NULL;
	int code = 200;

	(void)ctype;
	if (d->info)
		d->info(find_generation, gen, d->info_arg);
	if (gen[0] && cache.json && strcmp(gen, cache.gen) == 0)
		return evbuffer_add(body, cache.json, cache.len) == 0 ? 200 : 500;
	env = ipc_server_call(d->rep, L4LB__V1__ENVELOPE__TYPE__SNAPSHOT_REQUEST, &why);
	if (!env || env->type != L4LB__V1__ENVELOPE__TYPE__VIP_TABLE) {
		/* before the first table, or out of memory */
		http_json_error(body, env && env->error && env->error->message ? env->error->message
							: why ? why : "no VIP table");
		code = 503;
		goto done;
	}
	evbuffer_add_printf(body, "[");
	for (size_t i = 0; i < env->vip_table->n_vips; i++) {
		evbuffer_add_printf(body, "%s", i ? ",\n" : "");
		put_vip(body, env->vip_table->vips[i]);
	}
	evbuffer_add_printf(body, "]\n");
	free(cache.json);
	cache.len = evbuffer_get_length(body);
	cache.json = malloc(cache.len);
	if (cache.json && evbuffer_copyout(body, cache.json, cache.len) == (ev_ssize_t)cache.len)
		snprintf(cache.gen, sizeof(cache.gen), "%s", gen);
	else
		cache.gen[0] = '\0';
done:
	envelope_free(env);
	return code;
}

int vipd_http_init(struct daemon *d)
{
	static const double buckets[] = METRICS_DEFAULT_BUCKETS;

	for (size_t i = 0; i < sizeof(counter_helps) / sizeof(counter_helps[0]); i++)
		metrics_counter_help(counter_helps[i].counter, counter_helps[i].help);
	metrics_histogram_new("table_publish_delay_seconds",
			      "From a change of the master's state to the new table published.",
			      buckets, sizeof(buckets) / sizeof(buckets[0]));
	metrics_histogram_new("master_sync_duration_seconds",
			      "From a request to the master to its complete state parsed.",
			      buckets, sizeof(buckets) / sizeof(buckets[0]));
	metrics_add_collector(collect, d);
	if (!d->http)
		return 0;
	return http_route(d->http, "/v1/vips", route_vips, d);
}
