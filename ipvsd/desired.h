/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The desired kernel state: the VIP table (vipd) × the reachability set
 * (overlayd). Pure: no kernel, no sockets.
 */
#ifndef IPVSD_DESIRED_H
#define IPVSD_DESIRED_H

#include "common/envelope.h"
#include "ipvsd/model.h"

struct desired_cfg {
	const char *sched;  /* "wlc" */
	uint8_t node_ip[16]; /* this node's agent IP (--node-ip) */
	uint8_t node_ip_len; /* 0: unknown */
};

/* A node address as reachability lists it. */
struct node_addr {
	uint8_t len;
	uint8_t a[16];
};

struct reach_set {
	struct node_addr *nodes; /* sorted */
	size_t n;
};

/*
 * The VIP table as candidate services: every valid VIP with every valid
 * backend (port-mapped backends on this node by their task address), agent
 * addresses kept for the reachability filter. Invalid VIPs and backends are
 * reported as bad input and skipped. NULL on ENOMEM.
 */
struct ipvs_table *desired_candidates(const L4lb__V1__VipTable *vt, const struct desired_cfg *cfg);

/* The service key of a VIP; -1 if its protocol, address, family or port
 * is invalid (desired_candidates skips it then). */
int desired_vip_key(const L4lb__V1__Vip *v, struct svc_key *k);

struct reach_set *reach_set_from_pb(const L4lb__V1__Reachability *r);
void reach_set_free(struct reach_set *r);
int reach_set_has(const struct reach_set *r, const uint8_t *a, uint8_t len);
/* 1 when both hold the same nodes (both sorted by reach_set_from_pb), or
 * both are NULL. */
int reach_set_equal(const struct reach_set *a, const struct reach_set *b);

/*
 * Desired services from the candidates: backends whose agent is not in
 * `reach` are withheld, unless that would withhold all of a VIP's backends
 * (fail open). reach NULL (no snapshot yet): nothing is withheld.
 * *withheld counts the destinations left out. NULL on ENOMEM.
 */
struct ipvs_table *desired_build(const struct ipvs_table *cand, const struct reach_set *reach,
				 size_t *withheld);

#endif
