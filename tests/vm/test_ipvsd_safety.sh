#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ipvsd's safety checks on a real kernel (tests/vm/run.sh
# tests/vm/test_ipvsd_safety.sh BUILD_DIR):
# - the four net.ipv4.vs sysctls ipvsd sets (ipvsd.8, SYSCTLS);
# - its VIP interface deleted, or set down, behind its back is repaired at
#   the next full pass (--reconcile-interval 1);
# - without CAP_NET_ADMIN, or with an unknown --scheduler: a clear error and
#   a non-zero exit, nothing programmed.
set -eu
. "$(dirname "$0")/lib.sh"
vm_only "${1:-build}" ipvsadm setpriv:util-linux

RUN=$VM_TMP/run
SPEC=$VM_TMP/spec
IFACE=l4lbsafe
mkdir -p "$RUN"
ns_new node
n() { nx node "$@"; }

echo "vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.0.11" >"$SPEC"
"$B/tests/tools/ipvsd_feed" "$RUN" "$SPEC" >"$VM_TMP/feed.log" 2>&1 &
FEED=$!
# --reachability-wait 0: the feeder publishes no reachability, so the 2 s
# wait for one at start would only delay the test
ip netns exec "${VM_NS}node" "$B/ipvsd" --run-dir "$RUN" --state-dir "$VM_TMP/state" \
	--interface "$IFACE" --reconcile-interval 1 --reachability-wait 0 --http-listen off \
	>"$VM_TMP/ipvsd.log" 2>&1 &
# (one process each: the output looked into by the shell, not by grep)
has_vip() { _a=$(n ip addr show dev "$IFACE" 2>/dev/null) && vm_has "*inet 11.0.0.1/32 *" "$_a"; }
is_up() { # UP among the link's flags, <...>
	_l=$(n ip -o link show dev "$IFACE" 2>/dev/null) || return 1
	_l=${_l#*<}
	case ",${_l%%>*}," in *,UP,*) return 0 ;; esac
	return 1
}
check "ipvsd programs the VIP address" wait_until 60 has_vip

sysctl_is() { [ "$(n cat "/proc/sys/net/ipv4/vs/$1")" = "$2" ]; }
for s in conntrack expire_nodest_conn expire_quiescent_template conn_reuse_mode; do
	check "sysctl net.ipv4.vs.$s = 1" sysctl_is "$s" 1
done

n ip link del "$IFACE"
check "a deleted VIP interface is created again with its address" wait_until 20 has_vip
n ip link set "$IFACE" down
check "a VIP interface set down is set up again" wait_until 20 is_up
logged() {
	grep -q 'had disappeared: created again' "$VM_TMP/ipvsd.log" &&
		grep -q "setting $IFACE up" "$VM_TMP/ipvsd.log"
}
check "the repairs are logged" logged

# Without CAP_NET_ADMIN (dropped from the bounding and inheritable sets:
# root keeps no other capability over exec).
mkdir -p "$VM_TMP/run2"
rc=0
n timeout 30 setpriv --inh-caps=-all --bounding-set=-net_admin -- "$B/ipvsd" \
	--run-dir "$VM_TMP/run2" --state-dir "$VM_TMP/state2" --interface l4lbcap \
	--http-listen off >"$VM_TMP/nocap.log" 2>&1 || rc=$?
check_eq "without CAP_NET_ADMIN: exit status 1" 1 "$rc"
check "without CAP_NET_ADMIN: the error names it" grep -q 'CAP_NET_ADMIN' "$VM_TMP/nocap.log"
no_link() { # NAME: ip itself says the node has no such link
	_o=$(ip -n "${VM_NS}node" link show dev "$1" 2>&1) && return 1
	case $_o in *"does not exist"*) return 0 ;; esac
	echo "$_o"
	return 1
}
check "without CAP_NET_ADMIN: no interface made" no_link l4lbcap

rc=0
n timeout 30 "$B/ipvsd" --run-dir "$VM_TMP/run2" --state-dir "$VM_TMP/state2" \
	--interface l4lbsched --scheduler bogus --http-listen off >"$VM_TMP/sched.log" 2>&1 ||
	rc=$?
check_eq "unknown --scheduler: exit status 2" 2 "$rc"
check "unknown --scheduler: the error names it" grep -q 'bogus: not an IPVS scheduler' \
	"$VM_TMP/sched.log"
check "unknown --scheduler: nothing programmed" no_link l4lbsched

kill "$FEED"
vm_done
