/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ipvsd --cleanup`: removes everything ipvsd created — the IPVS services it
 * owns (in the owned ranges, or IP VIPs its state file recorded), the VIP
 * addresses, the dummy interface if ipvsd created it, the nat chains and the
 * jumps to them, the ipsets, and the state file — in an order that never
 * leaves a VIP address without its service. Foreign services, and the
 * sysctls (shared with anything else using IPVS), are left alone.
 */
#ifndef IPVSD_CLEANUP_H
#define IPVSD_CLEANUP_H

#include "ipvsd/reconcile.h"

/* Refuses (1) while an ipvsd answers on run_dir/ipvsd.rep. The exit status:
 * 0 when all is gone, 1 otherwise (each failure logged). */
int ipvsd_cleanup(const struct reconcile_cfg *cfg, const char *run_dir);

/* An ipvsd is listening on run_dir/ipvsd.rep. */
int ipvsd_running(const char *run_dir);

#endif
