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
vm_only "${1:-build}" ipvsadm ipset iptables-legacy:iptables iptables-nft:iptables \
	iptables-legacy-restore:iptables iptables-nft-restore:iptables sysctl:procps

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
# Each tool gets the node's whole part in one process (ip -batch, ipvsadm
# -R, ipset restore, *tables-restore --noflush, which appends as -A does):
# the same kernel state as one command per object, fewer process starts.
node_setup() {
	ns=$1 ipt=$2 ip6t=$3
	ns_new "$ns"
	ns_link lan "$ns" "10.0.0.$4/24" "fd00::$4/64"
	ip -n "$VM_NS$ns" -batch - <<-EOF
	link add minuteman type dummy
	link set dev minuteman up
	addr add $VIP4/32 dev minuteman
	addr add $VIP6/128 dev minuteman nodad
	EOF

	_rules= _nl=
	for svc in "-t $VIP4:80" "-u $VIP4:53" "-t [$VIP6]:80" "-u [$VIP6]:53"; do
		case $svc in
		*"[$VIP6]"*) b1="[fd00::11]" b2="[fd00::12]" ;;
		*) b1=10.0.0.11 b2=10.0.0.12 ;;
		esac
		case $svc in -t*) port=8080 ;; *) port=5353 ;; esac
		_rules="$_rules$_nl-A $svc -s wlc
-a $svc -r $b1:$port -m -w 1
-a $svc -r $b2:$port -m -w 1"
		_nl="
"
	done
	nx "$ns" ipvsadm -R <<-EOF
	$_rules
	EOF

	nx "$ns" sysctl -qw net.ipv4.vs.conntrack=1
	nx "$ns" ipset restore <<-EOF
	create l4lb-vips hash:ip,port family inet
	create l4lb-vips6 hash:ip,port family inet6
	add l4lb-vips $VIP4,tcp:80
	add l4lb-vips $VIP4,udp:53
	add l4lb-vips6 $VIP6,tcp:80
	add l4lb-vips6 $VIP6,udp:53
	EOF
	# A port-mapping DNAT rule as docker would add, after ours: were the
	# RETURN rule not to match, it would capture the VIP (to nowhere).
	nx "$ns" "$ipt-restore" --noflush <<-EOF
	*nat
	-A POSTROUTING -m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ -j MASQUERADE
	-A OUTPUT -m set --match-set l4lb-vips dst,dst -j RETURN
	-A PREROUTING -m set --match-set l4lb-vips dst,dst -j RETURN
	-A OUTPUT -p tcp -d $VIP4 --dport 80 -j DNAT --to-destination 10.0.0.99:8080
	COMMIT
	EOF
	nx "$ns" "$ip6t-restore" --noflush <<-EOF
	*nat
	-A POSTROUTING -m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ -j MASQUERADE
	-A OUTPUT -m set --match-set l4lb-vips6 dst,dst -j RETURN
	-A PREROUTING -m set --match-set l4lb-vips6 dst,dst -j RETURN
	COMMIT
	EOF
}

# answers CMD...: the distinct answers to TRIES requests (new connections or
# flows, one client process: CMD TRIES), sorted; "error" if one failed.
answers() {
	_a=$({ "$@" $TRIES 2>/dev/null || echo error; } | sort -u)
	echo $_a
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
