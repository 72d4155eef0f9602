// SPDX-License-Identifier: Apache-2.0
/* l4lbctl vips: the VIP table vipd publishes, with every backend. */
#include <stdio.h>

#include "contrib/l4lbctl/l4lbctl.h"

static const char *proto_name(int p)
{
	return p == L4LB__V1__PROTOCOL__TCP ? "tcp" : p == L4LB__V1__PROTOCOL__UDP ? "udp" : "?";
}

static void print_json(const L4lb__V1__VipTable *t)
{
	char a[64];

	printf("{\"generation\":%llu,\"source\":", (unsigned long long)t->generation);
	json_string(stdout, t->source);
	printf(",\"vips\":[");
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
			printf("}");
		}
		printf("]}");
	}
	printf("]}\n");
}

static void print_text(const L4lb__V1__VipTable *t)
{
	char a[64], ep[96];

	printf("VIP table generation %llu from %s: %zu VIPs\n", (unsigned long long)t->generation,
	       t->source ? t->source : "?", t->n_vips);
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
			printf("  -> %-28s weight %u  agent %s\n", ep, b->weight,
			       addr_str(b->agent_ip.data, b->agent_ip.len, a, sizeof(a)));
		}
		if (!v->n_backends)
			printf("  (no backends)\n");
	}
}

int cmd_vips(struct ctl *c, int argc, char **argv)
{
	char why[512];
	Envelope *r;

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
	if (c->json)
		print_json(r->vip_table);
	else
		print_text(r->vip_table);
	envelope_free(r);
	return CTL_OK;
}
