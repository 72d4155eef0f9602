// SPDX-License-Identifier: Apache-2.0
/* Master records → the live model. */
#include <stdlib.h>

#include "common/counters.h"
#include "vipd/apply.h"

static void move_all(struct model *into, struct model *from, uint64_t now_ms)
{
	const char *id;
	void *v;
	size_t i = 0;

	while (strmap_next(&from->tasks, &i, &id, &v)) {
		struct task_rec *t = strmap_del(&from->tasks, id);

		t->carried = 0;
		model_put_rec(into, t);
	}
	i = 0;
	while (strmap_next(&from->agents, &i, &id, &v)) {
		struct agent *old = strmap_get(&into->agents, id), *a;
		uint64_t carry = 0;

		if (old && old->carry_until_ms) {
			carry = old->carry_until_ms;
			if (carry > now_ms + APPLY_REREGISTER_GRACE_MS)
				carry = now_ms + APPLY_REREGISTER_GRACE_MS;
		}
		a = v;
		a->carry_until_ms = carry;
		strmap_put(&into->agents, id, a, NULL); /* copies id before del frees it */
		strmap_del(&from->agents, id);
		if (old) {
			free(old->hostname);
			free(old);
		}
	}
	i = 0;
	while (strmap_next(&from->frameworks, &i, &id, &v)) {
		free(strmap_put(&into->frameworks, id, v, NULL));
		strmap_del(&from->frameworks, id);
	}
}

int apply_record(struct model **live, struct mesos_record *rec, uint64_t now_ms,
		 uint64_t grace_ms)
{
	struct model *m = *live;

	counter_inc("master_records");
	if (mesos_rec_is_snapshot(rec->type)) {
		struct model *n = rec->m;

		rec->m = NULL;
		model_carry_recovered(n, m, now_ms, grace_ms);
		model_free(m);
		*live = n;
		counter_inc("master_snapshots");
		return 1;
	}
	switch (rec->type) {
	case REC_TASK_ADDED:
	case REC_AGENT_ADDED:
	case REC_FRAMEWORK_ADDED:
	case REC_FRAMEWORK_UPDATED:
		if (!rec->m)
			return 0;
		move_all(m, rec->m, now_ms);
		break;
	case REC_TASK_UPDATED: {
		struct task empty = { .healthy = -1 };

		if (!rec->upd_task_id) {
			report_bad_input("master_event", "TASK_UPDATED without a task id");
			return 0;
		}
		/* Tasks without VIPs are not kept: their updates are no-ops. */
		if (!model_update_task(m, rec->upd_task_id, rec->upd_state,
				       rec->upd_status ? rec->upd_status : &empty))
			return 0;
		break;
	}
	case REC_AGENT_REMOVED:
		if (!rec->removed_id)
			return 0;
		model_del_agent(m, rec->removed_id);
		break;
	case REC_FRAMEWORK_REMOVED:
		if (!rec->removed_id)
			return 0;
		model_del_framework(m, rec->removed_id);
		break;
	default:
		return 0;
	}
	counter_inc("master_events_applied");
	return 1;
}
