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
start_ipvsd() { # not through ipvsd(): $! must be the daemon itself
	ip netns exec "${VM_NS}node" "$B/ipvsd" --run-dir "$RUN" --state-dir "$STATE" \
		--interface "$IFACE" --reconcile-interval 2 >>"$VM_TMP/ipvsd.log" 2>&1 &
	echo $! >"$VM_TMP/ipvsd.pid"
}
stop_ipvsd() {
	kill "$(cat "$VM_TMP/ipvsd.pid")"
	wait_until 10 sh -c "! kill -0 $(cat "$VM_TMP/ipvsd.pid") 2>/dev/null"
}
has_svc() { n ipvsadm -Ln "$@" >/dev/null 2>&1; }
rules_in_place() {
	n iptables -w -t nat -C OUTPUT -j L4LB-VIPS &&
		n ip6tables -w -t nat -C POSTROUTING -j L4LB-MASQ
}
programmed() {
	has_svc -t 11.0.0.1:80 && has_svc -u "[fd01:c::1]:53" && has_svc -t 10.9.9.9:80 &&
		n ip addr show dev $IFACE | grep -q 10.9.9.9 && rules_in_place
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
check "an IP VIP removed while ipvsd was down is removed after the restart" \
	wait_until 20 sh -c "! ip netns exec ${VM_NS}node ipvsadm -Ln -t 10.9.9.9:80"
check "... its address too" wait_until 10 sh -c \
	"! ip netns exec ${VM_NS}node ip addr show dev $IFACE | grep -q 10.9.9.9"
check "... and it leaves the state file" wait_until 10 sh -c \
	"! grep -q 10.9.9.9 '$STATE/ipvsd.state'"
check "the rest stays: owned services and the foreign one" sh -c \
	"ip netns exec ${VM_NS}node ipvsadm -Ln -t 11.0.0.1:80 >/dev/null &&
	ip netns exec ${VM_NS}node ipvsadm -Ln -t 192.168.50.1:80 |
	grep -q '10.0.0.99:80 *Masq *3 '"

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
	"ip netns exec ${VM_NS}node '$B/ipvsd' --run-dir '$RUN' --state-dir '$STATE' \
	--interface $IFACE --cleanup >'$VM_TMP/cleanup.log' 2>&1"
check_eq "only the foreign service is left in IPVS" "-A -t 192.168.50.1:80 -s rr" \
	"$(n ipvsadm -Sn | grep '^-A')"
check "no l4lb ipset is left" sh -c "! ip netns exec ${VM_NS}node ipset list -n | grep -q l4lb"
check "no l4lb chain or jump is left (IPv4 and IPv6)" sh -c \
	"! ip netns exec ${VM_NS}node iptables-save -t nat | grep -q L4LB &&
	! ip netns exec ${VM_NS}node ip6tables-save -t nat | grep -q L4LB"
check "the interface ipvsd created is gone" sh -c \
	"! ip netns exec ${VM_NS}node ip link show dev $IFACE 2>/dev/null"
check "the state file is gone" test ! -e "$STATE/ipvsd.state"
check "--cleanup again: nothing to do, exit 0" ipvsd --cleanup

# --- an interface ipvsd found is kept (its VIP addresses go) ---
IFACE=keep0
n ip link add name $IFACE type dummy
n ip link set dev $IFACE up
start_ipvsd
check "ipvsd uses an interface it did not create" wait_until 60 sh -c \
	"ip netns exec ${VM_NS}node ip addr show dev $IFACE | grep -q 11.0.0.1"
stop_ipvsd
printf '[ipvsd]\nstate-dir = %s\ninterface = %s\n' "$STATE" $IFACE >"$VM_TMP/l4lb.conf"
check "l4lbctl cleanup --json with it: exit 0, 2 services and 2 addresses removed" sh -c \
	"ip netns exec ${VM_NS}node '$B/l4lbctl' --run-dir '$RUN' cleanup --json \
	--config '$VM_TMP/l4lb.conf' 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert d[\"result\"] == \"done\" and d[\"exit_status\"] == 0 and d[\"ipvs\"], d
assert d[\"removed\"] == {\"services\": 2, \"vip_addresses\": 2, \"interface\": None}, d'"
check "an interface ipvsd did not create stays, without the VIPs" sh -c \
	"ip netns exec ${VM_NS}node ip link show dev $IFACE >/dev/null &&
	! ip netns exec ${VM_NS}node ip addr show dev $IFACE | grep -q 'inet.*11.0.0.1'"
check "cleanup logs what it removed" grep -q "cleanup: done" "$VM_TMP/cleanup.log"
vm_done
