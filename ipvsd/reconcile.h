/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reconcile loop: on every VIP table delta (or snapshot) and
 * reachability snapshot the desired state is patched or recomputed and
 * diffed against ipvsd's model of the kernel (no dumps on this hot path);
 * periodically (and after any error) the model is refreshed from the
 * kernel's own dumps and repaired, in slices that never hold the event
 * loop long (full_pass.h), and a fresh VIP table snapshot is
 * compared in full with what the deltas built; the nat rules are checked
 * then too, in the background (nat_check.c). Nothing is flushed at start or
 * exit: what is in the kernel is adopted.
 */
#ifndef IPVSD_RECONCILE_H
#define IPVSD_RECONCILE_H

#include <event2/event.h>

#include "common/daemon.h"
#include "common/envelope.h"
#include "common/ipc.h"
#include "ipvsd/desired.h"
#include "ipvsd/plan.h"

#define RECONCILE_MAX_RANGES 64

struct reconcile_cfg {
	struct desired_cfg dcfg;
	const char *ifname;
	int any_if; /* --any-interface: an existing ifname of any type is used */
	struct vip_range ranges[RECONCILE_MAX_RANGES];
	size_t n_ranges;
	unsigned interval_s; /* full reconcile period */
	unsigned grace_s;    /* longest TCP drain */
	unsigned reach_wait_ms; /* the first plan waits this long for reachability */
	unsigned slice_ms;      /* a full pass's slices; 0: one slice */
	const char *state_dir;
	int dry_run;
	int cleanup; /* --cleanup: the one-shot mode of cleanup.c */
	int iptables; /* enum nat_backend: which iptables holds the nat chains */
};

struct reconciler;
struct ipvs_nl;

/* Opens the kernel interfaces (IPVS, the dummy interface, the ipsets,
 * sysctls), reads the state file and starts the first nat rules check.
 * -ENOENT without IPVS or iptables, -EPERM without CAP_NET_ADMIN (logged
 * with what is missing), other -errno. */
int reconcile_new(struct event_base *base, const struct reconcile_cfg *cfg,
		  struct reconciler **out);
void reconcile_free(struct reconciler *r);

void reconcile_on_vip_table(const Envelope *env, void *arg);
void reconcile_on_reachability(const Envelope *env, void *arg);
/* The raw hooks of the VIP table subscription (ipc_sub_set_raw): a new
 * table is applied by the VIPs whose bytes changed (vip_delta.c) when it can
 * be, else unpacked in full and given to reconcile_on_vip_table. */
int reconcile_vip_peek(const void *data, size_t len, uint64_t *epoch, uint64_t *gen, void *arg);
int reconcile_vip_apply(const void *data, size_t len, void *arg);

/* A VipTableDelta from vipd.delta.pub (ipc_feed): applied when it starts
 * from the table ipvsd holds, else a snapshot is asked of `sub` (counted). */
int reconcile_on_vip_delta(const void *data, size_t len, void *arg);
/* Where snapshots are asked for (resyncs and the periodic full check). */
void reconcile_set_vip_source(struct reconciler *r, struct ipc_sub *sub);

/* IPVS_STATE_REQUEST handler for `l4lbctl ipvs`. */
int reconcile_state_reply(const Envelope *req, struct ipc_buf *reply, void *arg);
/* The IPVS socket (NULL in a dry run without IPVS), for the metrics'
 * counter dumps between the reconciler's own requests. */
struct ipvs_nl *reconcile_ipvs_nl(const struct reconciler *r);
/* Facts for the status reply. */
void reconcile_status(status_kv_fn kv, void *kvarg, void *arg);

#endif
