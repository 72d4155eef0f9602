// SPDX-License-Identifier: Apache-2.0
#include "contrib/l4lbctl/nodes.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"

static const char *ip_str(const ProtobufCBinaryData *b, char *buf, size_t size)
{
	if (b->len == 4)
		return inet_ntop(AF_INET, b->data, buf, (socklen_t)size);
	if (b->len == 16)
		return inet_ntop(AF_INET6, b->data, buf, (socklen_t)size);
	snprintf(buf, size, "?");
	return buf;
}

/* A status info value that is a plain count (the others, such as self,
 * are facts shown by the views already). */
/* A JSON number as it stands: digits, no leading zero ("007" is no JSON),
 * at most 20 of them. */
static int is_count(const char *v)
{
	if (!v || !*v || strlen(v) > 20 || (v[0] == '0' && v[1]))
		return 0;
	for (; *v; v++)
		if (*v < '0' || *v > '9')
			return 0;
	return 1;
}

/* One counter: "name":value in json, name=value words six to a line in
 * text; *n counts the pairs printed so far. */
static void print_count(const char *name, const char *value, int json, int *n)
{
	if (json) {
		printf("%s", *n ? "," : "");
		json_string(stdout, name);
		printf(":%s", value);
	} else {
		printf("%s%s=%s", *n == 0 ? "  " : *n % 6 ? " " : "\n  ", name, value);
	}
	(*n)++;
}

/* overlayd's counters: the numeric status facts (pings, timeouts, severs,
 * joins, messages, bytes, ...) and the bad-input counters. st may be NULL
 * (overlayd did not answer the status request): nothing is printed. */
static void print_counters(const L4lb__V1__StatusReply *st, int json)
{
	char v[24];
	int n = 0;

	for (size_t i = 0; st && i < st->n_info; i++)
		if (st->info[i]->key && is_count(st->info[i]->value))
			print_count(st->info[i]->key, st->info[i]->value, json, &n);
	for (size_t i = 0; st && i < st->n_counters; i++) {
		if (!st->counters[i]->name)
			continue;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)st->counters[i]->value);
		print_count(st->counters[i]->name, v, json, &n);
	}
	if (!json && n)
		printf("\n");
}

/* overlayd's status facts that are levels, not counts (tx_queued: bytes
 * waiting to be sent). "counters" has
 * always held them too (a public output: kept); "gauges" tells them apart. */
static const char *const gauges[] = { "epoch",      "active",       "passive",     "known",
				      "reachable",  "generation",   "local_health", "connections",
				      "tx_queued" };

static void print_gauges(const L4lb__V1__StatusReply *st)
{
	int n = 0;

	for (size_t i = 0; st && i < st->n_info; i++)
		for (size_t k = 0; k < sizeof(gauges) / sizeof(gauges[0]); k++)
			if (st->info[i]->key && strcmp(st->info[i]->key, gauges[k]) == 0 &&
			    is_count(st->info[i]->value))
				print_count(gauges[k], st->info[i]->value, 1, &n);
}

static void print_json(const L4lb__V1__OverlayState *st, const L4lb__V1__StatusReply *stat)
{
	const L4lb__V1__Reachability *r = st->reachability;
	char b[64];

	printf("{\"self\":\"%s\",\"nodes\":[", ip_str(&st->self, b, sizeof(b)));
	for (size_t i = 0; r && i < r->n_nodes; i++) {
		const L4lb__V1__NodeInfo *n = r->nodes[i];

		printf("%s{\"ip\":\"%s\",\"reachable\":%s,\"active\":%s,\"hops\":%u", i ? "," : "",
		       ip_str(&n->ip, b, sizeof(b)), n->reachable ? "true" : "false",
		       n->active ? "true" : "false", n->hops);
		if (n->has_via)
			printf(",\"via\":\"%s\"", ip_str(&n->via, b, sizeof(b)));
		printf(",\"epoch\":%llu}", (unsigned long long)n->record_epoch);
	}
	printf("],\"active\":[");
	for (size_t i = 0; i < st->n_active; i++) {
		const L4lb__V1__OverlayLink *l = st->active[i];

		printf("%s{\"ip\":\"%s\",\"timeout_us\":%u,\"pings\":%llu,\"timeouts\":%llu,"
		       "\"rtt_us\":[",
		       i ? "," : "", ip_str(&l->ip, b, sizeof(b)), l->timeout_us,
		       (unsigned long long)l->pings, (unsigned long long)l->timeouts);
		for (size_t k = 0; k < l->n_rtt_us; k++)
			printf("%s%u", k ? "," : "", l->rtt_us[k]);
		printf("]}");
	}
	printf("],\"passive\":[");
	for (size_t i = 0; i < st->n_passive; i++)
		printf("%s\"%s\"", i ? "," : "", ip_str(&st->passive[i], b, sizeof(b)));
	printf("],\"generation\":%llu,\"counters\":{", r ? (unsigned long long)r->generation : 0ULL);
	print_counters(stat, 1);
	printf("},\"gauges\":{");
	print_gauges(stat);
	printf("}}\n");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* One active link: RTT median and maximum over its window, and the
 * timeout derived from that window (all in ms). */
static void print_link(const L4lb__V1__OverlayLink *l)
{
	uint32_t w[256];
	size_t n = l->n_rtt_us < 256 ? l->n_rtt_us : 256;
	char b[64], p50[16] = "-", max[16] = "-";

	if (n) {
		memcpy(w, l->rtt_us, n * sizeof(*w));
		qsort(w, n, sizeof(*w), cmp_u32);
		snprintf(p50, sizeof(p50), "%.2f", w[(n - 1) / 2] / 1000.0);
		snprintf(max, sizeof(max), "%.2f", w[n - 1] / 1000.0);
	}
	printf("%-40s %-9s %-9s %-10.1f %-7llu %llu\n", ip_str(&l->ip, b, sizeof(b)), p50, max,
	       l->timeout_us / 1000.0, (unsigned long long)l->pings,
	       (unsigned long long)l->timeouts);
}

static void print_text(const L4lb__V1__OverlayState *st, const L4lb__V1__StatusReply *stat)
{
	const L4lb__V1__Reachability *r = st->reachability;
	char b[64], v[64];

	printf("self %s, %zu active, %zu passive\n", ip_str(&st->self, b, sizeof(b)),
	       st->n_active, st->n_passive);
	printf("%-40s %-11s %-6s %-4s %s\n", "NODE", "STATE", "ACTIVE", "HOPS", "VIA");
	for (size_t i = 0; r && i < r->n_nodes; i++) {
		const L4lb__V1__NodeInfo *n = r->nodes[i];

		printf("%-40s %-11s %-6s %-4u %s\n", ip_str(&n->ip, b, sizeof(b)),
		       n->reachable ? "reachable" : "UNREACHABLE", n->active ? "yes" : "-", n->hops,
		       n->has_via ? ip_str(&n->via, v, sizeof(v)) : "-");
	}
	printf("\n%-40s %-9s %-9s %-10s %-7s %s\n", "ACTIVE LINK", "RTT50 ms", "RTTMAX ms",
	       "TIMEOUT ms", "PINGS", "TIMEOUTS");
	for (size_t i = 0; i < st->n_active; i++)
		print_link(st->active[i]);
	printf("\npassive:");
	for (size_t i = 0; i < st->n_passive; i++)
		printf(" %s", ip_str(&st->passive[i], b, sizeof(b)));
	printf("%s\n", st->n_passive ? "" : " -");
	if (stat) {
		printf("\ncounters:\n");
		print_counters(stat, 0);
	}
}

int cmd_nodes(struct ctl *c, int argc, char **argv)
{
	Envelope *rep, *stat;
	char why[512];

	if (argc > 1) {
		fprintf(stderr, "l4lbctl nodes: unexpected argument %s\n", argv[1]);
		return CTL_USAGE;
	}
	if (!(rep = ctl_call(c, "overlayd", L4LB__V1__ENVELOPE__TYPE__OVERLAY_STATE_REQUEST, why,
			     sizeof(why)))) {
		fprintf(stderr, "l4lbctl nodes: %s\n", why);
		return CTL_DOWN;
	}
	if (rep->type != L4LB__V1__ENVELOPE__TYPE__OVERLAY_STATE || !rep->overlay_state) {
		fprintf(stderr, "l4lbctl nodes: unexpected reply from overlayd\n");
		envelope_free(rep);
		return CTL_DOWN;
	}
	/* the counters come with the status reply; an overlayd that does not
	 * give one still has its views shown (counters left empty) */
	stat = ctl_call(c, "overlayd", L4LB__V1__ENVELOPE__TYPE__STATUS_REQUEST, why, sizeof(why));
	if (c->json)
		print_json(rep->overlay_state, stat ? stat->status_reply : NULL);
	else
		print_text(rep->overlay_state, stat ? stat->status_reply : NULL);
	envelope_free(stat);
	envelope_free(rep);
	return CTL_OK;
}
