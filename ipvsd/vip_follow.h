/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Following vipd's VIP table by its deltas (vipd.delta.pub): which delta
 * applies to the table ipvsd holds, and applying one to the candidate
 * services in O(what changed), independent of the table's size. Anything
 * that does not fit exactly (a gap, another publisher epoch, a malformed
 * delta, one that does not apply cleanly) means: fetch a full snapshot.
 * Pure: no kernel, no sockets.
 */
#ifndef IPVSD_VIP_FOLLOW_H
#define IPVSD_VIP_FOLLOW_H

#include "ipvsd/desired.h"
#include "ipvsd/model.h"

enum follow_verdict {
	FOLLOW_APPLY,   /* it starts from the held table: apply it */
	FOLLOW_CURRENT, /* nothing newer than the held table: ignore it */
	FOLLOW_RESYNC,  /* the held table is not its base: fetch a snapshot */
	FOLLOW_BAD,     /* malformed: report it, then fetch a snapshot */
};

/* held: ipvsd holds the table (epoch, gen). */
enum follow_verdict vip_follow_check(int held, uint64_t epoch, uint64_t gen,
				     const L4lb__V1__VipTableDelta *d);

/*
 * Applies d (FOLLOW_APPLY) to cand, the candidate services of its base
 * table. The keys of the services it changed go into keys[max], sorted by
 * svc_key_cmp, their number in *n; more than max: *n = max + 1 and keys
 * are not listed (diff everything). Returns 0; -EPROTO (a VIP key invalid
 * or named twice) or -ESRCH (removes a VIP cand does not hold) with cand
 * untouched; or -ENOMEM, after which cand may be half patched.
 */
int vip_follow_apply(struct ipvs_table *cand, const L4lb__V1__VipTableDelta *d,
		     const struct desired_cfg *cfg, struct svc_key *keys, size_t max, size_t *n);

#endif
