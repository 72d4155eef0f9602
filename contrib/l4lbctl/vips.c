// SPDX-License-Identifier: Apache-2.0
/* l4lbctl vips: the VIP table vipd publishes, with every backend and,
 * when overlayd answers, whether ipvsd uses it or withholds it and why. */
#include <stdio.h>
#include <string.h>

#include "contrib/l4lbctl/l4lbctl.h"

static const char *proto_name(int p)
{
	return p == L4LB__V1__PROTOCOL__TCP ? "tcp" : p == L4LB__V1__PROTOCOL__UDP ? "udp" : "?";
}

/* overlayd's reachable set; NULL when overlayd does not answer (or has
 * not published yet): then nothing is known, and ipvsd withholds nothing. */
static const L4lb__V1__Reachability *reach_of(const Envelope *r)
{
	return r && r->type == L4LB__V1__ENVELOPE__TYPE__REACHABILITY ? r->reachability : NULL;
}

static int agent_reachable(const L4lb__V1__Reachability *re, const L4lb__V1__Backend *b)
{
	for (size_t i = 0; i < re->n_reachable; i++)
		if (re->reachable[i].len == b->agent_ip.len &&
		    !memcmp(re->reachable[i].data, b->agent_ip.data, b->agent_ip.len))
			return 1;
	return 0;
}

/* ipvsd's rule: a backend on an unreachable agent is withheld, unless no
 * backend of its VIP is reachable (then all are kept: fail open). */
static int vip_has_reachable(const L4lb__V1__Reachability *re, const L4lb__V1__Vip *v)
{
	for (size_t j = 0; j < v->n_backends; j++)
		if (!v->backends[j]->agent_ip.len || agent_reachable(re, v->backends[j]))
			return 1;
	return 0;
}

static int withheld(const L4lb__V1__Reachability *re, const L4lb__V1__Vip *v,
		    const L4lb__V1__Backend *b)
{
	return re && b->agent_ip.len && !agent_reachable(re, b) && vip_has_reachable(re, v);
}

static void print_json(const L4lb__V1__VipTable *t, const L4lb__V1__Reachability *re)
{
	char a[64];

	printf("{\"generation\":%llu,\"source\":", (unsigned long long)t->generation);
	json_string(stdout, t->source);
	printf(",\"reachability_known\":%s,\"vips\":[", re ? "true" : "false");
	for (size_t i = 0; i < t->n_vips; i++) {
		const L4lb__V1__Vip *v = t->vips[i];

		printf("%s{\"protocol\":\"%s\",\"ip\":\"%s\",\"port\":%u", i ? "," : "",
		       proto_name(v->protocol), addr_str(v->ip.data, v->ip.len, a, sizeof(a)),
		       v->port);
		if (v->name) {
			printf(",\"name\":");
			json_string(stdout, v->name);
		}
		printf(",\"labels\":[");
		for (size_t j = 0; j < v->n_labels; j++) {
			printf("%s", j ? "," : "");
			json_string(stdout, v->labels[j]);
		}
		printf("],\"backends\":[");
		for (size_t j = 0; j < v->n_backends; j++) {
			const L4lb__V1__Backend *b = v->backends[j];

			printf("%s{\"ip\":\"%s\",\"port\":%u", j ? "," : "",
			       addr_str(b->ip.data, b->ip.len, a, sizeof(a)), b->port);
			printf(",\"agent_ip\":\"%s\",\"weight\":%u",
			       addr_str(b->agent_ip.data, b->agent_ip.len, a, sizeof(a)), b->weight);
			if (b->task_ip.len)
				printf(",\"task_ip\":\"%s\",\"task_port\":%u",
				       addr_str(b->task_ip.data, b->task_ip.len, a, sizeof(a)),
				       b->task_port);
			if (re && b->agent_ip.len)
				printf(",\"reachable\":%s", agent_reachable(re, b) ? "true" : "false");
			if (withheld(re, v, b))
				printf(",\"withheld\":\"agent %s unreachable\"",
				       addr_str(b->agent_ip.data, b->agent_ip.len, a, sizeof(a)));
			printf("}");
		}
		printf("]}");
	}
	printf("]}\n");
}

static void print_text(const L4lb__V1__VipTable *t, const L4lb__V1__Reachability *re)
{
	char a[64], ep[96];

	printf("VIP table generation %llu from %s: %zu VIPs\n", (unsigned long long)t->generation,
	       t->source ? t->source : "?", t->n_vips);
	if (!re)
		printf("(overlayd does not answer: node reachability unknown, nothing withheld)\n");
	for (size_t i = 0; i < t->n_vips; i++) {
		const L4lb__V1__Vip *v = t->vips[i];
		const char *ip = addr_str(v->ip.data, v->ip.len, a, sizeof(a));

		snprintf(ep, sizeof(ep), v->ip.len == 16 ? "[%s]:%u" : "%s:%u", ip, v->port);
		printf("\n%s %s%s%s\n", proto_name(v->protocol), ep, v->name ? "  " : "",
		       v->name ? v->name : "");
		for (size_t j = 0; j < v->n_backends; j++) {
			const L4lb__V1__Backend *b = v->backends[j];

			ip = addr_str(b->ip.data, b->ip.len, a, sizeof(a));
			snprintf(ep, sizeof(ep), b->ip.len == 16 ? "[%s]:%u" : "%s:%u", ip, b->port);
			printf("  -> %-28s weight %u  agent %s", ep, b->weight,
			       addr_str(b->agent_ip.data, b->agent_ip.len, a, sizeof(a)));
			if (withheld(re, v, b))
				printf("  WITHHELD: agent unreachable");
			else if (re && b->agent_ip.len && !agent_reachable(re, b))
				printf("  (agent unreachable; kept: no backend of this VIP is)");
			printf("\n");
		}
		if (!v->n_backends)
			printf("  (no backends)\n");
	}
}

int cmd_vips(struct ctl *c, int argc, char **argv)
{
	char why[512];
	Envelope *r, *reach;

	if (argc > 1) {
		fprintf(stderr, "l4lbctl vips: unexpected argument '%s'\n", argv[1]);
		return CTL_USAGE;
	}
	r = ctl_call(c, "vipd", L4LB__V1__ENVELOPE__TYPE__SNAPSHOT_REQUEST, why, sizeof(why));
	if (!r) {
		fprintf(stderr, "l4lbctl vips: %s\n", why);
		return CTL_DOWN;
	}
	if (r->type != L4LB__V1__ENVELOPE__TYPE__VIP_TABLE) {
		fprintf(stderr, "l4lbctl vips: vipd answered with %s\n", envelope_type_name(r->type));
		envelope_free(r);
		return CTL_DOWN;
	}
	/* best effort: without overlayd the table is still worth showing */
	reach = ctl_call(c, "overlayd", L4LB__V1__ENVELOPE__TYPE__SNAPSHOT_REQUEST, why,
			 sizeof(why));
	if (c->json)
		print_json(r->vip_table, reach_of(reach));
	else
		print_text(r->vip_table, reach_of(reach));
	envelope_free(reach);
	envelope_free(r);
	return CTL_OK;
}
