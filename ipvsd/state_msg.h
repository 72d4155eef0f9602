/* SPDX-License-Identifier: Apache-2.0 */
/* The IpvsState reply (`l4lbctl ipvs`): desired, kernel and the difference. */
#ifndef IPVSD_STATE_MSG_H
#define IPVSD_STATE_MSG_H

#include "common/envelope.h"
#include "ipvsd/plan.h"

/* Packs an IPVS_STATE envelope. The desired services also list, with
 * weight 0 and `withheld` set ("agent 10.0.0.3 unreachable"), the backends
 * of cand (the VIP table's candidates; may be NULL) left out of desired.
 * kernel may be NULL. A pending deletion of a TCP destination at weight 0
 * (or of a TCP service) is marked "(draining)": it waits for connections.
 * 0 or -ENOMEM. */
int state_msg_pack(const struct ipvs_table *desired, const struct ipvs_table *cand,
		   const struct ipvs_table *kernel, const struct plan *pending, uint64_t vip_gen,
		   uint64_t reach_gen,
		   struct ipc_buf *out);

#endif
