// SPDX-License-Identifier: Apache-2.0
/*
 * The IPC messages ipvsd acts on, at handler level: an envelope from
 * arbitrary bytes; a VIP table becomes candidate services (the work of
 * reconcile_on_vip_table), a reachability snapshot a node set (the work of
 * reconcile_on_reachability), and each is combined with a fixed other half
 * into the desired kernel state. Invalid entries must be skipped, never
 * turn into services.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/envelope.h"
#include "ipvsd/desired.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct ipvs_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct ipvs_svc *s = &t->svcs[i];

		if ((s->key.af != AF_INET && s->key.af != AF_INET6) ||
		    (s->key.proto != IPPROTO_TCP && s->key.proto != IPPROTO_UDP))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct desired_cfg cfg = { .sched = "wlc", .node_ip = { 10, 0, 0, 1 }, .node_ip_len = 4 };
	const char *why = NULL;
	Envelope *env = envelope_unpack(data, size, &why);
	struct ipvs_table *cand = NULL, *want = NULL;
	struct reach_set *reach = NULL;
	size_t withheld = 0;

	if (!env)
		return 0;
	if (env->type == L4LB__V1__ENVELOPE__TYPE__VIP_TABLE && env->vip_table) {
		struct node_addr n[2] = { { 4, { 10, 0, 0, 1 } }, { 4, { 10, 0, 0, 2 } } };
		struct reach_set r = { n, 2 };

		if (!(cand = desired_candidates(env->vip_table, &cfg)))
			goto done;
		check(cand);
		want = desired_build(cand, &r, &withheld);
	} else if (env->type == L4LB__V1__ENVELOPE__TYPE__REACHABILITY && env->reachability) {
		struct ipvs_table *c = ipvs_table_new();
		struct svc_key k = { AF_INET, IPPROTO_TCP, 80, { 11, 0, 0, 1 } };
		struct ipvs_dest d = { .addr = { 10, 0, 0, 9 }, .port = 8080, .weight = 1,
				       .agent_len = 4, .agent = { 10, 0, 0, 2 } };
		struct ipvs_svc *s;

		cand = c;
		if (!c || !(s = ipvs_table_insert(c, &k, "wlc")) || !ipvs_svc_insert_dest(s, &d))
			goto done;
		if (!(reach = reach_set_from_pb(env->reachability)))
			goto done;
		for (size_t i = 0; i < reach->n; i++)
			if (!reach_set_has(reach, reach->nodes[i].a, reach->nodes[i].len))
				abort(); /* sorted: every listed node must be found */
		want = desired_build(c, reach, &withheld);
	}
	if (want) {
		check(want);
		if (withheld > ipvs_table_dest_count(cand))
			abort();
	}
done:
	ipvs_table_free(cand);
	ipvs_table_free(want);
	reach_set_free(reach);
	envelope_free(env);
	return 0;
}
