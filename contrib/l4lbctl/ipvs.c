// SPDX-License-Identifier: Apache-2.0
/* l4lbctl ipvs: what ipvsd wants, what the kernel holds (as ipvsd knows it),
 * and the changes between them, in apply order. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "contrib/l4lbctl/l4lbctl.h"

static const char *proto_name(int p)
{
	return p == L4LB__V1__PROTOCOL__UDP ? "udp" : p == L4LB__V1__PROTOCOL__TCP ? "tcp" : "?";
}

/* " persistent 300 s netmask 64 flags 0x5": what differs from the definition
 * ipvsd gives its services (nothing for those), so that a service changed
 * behind its back does not look like the one it wants. */
const char *ipvs_definition(const L4lb__V1__IpvsService *s, char *buf, size_t len)
{
	uint32_t own_mask = s->ip.len == 16 ? 128 : 0xffffffffu;
	size_t at = 0;

	buf[0] = 0;
	if (s->has_persistence_timeout && s->persistence_timeout)
		at += (size_t)snprintf(buf + at, len - at, " persistent %u s", s->persistence_timeout);
	if (at < len && s->has_netmask && s->netmask != own_mask)
		at += (size_t)snprintf(buf + at, len - at, s->ip.len == 16 ? " netmask /%u" :
					" netmask 0x%08x", s->netmask);
	if (at < len && s->has_flags && s->flags)
		snprintf(buf + at, len - at, " flags 0x%x", s->flags);
	return buf;
}

static void json_services(const char *name, L4lb__V1__IpvsService **s, size_t n)
{
	char a[64];

	printf(",\"%s\":[", name);
	for (size_t i = 0; i < n; i++) {
		printf("%s{\"protocol\":\"%s\",\"ip\":\"%s\",\"port\":%u,\"scheduler\":", i ? "," : "",
		       proto_name(s[i]->protocol), addr_str(s[i]->ip.data, s[i]->ip.len, a, sizeof(a)),
		       s[i]->port);
		json_string(stdout, s[i]->scheduler ? s[i]->scheduler : "");
		if (s[i]->has_flags)
			printf(",\"flags\":%u", s[i]->flags);
		if (s[i]->has_persistence_timeout)
			printf(",\"persistence_timeout\":%u", s[i]->persistence_timeout);
		if (s[i]->has_netmask)
			printf(",\"netmask\":%u", s[i]->netmask);
		printf(",\"dests\":[");
		for (size_t j = 0; j < s[i]->n_dests; j++) {
			L4lb__V1__IpvsDest *d = s[i]->dests[j];

			printf("%s{\"ip\":\"%s\",\"port\":%u,\"weight\":%u,\"active\":%u,"
			       "\"inactive\":%u,\"withheld\":",
			       j ? "," : "", addr_str(d->ip.data, d->ip.len, a, sizeof(a)), d->port,
			       d->weight, d->active_conns, d->inactive_conns);
			/* null: programmed; else why not (its node is unreachable) */
			if (d->withheld)
				json_string(stdout, d->withheld);
			else
				printf("null");
			printf("}");
		}
		printf("]}");
	}
	printf("]");
}

static void text_services(const char *title, L4lb__V1__IpvsService **s, size_t n)
{
	char a[64], b[64], def[96];

	printf("%s: %zu services\n", title, n);
	for (size_t i = 0; i < n; i++) {
		printf("  %s %s:%u %s%s\n", proto_name(s[i]->protocol),
		       addr_str(s[i]->ip.data, s[i]->ip.len, a, sizeof(a)), s[i]->port,
		       s[i]->scheduler ? s[i]->scheduler : "", ipvs_definition(s[i], def, sizeof(def)));
		for (size_t j = 0; j < s[i]->n_dests; j++) {
			L4lb__V1__IpvsDest *d = s[i]->dests[j];

			snprintf(b, sizeof(b), "%s:%u", addr_str(d->ip.data, d->ip.len, a, sizeof(a)),
				 d->port);
			if (d->withheld)
				printf("    -> %-40s withheld: %s\n", b, d->withheld);
			else
				printf("    -> %-40s weight %-5u active %-6u inactive %u\n", b,
				       d->weight, d->active_conns, d->inactive_conns);
		}
	}
}

int cmd_ipvs(struct ctl *c, int argc, char **argv)
{
	char why[512];
	Envelope *r;
	L4lb__V1__IpvsState *st;

	if (argc > 1) {
		fprintf(stderr, "l4lbctl ipvs: unexpected argument '%s'\n", argv[1]);
		return CTL_USAGE;
	}
	r = ctl_call(c, "ipvsd", L4LB__V1__ENVELOPE__TYPE__IPVS_STATE_REQUEST, why, sizeof(why));
	if (!r || r->type != L4LB__V1__ENVELOPE__TYPE__IPVS_STATE || !r->ipvs_state) {
		fprintf(stderr, "l4lbctl ipvs: %s\n",
			r ? "ipvsd answered with something else" : why);
		envelope_free(r);
		return CTL_DOWN;
	}
	st = r->ipvs_state;
	if (c->json) {
		printf("{\"vip_generation\":%llu,\"reach_generation\":%llu",
		       (unsigned long long)st->vip_generation,
		       (unsigned long long)st->reach_generation);
		json_services("desired", st->desired, st->n_desired);
		json_services("kernel", st->kernel, st->n_kernel);
		printf(",\"pending\":[");
		for (size_t i = 0; i < st->n_pending; i++) {
			printf("%s{\"action\":", i ? "," : "");
			json_string(stdout, st->pending[i]->action ? st->pending[i]->action : "");
			printf(",\"object\":");
			json_string(stdout, st->pending[i]->object ? st->pending[i]->object : "");
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("VIP table generation %llu, reachability generation %llu\n",
		       (unsigned long long)st->vip_generation,
		       (unsigned long long)st->reach_generation);
		text_services("desired", st->desired, st->n_desired);
		text_services("kernel (as ipvsd knows it)", st->kernel, st->n_kernel);
		printf("pending: %zu changes\n", st->n_pending);
		for (size_t i = 0; i < st->n_pending; i++)
			printf("  %s %s\n", st->pending[i]->action, st->pending[i]->object);
	}
	envelope_free(r);
	return CTL_OK;
}
