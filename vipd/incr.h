/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Incremental table updates: one task's change (TASK_UPDATED, TASK_ADDED,
 * its end) takes its old part out of the published table and puts its new
 * part in, creating and removing VIPs and placing new named-VIP names from
 * the table's cached names (named_set.h) instead of rebuilding everything.
 * What a patch cannot express exactly (backends or VIPs merged from several
 * sources, a new name that would move another) is left to a full rebuild.
 * The patched table equals rules_build's, byte for byte packed.
 */
#ifndef VIPD_INCR_H
#define VIPD_INCR_H

#include "vipd/vip_table.h"

/*
 * Patches `t` (canonical, from rules_build or earlier patches) from one
 * task's part before and after its change (rules_task_vips; both are
 * addressed and sorted here). Changed VIPs lose their packed cache.
 * Returns 1 if t changed, 0 if not, -EAGAIN when only a full rebuild can
 * tell (t is untouched), -ENOMEM (t is half patched: rebuild it).
 */
int incr_apply(struct vip_table *t, struct vip_table *before, struct vip_table *after);

#endif
