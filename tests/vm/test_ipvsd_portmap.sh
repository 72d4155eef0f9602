#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Port-mapping DNAT never captures VIP traffic (run it with tests/vm/run.sh
# tests/vm/test_ipvsd_portmap.sh BUILD_DIR). A docker-style port mapping on
# the node (every local address, port 80, DNAT to a "captor" server) would
# take VIP:80 too, as VIP addresses are local; ipvsd's ACCEPT for the VIP
# ipset must keep it off. Then with the mapping in iptables-legacy while
# `iptables` is nft (docker on legacy): --iptables auto must put ipvsd's
# chains in legacy, where the ACCEPT works.
set -eu
. "$(dirname "$0")/lib.sh"
vm_only "${1:-build}" ipvsadm iptables iptables-legacy:iptables iptables-nft:iptables curl

VIP=11.0.0.1
bridge_new lan
ns_new node legacy b1 cap
ns_link lan node 10.0.0.1/24
ns_link lan legacy 10.0.0.2/24
ns_link lan b1 10.0.0.11/24
ns_link lan cap 10.0.0.20/24
serve_http b1 8080 backend
serve_http cap 8080 captor

# portmap NS IPTABLES: docker's shape, a chain of DNATs entered from OUTPUT
# and PREROUTING for every local destination address (and a masquerade, so
# the captor can answer a connection whose source was a VIP).
portmap() {
	nx "$1" "$2" -w -t nat -N PORTMAP
	nx "$1" "$2" -w -t nat -A PORTMAP -p tcp --dport 80 -j DNAT --to-destination 10.0.0.20:8080
	nx "$1" "$2" -w -t nat -A OUTPUT -m addrtype --dst-type LOCAL -j PORTMAP
	nx "$1" "$2" -w -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j PORTMAP
	nx "$1" "$2" -w -t nat -A POSTROUTING -d 10.0.0.20 -j MASQUERADE
}
# start NS: a feed and ipvsd (--iptables auto, the default) in NS.
start() {
	mkdir -p "$VM_TMP/$1"
	echo "vip tcp $VIP 80 10.0.0.11:8080@10.0.0.11" >"$VM_TMP/$1/spec"
	"$B/tests/tools/ipvsd_feed" "$VM_TMP/$1" "$VM_TMP/$1/spec" >"$VM_TMP/$1/feed.log" 2>&1 &
	ip netns exec "$VM_NS$1" "$B/ipvsd" --run-dir "$VM_TMP/$1" --reconcile-interval 2 \
		--state-dir "$VM_TMP/$1/state" >"$VM_TMP/$1/ipvsd.log" 2>&1 &
	echo $! >"$VM_TMP/$1/ipvsd.pid"
}
# answers NS: what three new connections to VIP:80 from NS got, on one line.
answers() { http_get "$1" "http://$VIP/" 3 2>&1 | tr '\n' ' '; }
only() { # NS TEXT: all three answers are TEXT
	_a=$(answers "$1")
	[ "$_a" = "$2 $2 $2 " ] || { echo "got: $_a"; return 1; }
}
served() { # NS: the VIP is programmed and its address is up
	nx "$1" ipvsadm -Ln -t "$VIP:80" | grep -q 10.0.0.11:8080 &&
		nx "$1" ip -o addr show | grep -q " $VIP/"
}
jump() { nx "$1" "$2" -w -t nat -C OUTPUT -j L4LB-VIPS; } # NS IPTABLES

portmap node iptables
start node
check "node: VIP programmed and its address up" wait_until 30 served node
check "node: ipvsd's VIP rule in place (auto: the backend holding the mapping)" \
	wait_until 30 jump node iptables-nft
check "node: VIP traffic reaches the backend, not the port mapping" only node backend
# Without the ACCEPT the mapping takes VIP traffic: what the check above
# would have seen had ipvsd not kept it off (ipvsd stopped meanwhile, so
# that its periodic check does not put the ACCEPT back mid-way).
kill -STOP "$(cat "$VM_TMP/node/ipvsd.pid")"
nx node iptables -w -t nat -D OUTPUT -j L4LB-VIPS
check "node: without ipvsd's VIP rule the port mapping captures VIP traffic" only node captor
kill -CONT "$(cat "$VM_TMP/node/ipvsd.pid")"
check "node: the VIP rule is put back at the next full reconcile" \
	wait_until 60 jump node iptables-nft
check "node: ... and VIP traffic reaches the backend again" wait_until 20 only node backend
check "node: ipvsd's jump comes before the mapping's in OUTPUT" sh -c \
	"ip netns exec ${VM_NS}node iptables -w -t nat -S OUTPUT | sed -n 2p | grep -q L4LB-VIPS"

# docker on iptables-legacy while `iptables` is nft: an ACCEPT in nft's nat
# table would not stop legacy's DNAT.
portmap legacy iptables-legacy
start legacy
check "legacy: VIP programmed and its address up" wait_until 30 served legacy
check "legacy: auto chose the backend holding the mapping" \
	wait_until 10 grep -q "rules through iptables-legacy and ip6tables-legacy" \
	"$VM_TMP/legacy/ipvsd.log"
check "legacy: ipvsd's chains are in iptables-legacy" wait_until 30 jump legacy iptables-legacy
check "legacy: VIP traffic reaches the backend, not the port mapping" only legacy backend
kill -STOP "$(cat "$VM_TMP/legacy/ipvsd.pid")"
nx legacy iptables-legacy -w -t nat -D OUTPUT -j L4LB-VIPS
check "legacy: without the VIP rule in legacy the mapping captures it" only legacy captor

kill -CONT "$(cat "$VM_TMP/legacy/ipvsd.pid")"
for d in node legacy; do kill "$(cat "$VM_TMP/$d/ipvsd.pid")" 2>/dev/null || true; done
if [ -s "$VM_TMP/failed" ]; then
	for d in node legacy; do sed "s/^/# $d: /" "$VM_TMP/$d/ipvsd.log" | tail -n 15; done
	nx node iptables -w -t nat -L -v -n -x | sed 's/^/# node nat: /'
	nx node ipvsadm -Ln | sed 's/^/# node ipvs: /'
fi

# --cleanup removes ipvsd's chains from every backend: here legacy (this
# start's choice) and nft (as an earlier start with no docker yet chose).
gone() { ! kill -0 "$(cat "$VM_TMP/legacy/ipvsd.pid")" 2>/dev/null; }
wait_until 20 gone
nx legacy iptables-nft -w -t nat -N L4LB-MASQ
nx legacy iptables-nft -w -t nat -A POSTROUTING -j L4LB-MASQ
check "legacy: ipvsd --cleanup succeeds" nx legacy "$B/ipvsd" --cleanup \
	--run-dir "$VM_TMP/legacy" --state-dir "$VM_TMP/legacy/state"
check "legacy: no chain or jump of ipvsd's left in legacy nor in nft" sh -c \
	"! { ip netns exec ${VM_NS}legacy iptables-legacy-save -t nat;
	     ip netns exec ${VM_NS}legacy iptables-nft-save -t nat; } | grep L4LB"
vm_done
