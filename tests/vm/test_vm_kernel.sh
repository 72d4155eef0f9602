#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Self-test of the VM harness: on the guest kernel, the node recipe of
# shared/reference/kernel.md works end to end. Run it with
#	tests/vm/run.sh tests/vm/test_vm_kernel.sh
#
# Two backends (b1, b2) and two nodes share a bridge. Each node holds VIPs on a
# dummy interface, IPVS services (wlc, masquerade) for TCP and UDP over IPv4
# and IPv6, the ipvs MASQUERADE rule and the ipset RETURN rules; one node uses
# iptables-nft, the other iptables-legacy, as a node may run either. The
# backends have no route to the VIPs: only the masquerade brings replies back.
set -eu
. "$(dirname "$0")/lib.sh"
vm_only "${1:-build}" ipvsadm ipset iptables-legacy:iptables iptables-nft:iptables curl \
	busybox:busybox-static ss:iproute2 sysctl:procps

VIP4=11.0.0.1
VIP6=fd00:11::1
TRIES=4

bridge_new lan
ns_new b1 b2
ns_link lan b1 10.0.0.11/24 fd00::11/64
ns_link lan b2 10.0.0.12/24 fd00::12/64
# Backend ports differ from the VIP ports: IPVS maps them.
for b in b1 b2; do
	serve_udp $b 5353 $b
	serve_http $b 8080 $b
done

# node_setup NS IPTABLES IP6TABLES HOST: node NS at 10.0.0.HOST / fd00::HOST.
node_setup() {
	ns=$1 ipt=$2 ip6t=$3
	ns_new "$ns"
	ns_link lan "$ns" "10.0.0.$4/24" "fd00::$4/64"
	nx "$ns" ip link add minuteman type dummy
	nx "$ns" ip link set dev minuteman up
	nx "$ns" ip addr add "$VIP4/32" dev minuteman
	nx "$ns" ip addr add "$VIP6/128" dev minuteman nodad

	for svc in "-t $VIP4:80" "-u $VIP4:53" "-t [$VIP6]:80" "-u [$VIP6]:53"; do
		nx "$ns" ipvsadm -A $svc -s wlc
		case $svc in
		*"[$VIP6]"*) b1="[fd00::11]" b2="[fd00::12]" ;;
		*) b1=10.0.0.11 b2=10.0.0.12 ;;
		esac
		case $svc in -t*) port=8080 ;; *) port=5353 ;; esac
		nx "$ns" ipvsadm -a $svc -r "$b1:$port" -m -w 1
		nx "$ns" ipvsadm -a $svc -r "$b2:$port" -m -w 1
	done

	nx "$ns" sysctl -qw net.ipv4.vs.conntrack=1
	nx "$ns" ipset create l4lb-vips hash:ip,port family inet
	nx "$ns" ipset create l4lb-vips6 hash:ip,port family inet6
	for e in "$VIP4,tcp:80" "$VIP4,udp:53"; do nx "$ns" ipset add l4lb-vips "$e"; done
	for e in "$VIP6,tcp:80" "$VIP6,udp:53"; do nx "$ns" ipset add l4lb-vips6 "$e"; done
	for t in "$ipt l4lb-vips" "$ip6t l4lb-vips6"; do
		set -- $t
		nx "$ns" "$1" -t nat -A POSTROUTING \
			-m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ -j MASQUERADE
		for chain in OUTPUT PREROUTING; do
			nx "$ns" "$1" -t nat -A $chain -m set --match-set "$2" dst,dst -j RETURN
		done
	done
	# A port-mapping DNAT rule as docker would add, after ours: were the
	# RETURN rule not to match, it would capture the VIP (to nowhere).
	nx "$ns" "$ipt" -t nat -A OUTPUT -p tcp -d "$VIP4" --dport 80 \
		-j DNAT --to-destination 10.0.0.99:8080
}

# answers CMD...: the distinct answers to TRIES requests (new connections or
# flows, one client process: CMD TRIES), sorted; "error" if one failed.
answers() {
	{ "$@" $TRIES 2>/dev/null || echo error; } | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# node_test NS IPTABLES
node_test() {
	ns=$1 ipt=$2
	check_eq "$ns: $ipt is $3" "$3" \
		"$(nx "$ns" "$ipt" -V | sed -n 's/.*(\(.*\)).*/\1/p')"
	check_eq "$ns: 4 IPVS services with 2 masq destinations each" 8 \
		"$(nx "$ns" ipvsadm -Ln | grep -c ' Masq ')"
	check_eq "$ns: tcp $VIP4:80 reaches both backends" "b1 b2" \
		"$(answers http_get "$ns" "http://$VIP4/")"
	check_eq "$ns: udp $VIP4:53 reaches both backends" "b1 b2" \
		"$(answers udp_ask "$ns" "$VIP4" 53)"
	check_eq "$ns: tcp [$VIP6]:80 reaches both backends" "b1 b2" \
		"$(answers http_get "$ns" "http://[$VIP6]/")"
	check_eq "$ns: udp [$VIP6]:53 reaches both backends" "b1 b2" \
		"$(answers udp_ask "$ns" "$VIP6" 53)"
	# Packets matched by the RETURN rule in nat OUTPUT: one per new
	# connection (TCP or UDP) to a VIP.
	check_eq "$ns: ipset RETURN rule matched the IPv4 VIP connections" $((2 * TRIES)) \
		"$(nx "$ns" "$ipt" -t nat -L OUTPUT -n -v -x | awk '/match-set/ { print $1 }')"
	check "$ns: IPVS kept the connections in conntrack" \
		nx "$ns" sh -c "grep -q 'dst=$VIP4' /proc/net/nf_conntrack"
}

node_setup node-nft iptables-nft ip6tables-nft 1
node_setup node-legacy iptables-legacy ip6tables-legacy 2
node_test node-nft iptables-nft nf_tables
node_test node-legacy iptables-legacy legacy
vm_done
