/* SPDX-License-Identifier: Apache-2.0 */
#ifndef L4LBCTL_NODES_H
#define L4LBCTL_NODES_H

#include "contrib/l4lbctl/l4lbctl.h"

/* `l4lbctl nodes [--json]`: overlayd's view of the nodes (active and
 * passive views, per-link RTT window and timeout, every node heard of and
 * whether and how it is reached) and its counters (from its status reply).
 * Returns the exit status. */
int cmd_nodes(struct ctl *c, int argc, char **argv);

#endif
