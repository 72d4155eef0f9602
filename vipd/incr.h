/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Incremental table updates: a task whose set of VIPs (and labels) stays
 * the same only changes its own backends, so the published table is
 * patched in place instead of rebuilt; anything else asks for a full
 * rebuild. The patched table equals rules_build's, byte for byte packed.
 */
#ifndef VIPD_INCR_H
#define VIPD_INCR_H

#include "vipd/vip_table.h"

/*
 * Patches `t` (canonical, from rules_build or earlier patches) from one
 * task's part before and after its change (rules_task_vips; both are
 * sorted here). Changed VIPs lose their packed cache. Returns 1 if t
 * changed, 0 if not, -EAGAIN when only a full rebuild can tell (t is
 * untouched), -ENOMEM (t is half patched: rebuild it).
 */
int incr_apply(struct vip_table *t, struct vip_table *before, struct vip_table *after);

#endif
