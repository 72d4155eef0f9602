/* SPDX-License-Identifier: Apache-2.0 */
/*
 * When a (re)started overlayd may publish its first reachability snapshot.
 *
 * A fresh overlayd knows only itself: publishing that at once would make
 * ipvsd withhold every other node's backends until the mesh is rejoined (a
 * few hundred ms of lost capacity on every overlayd restart). Until the
 * gate opens nothing is published, so ipvsd keeps the reachability of the
 * previous overlayd run (fail static). The gate opens once this node has an
 * active link and its reachable set has not changed for a settle time, or
 * when the grace after start has passed (an isolated node, or a cluster of
 * one, still publishes).
 */
#ifndef L4LB_OVERLAYD_PUBLISH_GATE_H
#define L4LB_OVERLAYD_PUBLISH_GATE_H

#include <stddef.h>
#include <stdint.h>

#define PUBLISH_SETTLE_US 300000ULL  /* reachable set unchanged this long */
#define PUBLISH_GRACE_US 5000000ULL  /* publish anyway this long after start */

struct publish_gate {
	uint64_t start_us;      /* when overlayd started */
	uint64_t changed_us;    /* last change of the reachable set */
	int open;
};

void publish_gate_init(struct publish_gate *g, uint64_t now_us);
/* The reachable set changed at now_us. */
void publish_gate_changed(struct publish_gate *g, uint64_t now_us);
/* 1 once publishing may start (and from then on), else 0. */
int publish_gate_check(struct publish_gate *g, size_t n_active, uint64_t now_us);

#endif
