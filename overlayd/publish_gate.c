// SPDX-License-Identifier: Apache-2.0
#include "overlayd/publish_gate.h"

void publish_gate_init(struct publish_gate *g, uint64_t now_us)
{
	g->start_us = now_us;
	g->changed_us = now_us;
	g->open = 0;
}

void publish_gate_changed(struct publish_gate *g, uint64_t now_us)
{
	g->changed_us = now_us;
}

int publish_gate_check(struct publish_gate *g, size_t n_active, uint64_t now_us)
{
	if (!g->open)
		g->open = (n_active > 0 && now_us - g->changed_us >= PUBLISH_SETTLE_US) ||
			  now_us - g->start_us >= PUBLISH_GRACE_US;
	return g->open;
}
