#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ipvsd's state file and `ipvsd --cleanup` on a real kernel (run it with
# tests/vm/run.sh tests/vm/test_ipvsd_cleanup.sh BUILD_DIR):
# - an IP VIP outside the owned ranges, removed from the VIP table while
#   ipvsd is down, is removed after the restart (the state file knew it);
# - --cleanup refuses while ipvsd runs, and after it stopped removes every
#   service, address, ipset, nat chain and jump of l4lb's, the interface it
#   created (not one it found), and leaves a foreign service alone;
#   `l4lbctl cleanup --json` says what it removed.
set -eu
. "$(dirname "$0")/lib.sh"
vm_only "${1:-build}" ipvsadm ipset iptables

RUN=$VM_TMP/run
STATE=$VM_TMP/state
SPEC=$VM_TMP/spec
mkdir -p "$RUN"
ns_new node
n() { nx node "$@"; }

cat >"$SPEC" <<SPEC
vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.0.11
vip udp fd01:c::1 53 [fd00::11]:5353@10.0.0.11
vip tcp 10.9.9.9 80 10.0.0.11:8080@10.0.0.11
SPEC
"$B/tests/tools/ipvsd_feed" "$RUN" "$SPEC" >"$VM_TMP/feed.log" 2>&1 &

IFACE=l4lbtest
ipvsd() { n "$B/ipvsd" --run-dir "$RUN" --state-dir "$STATE" --interface "$IFACE" "$@"; }
# The feed publishes no reachability, and nothing here is about waiting for
# it: ipvsd plans at once (--reachability-wait 0) instead of after 2 s.
start_ipvsd() { # not through ipvsd(): $! must be the daemon itself
	ip netns exec "${VM_NS}node" "$B/ipvsd" --run-dir "$RUN" --state-dir "$STATE" \
		--interface "$IFACE" --reconcile-interval 2 --reachability-wait 0 \
		>>"$VM_TMP/ipvsd.log" 2>&1 &
	IPVSD=$!
}
gone() { ! kill -0 "$IPVSD" 2>/dev/null; } # (builtins: no process per poll)
stop_ipvsd() {
	kill "$IPVSD"
	wait_until 10 gone
}
has() { case $1 in *"$2"*) return 0 ;; esac; return 1; } # TEXT STRING: TEXT holds it
addrs() { ip -n "${VM_NS}node" addr show dev "$IFACE"; }
has_svc() { n ipvsadm -Ln "$@" >/dev/null 2>&1; }
rules_in_place() {
	n iptables -w -t nat -C OUTPUT -j L4LB-VIPS &&
		n ip6tables -w -t nat -C POSTROUTING -j L4LB-MASQ
}
# (the address first: it comes last, after ipvsd's first nat rules check, so
# a poll until then starts one process)
programmed() {
	_a=$(addrs) && has "$_a" " 10.9.9.9/" &&
		has_svc -t 11.0.0.1:80 && has_svc -u "[fd01:c::1]:53" && has_svc -t 10.9.9.9:80 &&
		rules_in_place
}

n ipvsadm -A -t 192.168.50.1:80 -s rr
n ipvsadm -a -t 192.168.50.1:80 -r 10.0.0.99:80 -m -w 3
start_ipvsd
check "ipvsd programs the table, the addresses and the rules" wait_until 60 programmed
check "the state file records the IP VIP and the interface ipvsd created" sh -c \
	"grep -qx 'vip tcp 10.9.9.9 80' '$STATE/ipvsd.state' &&
	grep -qx 'interface $IFACE created' '$STATE/ipvsd.state' &&
	! grep -q '11.0.0.1' '$STATE/ipvsd.state'"

# --- an IP VIP removed while ipvsd is down ---
stop_ipvsd
grep -v 10.9.9.9 "$SPEC" >"$SPEC.new"
mv "$SPEC.new" "$SPEC"
wait_until 10 grep -q "vips=2" "$VM_TMP/feed.log"
start_ipvsd
# absent from a listing that was read (not merely "ipvsadm failed")
no_svc() { _s=$(n ipvsadm -Sn) && ! vm_has "-A $1 $2 *" "$_s"; }
no_addr() { _a=$(addrs) && ! has "$_a" 10.9.9.9; }
not_in_state() { [ -s "$STATE/ipvsd.state" ] && ! grep -q 10.9.9.9 "$STATE/ipvsd.state"; }
rest_stays() {
	has_svc -t 11.0.0.1:80 && _f=$(n ipvsadm -Ln -t 192.168.50.1:80) &&
		printf '%s\n' "$_f" | grep -q '10.0.0.99:80 *Masq *3 '
}
check "an IP VIP removed while ipvsd was down is removed after the restart" \
	wait_until 20 no_svc -t 10.9.9.9:80
check "... its address too" wait_until 10 no_addr
check "... and it leaves the state file" wait_until 10 not_in_state
check "the rest stays: owned services and the foreign one" rest_stays

# --- cleanup ---
n ipvsadm -Sn | sort >"$VM_TMP/before"
if ipvsd --cleanup >"$VM_TMP/refused.log" 2>&1; then
	fail "--cleanup refuses while ipvsd runs" "it exited 0"
else
	check "--cleanup refuses while ipvsd runs" grep -q "ipvsd is running" "$VM_TMP/refused.log"
fi
n ipvsadm -Sn | sort >"$VM_TMP/after"
check "... and changes nothing" cmp -s "$VM_TMP/before" "$VM_TMP/after"

stop_ipvsd
check "--cleanup exits 0 once ipvsd stopped" sh -c \
	"nsenter --net=/run/netns/${VM_NS}node '$B/ipvsd' --run-dir '$RUN' --state-dir '$STATE' \
	--interface $IFACE --cleanup >'$VM_TMP/cleanup.log' 2>&1"
check_eq "only the foreign service is left in IPVS" "-A -t 192.168.50.1:80 -s rr" \
	"$(n ipvsadm -Sn | grep '^-A')"
no_sets() { _l=$(n ipset list -n) && ! has "$_l" l4lb; }
no_rules() {
	_r=$(n iptables-save -t nat) && ! has "$_r" L4LB &&
		_r=$(n ip6tables-save -t nat) && ! has "$_r" L4LB
}
check "no l4lb ipset is left" no_sets
check "no l4lb chain or jump is left (IPv4 and IPv6)" no_rules
# gone, as ip says it: not a failure of ip for another reason
no_iface() {
	! _o=$(ip -n "${VM_NS}node" link show dev "$IFACE" 2>&1) &&
		vm_has "*does not exist*" "$_o"
}
check "the interface ipvsd created is gone" no_iface
check "the state file is gone" test ! -e "$STATE/ipvsd.state"
check "--cleanup again: nothing to do, exit 0" ipvsd --cleanup

# --- an interface ipvsd found is kept (its VIP addresses go) ---
IFACE=keep0
n ip link add name $IFACE type dummy
n ip link set dev $IFACE up
start_ipvsd
vip_on_iface() { _a=$(addrs) && has "$_a" " 11.0.0.1/"; }
check "ipvsd uses an interface it did not create" wait_until 60 vip_on_iface
stop_ipvsd
printf '[ipvsd]\nstate-dir = %s\ninterface = %s\n' "$STATE" $IFACE >"$VM_TMP/l4lb.conf"
check "l4lbctl cleanup --json with it: exit 0, 2 services and 2 addresses removed" sh -c \
	"nsenter --net=/run/netns/${VM_NS}node '$B/l4lbctl' --run-dir '$RUN' cleanup --json \
	--config '$VM_TMP/l4lb.conf' 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert d[\"result\"] == \"done\" and d[\"exit_status\"] == 0 and d[\"ipvs\"], d
assert d[\"removed\"] == {\"services\": 2, \"vip_addresses\": 2, \"interface\": None}, d'"
# (addrs fails if the interface is gone)
kept_no_vip() { _a=$(addrs) && ! has "$_a" 11.0.0.1; }
check "an interface ipvsd did not create stays, without the VIPs" kept_no_vip
check "cleanup logs what it removed" grep -q "cleanup: done" "$VM_TMP/cleanup.log"
vm_done
