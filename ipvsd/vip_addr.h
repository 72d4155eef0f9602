/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VIP addresses on ipvsd's dummy interface (libnl-route), so that
 * connections from the node and from containers behind bridges are
 * delivered locally to IPVS's hooks. The interface is normally ipvsd's own
 * dummy; with --any-interface it may be another, so the plan removes only
 * addresses ipvsd owns (owned_addr).
 */
#ifndef IPVSD_VIP_ADDR_H
#define IPVSD_VIP_ADDR_H

#include <stdint.h>

#include "ipvsd/plan.h"

struct vip_addr;

/* Opens a route socket and creates the dummy interface `ifname` if missing
 * (and sets it up). An existing interface that is not a dummy is refused
 * (-EINVAL) unless any_type. 0 or -errno (logged). */
int vip_addr_open(const char *ifname, int dry_run, int any_type, struct vip_addr **out);
void vip_addr_close(struct vip_addr *va);
/* Checks the interface again (the full pass): created again if deleted,
 * the new index followed if replaced, set up if down. 0 or -errno. */
int vip_addr_ensure(struct vip_addr *va);
/* The interface was created by this vip_addr (at open or since). */
int vip_addr_created(const struct vip_addr *va);
/* Deletes the interface (--cleanup, when ipvsd had created it). 0 or -errno. */
int vip_addr_delete_link(struct vip_addr *va);
/* Addresses on the interface (key af + addr; proto and port 0), sorted. */
int vip_addr_list(struct vip_addr *va, struct key_set *out);
/* The same, read a few parts at a time (nl_dump.h): start (out is
 * emptied), then step until it returns 1 (out complete and sorted) or
 * -errno (out partial). One at a time; out must live until then. */
int vip_addr_list_start(struct vip_addr *va, struct key_set *out);
int vip_addr_list_step(struct vip_addr *va, uint64_t budget_us);
void vip_addr_list_abort(struct vip_addr *va);
/* OP_ADD_ADDR / OP_DEL_ADDR ops, batched; idempotent. errs[i] per op; returns
 * 0 or the -errno that stopped the batch. */
int vip_addr_apply(struct vip_addr *va, const struct plan_op *ops, size_t n, int *errs);

#endif
