/* SPDX-License-Identifier: Apache-2.0 */
/* The VIP rules of vip-discovery.md: the cluster model → the VIP table. */
#ifndef VIPD_RULES_H
#define VIPD_RULES_H

#include <stdint.h>

#include "vipd/model.h"
#include "vipd/vip_table.h"

/* A parsed VIP label value. */
struct vip_label {
	uint8_t family; /* 4/6: an IP VIP; 0: a named VIP */
	uint8_t ip[16];
	uint16_t port;
	char host[256]; /* named VIPs: the part before the last ':' */
};

/* Splits at the last ':'; 0 or -EINVAL (reason in *why). */
int vip_label_parse(const char *value, struct vip_label *out, const char **why);

struct rules_stats {
	size_t tasks, live, held, backends;
};

/*
 * Computes the table of `m` (plus `extra`, static VIPs, may be NULL): sorted
 * and canonical. Named VIP addresses use [vip4_min, vip4_max]; the names and
 * their addresses stay with the table (t->names, for incr.c). NULL on ENOMEM.
 */
struct vip_table *rules_build(const struct model *m, const struct vip_table *extra,
			      uint32_t vip4_min, uint32_t vip4_max, struct rules_stats *st);

/*
 * One task's part of the table (for incremental updates): its VIPs with
 * its backends and labels, unsorted; named VIPs carry their name but no
 * address yet. *held: the task is held (see rules_stats). NULL on ENOMEM.
 */
struct vip_table *rules_task_vips(const struct model *m, const struct task_rec *t, int *held);

#endif
