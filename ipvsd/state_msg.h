/* SPDX-License-Identifier: Apache-2.0 */
/* The IpvsState reply (`l4lbctl ipvs`): desired, kernel and the difference. */
#ifndef IPVSD_STATE_MSG_H
#define IPVSD_STATE_MSG_H

#include "common/envelope.h"
#include "ipvsd/plan.h"

/* Packs an IPVS_STATE envelope. kernel may be NULL. 0 or -ENOMEM. */
int state_msg_pack(const struct ipvs_table *desired, const struct ipvs_table *kernel,
		   const struct plan *pending, uint64_t vip_gen, uint64_t reach_gen,
		   struct ipc_buf *out);

#endif
