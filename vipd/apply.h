/* SPDX-License-Identifier: Apache-2.0 */
/* Applies master records (snapshots and stream events) to the live model. */
#ifndef VIPD_APPLY_H
#define VIPD_APPLY_H

#include <stdint.h>

#include "vipd/mesos_parse.h"
#include "vipd/model.h"

/* A re-registered agent's carried tasks stay at most this long more,
 * so that its TASK_ADDED events have time to arrive. */
#define APPLY_REREGISTER_GRACE_MS 15000u

/*
 * Applies one complete record to *live (a snapshot replaces it, keeping
 * the tasks of recovered agents for grace_ms). Takes what it needs from
 * rec. Returns 1 if the model may have changed, 0 if not.
 */
int apply_record(struct model **live, struct mesos_record *rec, uint64_t now_ms,
		 uint64_t grace_ms);

#endif
