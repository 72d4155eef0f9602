#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Port-mapping DNAT never captures VIP traffic (run it with tests/vm/run.sh
# tests/vm/test_ipvsd_portmap.sh BUILD_DIR). A docker-style port mapping on
# the node (every local address, port 80, DNAT to a "captor" server) would
# take VIP:80 too, as VIP addresses are local; ipvsd's ACCEPT for the VIP
# ipset must keep it off, from the node (OUTPUT) and from a container behind
# a bridge (PREROUTING), also after a DNAT jump is inserted above ipvsd's and
# after the sets are destroyed behind its back; and its masquerade must come
# before a RETURN in POSTROUTING. A backend on the node itself
# behind a port mapping is reached at its task address. Then with the
# mapping in iptables-legacy while `iptables` is nft (docker on legacy):
# --iptables auto must put ipvsd's chains in legacy, where the ACCEPT works.
set -eu
. "$(dirname "$0")/lib.sh"
vm_only "${1:-build}" ipvsadm ipset iptables iptables-legacy:iptables iptables-nft:iptables

VIP=11.0.0.1
bridge_new lan
ns_new node legacy b1 cap ctr
ns_link lan node 10.0.0.1/24
ns_link lan legacy 10.0.0.2/24
ns_link lan b1 10.0.0.11/24
ns_link lan cap 10.0.0.20/24
# The node also holds a container behind a bridge: a port-mapped task (HTTP
# on 80, mapped from the node's port 31000) and a client of the VIPs.
ip -n "${VM_NS}node" -batch - <<EOF
link add docker0 type bridge
addr add 172.17.0.1/16 dev docker0
link set dev docker0 up
link add veth-ctr type veth peer name eth0 netns ${VM_NS}ctr
link set dev veth-ctr master docker0 up
EOF
ip -n "${VM_NS}ctr" -batch - <<EOF
addr add 172.17.0.2/16 dev eth0
link set dev eth0 up
route add default via 172.17.0.1
EOF
serve_http b1 8080 backend
serve_http cap 8080 captor
nx node sysctl -qw net.ipv4.ip_forward=1
serve_http ctr 80 task

# portmap NS IPTABLES: docker's shape, a chain of DNATs entered from OUTPUT
# and PREROUTING for every local destination address (and a masquerade, so
# the captor can answer a connection whose source was a VIP); in one
# IPTABLES-restore process.
portmap() {
	nx "$1" "$2-restore" -w --noflush <<EOF
*nat
:PORTMAP - [0:0]
-A PORTMAP -p tcp --dport 80 -j DNAT --to-destination 10.0.0.20:8080
-A OUTPUT -m addrtype --dst-type LOCAL -j PORTMAP
-A PREROUTING -m addrtype --dst-type LOCAL -j PORTMAP
-A POSTROUTING -d 10.0.0.20 -j MASQUERADE
COMMIT
EOF
}
# start NS [IPVSD_ARGS...]: a feed and ipvsd (--iptables auto, the default)
# in NS; the feed's table is $VM_TMP/NS/spec (written beforehand, or else the
# VIP to b1 alone). The feed publishes no reachability, and nothing here is
# about waiting for it: ipvsd plans at once (--reachability-wait 0) instead
# of after 2 s. A full pass (which repairs the rules; the checks below wait
# for that) every second, the shortest period ipvsd takes; a nat rules check
# still running is not started again, so a slow one is not doubled.
start() {
	_ns=$1
	shift
	mkdir -p "$VM_TMP/$_ns"
	[ -s "$VM_TMP/$_ns/spec" ] ||
		echo "vip tcp $VIP 80 10.0.0.11:8080@10.0.0.11" >"$VM_TMP/$_ns/spec"
	"$B/tests/tools/ipvsd_feed" "$VM_TMP/$_ns" "$VM_TMP/$_ns/spec" \
		>"$VM_TMP/$_ns/feed.log" 2>&1 &
	ip netns exec "$VM_NS$_ns" "$B/ipvsd" --run-dir "$VM_TMP/$_ns" \
		--state-dir "$VM_TMP/$_ns/state" --reconcile-interval 1 --reachability-wait 0 \
		"$@" >"$VM_TMP/$_ns/ipvsd.log" 2>&1 &
	echo $! >"$VM_TMP/$_ns/ipvsd.pid"
}
# has TEXT STRING: TEXT holds STRING; has_line TEXT LINE: one of TEXT's
# lines is LINE (a shell case on output read once, not a grep process)
has() { case $1 in *"$2"*) return 0 ;; esac; return 1; }
has_line() {
	case "
$1
" in
	*"
$2
"*) return 0 ;;
	esac
	return 1
}
# get NS N [ADDR[:PORT]]: N HTTP requests from NS to ADDR (default the VIP),
# port 80 unless given, each on a new connection (IPVS schedules each
# afresh), one process; prints "ANSWER COUNT" lines, "FAILED COUNT" for the
# failed ones, exit 1 if any failed. tests/tools/e2e_net rather than curl:
# curl is not what is tested here, and its start costs ~0.12 s under TCG.
# 2 s per connect and per answer, as curl's --max-time was.
get() {
	_ip=${3:-$VIP}
	case $_ip in *:*) _port=${_ip#*:} _ip=${_ip%:*} ;; *) _port=80 ;; esac
	E2E_TIMEOUT_MS=2000 nx "$1" "$B/tests/tools/e2e_net" get "$_ip" "$_port" "$2"
}
only() { # NS TEXT [ADDR[:PORT]]: three new connections all answered TEXT
	_a=$(get "$1" 3 "${3:-}" 2>&1)
	[ "$_a" = "$2 3" ] || { echo "got: $_a" | tr '\n' ' '; return 1; }
}
served() { # NS: the VIP is programmed and its address is up
	# (the address first: it comes last, after ipvsd's first nat rules check)
	_a=$(ip -n "$VM_NS$1" -o addr show) && has "$_a" " $VIP/" &&
		_s=$(nx "$1" ipvsadm -Ln -t "$VIP:80") && has "$_s" 10.0.0.11:8080
}
jump() { nx "$1" "$2" -w -t nat -C OUTPUT -j L4LB-VIPS; } # NS IPTABLES
first() { # NS IPTABLES CHAIN...: ipvsd's jump is rule 1 of each CHAIN
	_ns=$1 _ipt=$2
	shift 2
	for _c; do
		_r=$(nx "$_ns" "$_ipt" -w -t nat -S "$_c" 1 2>/dev/null)
		[ "$_r" = "-A $_c -j L4LB-VIPS" ] || return 1
	done
}
one_jump() { # CHAIN...: node's CHAIN holds exactly one jump to L4LB-VIPS
	for _c; do
		_n=$(nx node iptables -w -t nat -S "$_c" 2>/dev/null |
			grep -cxF -- "-A $_c -j L4LB-VIPS") || true
		[ "$_n" = 1 ] || { echo "$_c: $_n jumps"; return 1; }
	done
}
# pause NS / resume NS: stop ipvsd in NS (so that its periodic pass cannot
# repair an edit while a check looks at what the edit does) / let it go on
pause() { read -r _p <"$VM_TMP/$1/ipvsd.pid" && kill -STOP "$_p"; }
resume() { read -r _p <"$VM_TMP/$1/ipvsd.pid" && kill -CONT "$_p"; }
node_count() { "$B/tests/tools/status_counter" "$VM_TMP/node" ipvsd "$1"; }
passes() { [ "$(node_count full_reconciles)" -ge "$1" ]; } # N: full passes so far

portmap node iptables
# the task's own mapping: the node's port 31000 to the container's 80
nx node iptables -w -t nat -A PORTMAP -p tcp --dport 31000 -j DNAT --to-destination 172.17.0.2:80
mkdir -p "$VM_TMP/node"
{
	echo "vip tcp $VIP 80 10.0.0.11:8080@10.0.0.11"
	echo "vip tcp 11.0.0.2 80 10.0.0.1:31000@10.0.0.1=172.17.0.2:80"
} >"$VM_TMP/node/spec"
start node --node-ip 10.0.0.1
# The legacy half's ipvsd (below) starts now, so that its start-up overlaps
# the node's (its namespace is its own: nothing here touches it until then).
portmap legacy iptables-legacy
start legacy
check "node: VIP programmed and its address up" wait_until 30 served node
check "node: ipvsd's VIP rule in place (auto: the backend holding the mapping)" \
	wait_until 30 jump node iptables-nft
# batched NS BACKEND: "V4 V6 PIECES", how ipvsd put its nat pieces in so
# far: by BACKEND's iptables-restore (V4) and ip6tables-restore (V6), all 7
# at once, or by a command each (PIECES)
batched() {
	_t=$(cat "$VM_TMP/$1/ipvsd.log") # (vm_count reads lines into _l)
	_b="-$2-restore -w --noflush (all 7 pieces in one restore*"
	vm_count "*nat: put in place: iptables$_b" "$_t"
	_r4=$VM_N
	vm_count "*nat: put in place: ip6tables$_b" "$_t"
	_r6=$VM_N
	vm_count "*nat: put in place: *" "$_t"
	echo "$_r4 $_r6 $((VM_N - _r4 - _r6))"
}
# (the first check is over: the address went in after it)
check_eq "node: a fresh table's pieces went in by one restore per family, none by itself" \
	"1 1 0" "$(batched node nft)"
# The legacy half's ipvsd, once started up too, is paused until its checks
# below: its periodic passes (each with a nat rules check, iptables
# processes) would only compete for the CPU meanwhile.
if wait_until 30 grep -q "initial reconcile done" "$VM_TMP/legacy/ipvsd.log"; then
	pause legacy
fi
check "node: VIP traffic reaches the backend, not the port mapping" only node backend
# Without the ACCEPT the mapping takes VIP traffic: what the check above
# would have seen had ipvsd not kept it off (ipvsd stopped meanwhile, so
# that its periodic check does not put the ACCEPT back mid-way).
pause node
nx node iptables -w -t nat -D OUTPUT -j L4LB-VIPS
check "node: without ipvsd's VIP rule the port mapping captures VIP traffic" only node captor
resume node
check "node: the VIP rule is put back at the next full reconcile" \
	wait_until 60 jump node iptables-nft
check "node: ... and VIP traffic reaches the backend again" wait_until 20 only node backend
check "node: ipvsd's jump comes before the mapping's in OUTPUT" first node iptables OUTPUT

# A backend on this node behind a port mapping (--node-ip is its agent's
# address): IPVS bypasses the mapping's DNAT for the node's own traffic, so
# ipvsd programs the task's own address (the mapped one would not answer).
task_programmed() {
	_l=$(nx node ipvsadm -Ln -t 11.0.0.2:80) && has "$_l" " 172.17.0.2:80 " &&
		! has "$_l" 10.0.0.1:31000
}
check "task: a port-mapped backend on this node is programmed at its task address" \
	wait_until 30 task_programmed
check "task: its port mapping works (the node's port 31000 to the task)" \
	only node task 10.0.0.1:31000
check "task: VIP traffic from the node reaches the task behind its mapping" \
	wait_until 10 only node task 11.0.0.2
# From a container behind a bridge, VIP traffic enters through PREROUTING,
# where the mapping's DNAT waits too.
check "container: VIP traffic from behind the bridge reaches the backend, not the mapping" \
	only ctr backend

# A DNAT jump inserted above ipvsd's (docker restarting) captures VIP traffic
# (ipvsd stopped, so that it cannot repair it mid-way) until the next pass
# moves ipvsd's jump back to the top.
pause node
nx node iptables -w -t nat -I OUTPUT 1 -m addrtype --dst-type LOCAL -j PORTMAP
nx node iptables -w -t nat -I PREROUTING 1 -m addrtype --dst-type LOCAL -j PORTMAP
check "first: a DNAT jump above ipvsd's captures VIP traffic from the node" only node captor
check "first: ... and from the container" only ctr captor
resume node
check "first: ipvsd's jumps are moved back to the top of OUTPUT and PREROUTING" \
	wait_until 60 first node iptables OUTPUT PREROUTING
check "first: ... one jump each" one_jump OUTPUT PREROUTING
check "first: VIP traffic reaches the backend again from the node" wait_until 5 only node backend
check "first: ... and from the container" wait_until 5 only ctr backend

# The sets destroyed behind ipvsd's back (a firewall reload flushed the rules
# using them, then `ipset destroy`), and someone else's set made under the
# IPv6 one's name (which ipvsd can neither read nor repair). The next pass
# makes the IPv4 set again, with its members and its ACCEPT; meanwhile, and
# with the IPv6 set unreadable for good, VIP table changes reach IPVS.
n0=$(node_count full_reconciles)
pause node
nx node iptables -w -t nat -F L4LB-VIPS
nx node ip6tables -w -t nat -F L4LB-VIPS
wait_until 5 nx node ipset destroy l4lb-vips4
wait_until 5 nx node ipset destroy l4lb-vips6
nx node ipset create l4lb-vips6 hash:ip family inet6
resume node
# two passes since n0: at least one after the sets went
check "sets: full passes go on" wait_until 20 passes $((n0 + 2))
echo "vip tcp 11.0.0.3 80 10.0.0.11:8080@10.0.0.11" >>"$VM_TMP/node/spec"
vip3() { _l=$(nx node ipvsadm -Ln -t 11.0.0.3:80) && has "$_l" 10.0.0.11:8080; }
set_made() { _l=$(nx node ipset list l4lb-vips4) && has_line "$_l" 11.0.0.1,tcp:80; }
set_accept() {
	_l=$(nx node iptables -w -t nat -S L4LB-VIPS) && has "$_l" "match-set l4lb-vips4"
}
check "sets: a VIP table change still reaches IPVS" wait_until 10 vip3
check "sets: the destroyed set is made again with its members" wait_until 10 set_made
check "sets: ... and ipvsd's ACCEPT for it is back" wait_until 20 set_accept
check "sets: VIP traffic reaches the backend again" wait_until 5 only node backend
check_eq "sets: the set made again is counted" 1 \
	"$([ "$(node_count ipset_recreated)" -ge 1 ] && echo 1)"
check_eq "sets: the unreadable one is counted" 1 \
	"$([ "$(node_count ipset_read_failures)" -ge 1 ] && echo 1)"
# Rules in place are only read: a check whose reading of rule 1 did not
# match iptables' own output would move the jumps again at every pass, which
# the rules checks of the sets' part would have shown (IPv6's too).
check_eq "first: the jumps were moved once each, by then" 2 \
	"$(grep -c 'moved back to the top' "$VM_TMP/node/ipvsd.log")"

# A RETURN above ipvsd's masquerade jump in POSTROUTING (an ip-masq-agent
# style "no masquerade inside the cluster"): connections to the VIP from the
# node (source: the VIP) and from the container (source: its own address)
# reach the backend unmasqueraded, and it has no route back to either; until
# the next pass moves ipvsd's jump back to the top (v4 and v6).
masq_first() { # NS IPTABLES: ipvsd's masquerade jump is rule 1 of POSTROUTING
	_r=$(nx "$1" "$2" -w -t nat -S POSTROUTING 1 2>/dev/null)
	[ "$_r" = "-A POSTROUTING -j L4LB-MASQ" ]
}
# unanswered NS: one request from NS got no answer, as e2e_net says it
# ("FAILED 1"; not just a failure, which a tool that did not run is too)
unanswered() {
	_a=$(get "$1" 1 2>/dev/null) || :
	[ "$_a" = "FAILED 1" ] || { echo "got: $_a"; return 1; }
}
masq_first_node() { masq_first node iptables && masq_first node ip6tables; }
check "masq: ipvsd's masquerade jump is first in POSTROUTING" masq_first_node
pause node
nx node iptables -w -t nat -I POSTROUTING 1 -d 10.0.0.0/24 -j RETURN
nx node ip6tables -w -t nat -I POSTROUTING 1 -d fd00::/64 -j RETURN
# Each ask waits out its 2 s for an answer, so the container's runs meanwhile.
get ctr 1 >"$VM_TMP/masq-ctr" 2>/dev/null &
ctr_ask=$!
check "masq: a RETURN above it leaves VIP traffic from the node unanswered" unanswered node
wait "$ctr_ask" || :
check_eq "masq: ... and from the container" "FAILED 1" "$(cat "$VM_TMP/masq-ctr")"
resume node
check "masq: the masquerade jump is moved back to the top (v4, v6)" \
	wait_until 60 masq_first_node
check "masq: VIP traffic reaches the backend again from the node" wait_until 5 only node backend
check "masq: ... and from the container" wait_until 5 only ctr backend
check_eq "masq: the RETURNs are kept, below it" 2 \
	"$({ nx node iptables-save -t nat; nx node ip6tables-save -t nat; } | grep -c 'j RETURN')"

# The node half is over: its ipvsd stops now, for the same reason.
read -r _p <"$VM_TMP/node/ipvsd.pid" && kill "$_p"

# docker on iptables-legacy while `iptables` is nft: an ACCEPT in nft's nat
# table would not stop legacy's DNAT.
resume legacy
check "legacy: VIP programmed and its address up" wait_until 30 served legacy
check "legacy: auto chose the backend holding the mapping" \
	wait_until 10 grep -q "rules through iptables-legacy and ip6tables-legacy" \
	"$VM_TMP/legacy/ipvsd.log"
check "legacy: ipvsd's chains are in iptables-legacy" wait_until 30 jump legacy iptables-legacy
check_eq "legacy: ... put in by one iptables-legacy-restore per family" "1 1 0" \
	"$(batched legacy legacy)"
check "legacy: VIP traffic reaches the backend, not the port mapping" only legacy backend
pause legacy
nx legacy iptables-legacy -w -t nat -D OUTPUT -j L4LB-VIPS
nx legacy iptables-legacy -w -t nat -I PREROUTING 1 -m addrtype --dst-type LOCAL -j PORTMAP
nx legacy iptables-legacy -w -t nat -I POSTROUTING 1 -d 10.0.0.11 -j RETURN
check "legacy: without the VIP rule in legacy the mapping captures it" only legacy captor
resume legacy
check "legacy: the jumps are first again (OUTPUT's put back, PREROUTING's moved up)" \
	wait_until 60 first legacy iptables-legacy OUTPUT PREROUTING
check "legacy: the masquerade jump is moved back above a RETURN" \
	wait_until 60 masq_first legacy iptables-legacy
check "legacy: VIP traffic reaches the backend again" wait_until 5 only legacy backend

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
