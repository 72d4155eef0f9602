#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# End-to-end failure drills on a real kernel, 3-node cluster. Not yet in
# make check (not named test_*.sh): on the emulated VM it takes ~5 min, and
# the bad-IPC step leaves n1's ipvsd not answering (being investigated).
#   tests/vm/run.sh tests/vm/drill_e2e_failure.sh build
# - every daemon of node 1 killed with SIGKILL and restarted while a /stream
#   connection and a request loop run through a VIP: no failure, no break,
#   the IPVS table identical afterwards;
# - master outage (stopped, 500, truncated bodies): IPVS unchanged everywhere;
# - node 3's traffic dropped, then its daemons killed: its backend withheld on
#   n1 and n2 (time reported); back when it returns;
# - clean shutdown of node 1's daemons leaves its kernel state: traffic flows;
# - bad IPC input (garbage, 20 MB, empty) to every daemon changes nothing.
B=${1:-build}
. tests/vm/lib.sh
. tests/vm/cluster/cluster.sh
vm_require ipvsadm ipvsadm
vm_require curl curl
vm_require nsenter util-linux
vm_require iptables iptables

if ! cluster_up "$B" 3; then
	fail cluster_up "$(dests 1 "$IP_VIP:80")"
	cluster_logs
	vm_done
fi
pass cluster_up
for i in 1 2 3; do ipvs_dump "$i" >"$VM_TMP/ipvs$i.before"; done
same_ipvs() { ipvs_dump "$1" | cmp -s - "$VM_TMP/ipvs$1.before"; }
all_same() { for _i in 1 2 3; do same_ipvs "$_i" || return 1; done; }
alive() { for _i in 1 2 3; do for _d in vipd overlayd ipvsd; do
	node_answers "$_i" "$_d" || { echo "n$_i: $_d does not answer"; return 1; }; done; done; }

# --- restarts under traffic ---
nx n1 curl -sS -N "http://$IP_VIP/stream" >"$VM_TMP/stream" 2>"$VM_TMP/stream.err" &
spid=$!
cl_count 1 loop "$WEB_VIP" 80 "$VM_TMP/stop-loop" >"$VM_TMP/loop" &
lpid=$!
for order in ${E2E_ORDERS:-"ipvsd vipd overlayd" "overlayd ipvsd vipd"}; do
	for d in $order; do
		node_kill 1 "$d" KILL
		node_start 1 "$d" || fail "restart $d" "did not answer again"
	done
done
# the restarted daemons settle (ipvsd reconciles) before the kernel is compared
wait_until 10 same_ipvs 1
touch "$VM_TMP/stop-loop"
wait "$lpid"
read -r ok bad <"$VM_TMP/loop"
echo "INFO: request loop during the SIGKILL restarts: $ok succeeded, $bad failed"
check_eq "restarts: zero failed requests" "0" "$bad"
[ "$ok" -gt 0 ] || fail "restarts: the request loop ran" "no request"
if kill -0 "$spid" 2>/dev/null; then pass "restarts: the stream never broke"
else fail "restarts: the stream never broke" "$(cat "$VM_TMP/stream.err")"; fi
kill "$spid" 2>/dev/null
check "restarts: IPVS on n1 identical afterwards" same_ipvs 1

# --- master outage ---
# vipd runs in the VM's root namespace; "stopped" is a refused connection
# (the fake master picks its port at start, so it is not restarted).
hold() { wait_until "$1" false || true; } # let vipd retry for $1 s (a deadline, no condition)
port=$(cat "$VM_TMP/master.port")
# new requests get 500 from now on; the open SUBSCRIBE streams are cut, then
# the port refuses connections
fm '{"op":"mode","mode":"500"}'
fm '{"op":"drop"}'
iptables -I INPUT -i lo -p tcp --dport "$port" -j REJECT --reject-with tcp-reset
hold 2
check "master stopped: IPVS unchanged on every node" all_same
iptables -D INPUT -i lo -p tcp --dport "$port" -j REJECT --reject-with tcp-reset
hold 2
check "master answering 500: IPVS unchanged on every node" all_same
fm '{"op":"mode","mode":"truncate"}'
hold 2
check "master sending truncated bodies: IPVS unchanged on every node" all_same
fm '{"op":"mode","mode":"malformed"}'
hold 2
check "master sending malformed bodies: IPVS unchanged on every node" all_same
check "master outage: every daemon still answers" alive
fm '{"op":"mode","mode":"ok"}'
t0=$(now_ms)
fm_add web-9 1 8000
if wait_until 10 all_nodes has_dests_on "$IP_VIP:80" 3 tcp && \
	fm_add web-9b 2 8009 && wait_until 10 all_nodes has_dest_on "$IP_VIP:80" 10.0.0.2:8009; then
	pass "master back: updates resume on every node"
	echo "INFO: a new task in every node's IPVS $(($(now_ms) - t0)) ms after the master returned"
else
	fail "master back: updates resume on every node" "$(dests 1 "$IP_VIP:80")"
fi
fm_update web-9b TASK_FINISHED
wait_until 10 all_nodes lacks_dest_on "$IP_VIP:80" 10.0.0.2:8009 ||
	fail "master back: a finished task is removed" "$(dests 1 "$IP_VIP:80")"

# --- node failure: traffic dropped, then the node's daemons killed ---
t0=$(now_ms)
nx n3 iptables -I INPUT -i lan -j DROP
nx n3 iptables -I OUTPUT -o lan -j DROP
withheld() { lacks_dest_on "$IP_VIP:80" 10.0.0.3: "$1"; }
if wait_until 30 withheld 1 && wait_until 30 withheld 2; then
	ms=$(($(now_ms) - t0))
	echo "INFO: n3's backend withheld on n1 and n2 ${ms} ms after its traffic was dropped"
	pass "node dropped: its backend withheld on every other node"
else
	fail "node dropped: its backend withheld on every other node" "$(dests 1 "$IP_VIP:80")"
fi
for d in vipd overlayd ipvsd; do node_kill 3 "$d" KILL; done
check "node killed: still withheld on n1" withheld 1
check "node killed: still withheld on n2" withheld 2
check "node down: 20 requests from n1 succeed" cl_count 1 get "$IP_VIP" 80 20
nx n3 iptables -D INPUT -i lan -j DROP
nx n3 iptables -D OUTPUT -o lan -j DROP
t0=$(now_ms)
for d in overlayd vipd ipvsd; do node_start 3 "$d" || fail "n3: $d restarts"; done
if wait_until 15 all_nodes has_dest_on "$IP_VIP:80" 10.0.0.3:8000; then
	echo "INFO: n3's backend back on every node $(($(now_ms) - t0)) ms after its restart"
	pass "node returns: its backend is used again"
else
	fail "node returns: its backend is used again" "$(dests 1 "$IP_VIP:80")"
fi

# --- clean shutdown leaves the kernel state (fail static) ---
ipvs_dump 1 >"$VM_TMP/ipvs1.before"
for d in vipd overlayd ipvsd; do node_kill 1 "$d" TERM; done
check "clean shutdown: IPVS on n1 unchanged" same_ipvs 1
check "clean shutdown: traffic still flows from n1" cl_count 1 get "$IP_VIP" 80 5
# --- bad IPC input ---
PEER=$B/tests/tools/ipc_peer
if [ -x "$PEER" ]; then
	head -c 1000 /dev/urandom >"$VM_TMP/garbage"
	head -c $((20 << 20)) /dev/zero >"$VM_TMP/huge"
	printf '' >"$VM_TMP/empty"
	for d in vipd overlayd ipvsd; do
		for f in garbage huge empty; do
			"$PEER" raw "ipc://$(node_dir 1)/run/$d.rep" "$VM_TMP/$f" >/dev/null 2>&1 || true
		done
	done
	check "bad IPC input: every daemon still answers" alive
	check "bad IPC input: IPVS unchanged on every node" all_same
else
	skip "bad IPC input" "$PEER not built (make tests)"
fi

[ -s "$VM_TMP/failed" ] && cluster_logs 8
vm_done
