#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# End to end on a real kernel, first half: a 3-node cluster
# (tests/vm/cluster/cluster.sh), then tests/vm/e2e/traffic.sh on it: traffic
# from every node to every VIP, propagation of master events, restarts under
# traffic. The second half, tests/vm/test_e2e_failure.sh, has a cluster of
# its own, so that the two run side by side (tests/vm/suites.sh).
#	tests/vm/run.sh tests/vm/test_e2e_traffic.sh BUILD_DIR
# vm-suite: heavy
. tests/vm/lib.sh
. tests/vm/cluster/cluster.sh
vm_only "${1:-build}" ipvsadm curl ipset iptables

t0=$(up_ms)
cluster_up_checked "$B" 3
echo "INFO: cluster up in $(($(up_ms) - t0)) ms, /web:80 is $WEB_VIP"
. tests/vm/e2e/traffic.sh

[ -s "$VM_TMP/failed" ] && cluster_logs 8
vm_done
