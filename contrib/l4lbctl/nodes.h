/* SPDX-License-Identifier: Apache-2.0 */
#ifndef L4LBCTL_NODES_H
#define L4LBCTL_NODES_H

/* `l4lbctl [--run-dir DIR] nodes [--json]`: overlayd's view of the nodes.
 * Returns the exit status. */
int l4lbctl_nodes(const char *run_dir, int argc, char **argv);

#endif
