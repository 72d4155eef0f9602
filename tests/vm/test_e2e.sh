#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# End to end on a real kernel: one 3-node cluster (tests/vm/cluster/cluster.sh)
# for both parts, run in this order on it (a cluster start is the slowest
# step under TCG, so they share one):
# - tests/vm/e2e/traffic.sh: traffic from every node to every VIP,
#   propagation of master events, restarts in every order under traffic;
# - tests/vm/e2e/failure.sh: node failure, bad IPC input, master outage,
#   clean shutdown, cleanup (it ends the cluster's life: it goes last).
# The failure part first checks that the cluster is whole again.
#	tests/vm/run.sh tests/vm/test_e2e.sh BUILD_DIR [traffic|failure]
. tests/vm/lib.sh
. tests/vm/cluster/cluster.sh
vm_only "${1:-build}" ipvsadm curl ipset iptables

t0=$(now_ms)
cluster_up_checked "$B" 3
echo "INFO: cluster up in $(($(now_ms) - t0)) ms, /web:80 is $WEB_VIP"
case ${2:-all} in all | traffic) . tests/vm/e2e/traffic.sh ;; esac
case ${2:-all} in all | failure) . tests/vm/e2e/failure.sh ;; esac

[ -s "$VM_TMP/failed" ] && cluster_logs 8
vm_done
