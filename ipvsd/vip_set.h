/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ipsets holding every VIP as `ip,proto:port` (hash:ip,port, one per
 * family): changed through libipset's data API, read back straight from
 * the kernel (ipset_list.c). The nat rules ACCEPT them (no NAT) so that
 * port-mapping DNAT never captures VIP traffic. The sets are ipvsd's own.
 */
#ifndef IPVSD_VIP_SET_H
#define IPVSD_VIP_SET_H

#include "ipvsd/plan.h"

#define VIP_SET4 "l4lb-vips4"
#define VIP_SET6 "l4lb-vips6"

struct vip_set;

/* Creates both sets if missing (hash:ip,port, the kernel's default maxelem
 * of 65,536 members each; sets of these names made beforehand with other
 * options are used as they are). 0 or -errno (logged). */
int vip_set_open(int dry_run, struct vip_set **out);
void vip_set_close(struct vip_set *vs);
/* The members of both sets, sorted, into out. A set that is gone is created
 * again (counted ipset_recreated, logged rate-limited; not in a dry run).
 * A set that cannot be read (-errno returned) keeps in out the members it
 * had there: the caller goes on with the last ones read (member changes are
 * idempotent), and the other set's are still brought up to date. */
int vip_set_list(struct vip_set *vs, struct key_set *out);
/* OP_ADD_MEMBER / OP_DEL_MEMBER ops, aggregated into few messages;
 * idempotent. errs[i] per op. */
int vip_set_apply(struct vip_set *vs, const struct plan_op *ops, size_t n, int *errs);

/* Destroys both sets (--cleanup; the nat rules using them must be gone
 * first). A set that does not exist is fine. 0 or -EIO (logged). */
int vip_set_destroy(struct vip_set *vs);

#endif
