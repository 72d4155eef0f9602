/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which tasks a snapshot changes: most polls of a master repeat its state,
 * and their tasks share the live model's records (mesos_parse.h), so the
 * few that differ can be patched into the table like events (core.c)
 * instead of rebuilding it beside the old one.
 */
#ifndef VIPD_MODEL_DIFF_H
#define VIPD_MODEL_DIFF_H

#include <stddef.h>

#include "vipd/model.h"

/* Whether two models have the same agents (name, address, recovered) and
 * frameworks (name): then each task's VIPs depend on the task alone. */
int model_same_nodes(const struct model *a, const struct model *b);

/*
 * The ids of the tasks whose record differs between `old` and `new`
 * (another record, added or removed) into ids (borrowed from the models),
 * up to max; their number, or -1 if there are more than max.
 */
long model_diff_tasks(const struct model *old, const struct model *new, const char **ids,
		      size_t max);

#endif
