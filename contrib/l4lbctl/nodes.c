// SPDX-License-Identifier: Apache-2.0
#include "contrib/l4lbctl/nodes.h"

#include <arpa/inet.h>
#include <stdio.h>
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

static void print_json(const L4lb__V1__OverlayState *st)
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
	printf("],\"generation\":%llu}\n", r ? (unsigned long long)r->generation : 0ULL);
}

static void print_text(const L4lb__V1__OverlayState *st)
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
}

int cmd_nodes(struct ctl *c, int argc, char **argv)
{
	Envelope *rep;
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
	if (c->json)
		print_json(rep->overlay_state);
	else
		print_text(rep->overlay_state);
	envelope_free(rep);
	return CTL_OK;
}
