#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# End to end on a real kernel: a 3-node cluster (tests/vm/cluster/cluster.sh),
# VIPs learnt from the fake master; requests from every node to the named VIP,
# the IP VIP and the UDP VIP reach the backends on all nodes.
B=${1:-build}
. tests/vm/lib.sh
. tests/vm/cluster/cluster.sh
vm_require ipvsadm ipvsadm
vm_require nsenter util-linux

t0=$(now_ms)
if cluster_up "$B" 3; then
	pass "cluster_up: 3 nodes, every backend in every node's IPVS"
	echo "INFO: cluster up in $(($(now_ms) - t0)) ms, /web:80 is $WEB_VIP"
else
	fail cluster_up "$(for i in 1 2 3; do echo "n$i: $(dests "$i" "$IP_VIP:80")"; done)"
	cluster_logs
	vm_done
fi

# answered NODE get|udp VIP PORT: the backends that answered 12 requests
answered() { cl_count "$1" "$2" "$3" "$4" 12 | cut -d' ' -f1 | sort | tr '\n' ' '; }
all="web-1 web-2 web-3 "
for n in 1 2 3; do
	check_eq "n$n: named VIP $WEB_VIP:80 reaches every backend" "$all" \
		"$(answered "$n" get "$WEB_VIP" 80)"
	check_eq "n$n: IP VIP $IP_VIP:80 reaches every backend" "$all" \
		"$(answered "$n" get "$IP_VIP" 80)"
	check_eq "n$n: UDP VIP $UDP_VIP:53 reaches every backend" "$all" \
		"$(answered "$n" udp "$UDP_VIP" 53)"
done
vm_done
