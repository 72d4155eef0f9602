# SPDX-License-Identifier: Apache-2.0
#
# The second part of the end-to-end tests (sourced by
# tests/vm/test_e2e_failure.sh, on the 3-node cluster it started), failure
# drills in this order:
# - node 3's traffic dropped: its backend withheld on n1 and n2 (the time per
#   node is reported, target 1 s), still withheld once its daemons are killed,
#   requests keep succeeding; back on n1 and n2 when it returns;
# - bad IPC input (garbage, 20 MB, empty; SP-framed and raw bytes) to every
#   socket of every daemon of n1: nothing changes, every daemon answers;
# - master outage (stopped, 500, truncated, malformed): IPVS unchanged on
#   every node, every daemon answers; updates resume when it returns;
# - clean shutdown of every daemon: the kernel state stays, traffic flows;
# - `ipvsd --cleanup` (n1) and `l4lbctl cleanup` (n2) remove everything l4lb
#   created.
all_same() { for _i in 1 2 3; do ipvs_dump "$_i" | cmp -s - "$VM_TMP/ipvs$_i" || return 1; done; }
snapshot() { for _i in 1 2 3; do ipvs_dump "$_i" >"$VM_TMP/ipvs$_i"; done; }
# alive: every daemon of every node answers its control socket (a few tries
# each: the emulated VM is often starved of CPU, a dead daemon still fails).
alive() { for _i in 1 2 3; do
	wait_until 20 node_answers "$_i" vipd overlayd ipvsd ||
		{ echo "n$_i: $(node_answers "$_i" vipd overlayd ipvsd)"; return 1; }
done; }
# withholds I IP: node I sends no new connection of any of the three VIPs to
# a backend at IP (none listed with a weight above 0: serving's test, for
# the three at once from one ipvsadm run). Each of the three must be listed:
# an empty or failed listing would otherwise pass.
withholds() {
	nx "n$1" ipvsadm -Ln | awk -v want="TCP $IP_VIP:80,TCP $WEB_VIP:80,UDP $UDP_VIP:53" \
		-v ip="$2:" '
		BEGIN { n = split(want, w, ","); for (i = 1; i <= n; i++) watched[w[i]] = 1 }
		$1 == "TCP" || $1 == "UDP" { s = $1 " " $2; if (s in watched) listed[s] = 1 }
		$1 == "->" && (s in watched) && index($2, ip) == 1 && $4 > 0 {
			print s " still sends to " $2; bad = 1
		}
		END {
			for (i = 1; i <= n; i++)
				if (!(w[i] in listed)) { print w[i] " not in IPVS"; bad = 1 }
			exit bad
		}'
}
# full I: node I sends new connections of every VIP to every node's backend
# (serving, for all nine at once: one ipvsadm run).
full() {
	nx "n$1" ipvsadm -Ln | awk -v want="TCP $IP_VIP:80,TCP $WEB_VIP:80,UDP $UDP_VIP:53" '
		$1 == "TCP" || $1 == "UDP" { s = $1 " " $2 }
		$1 == "->" && $4 > 0 { split($2, a, ":"); up[s "|" a[1]] = 1 }
		END {
			n = split(want, w, ",")
			for (i = 1; i <= n; i++) for (j = 1; j <= 3; j++)
				if (!((w[i] "|10.0.0." j) in up)) { print w[i] " not to 10.0.0." j; exit 1 }
		}'
}
tcp_ok() {
	cl_count "$1" get "$WEB_VIP" 80 20 >/dev/null && cl_count "$1" get "$IP_VIP" 80 20 >/dev/null
}

# What the first part did (restarts of n1's daemons, a task added and
# removed) must be over: every node again uses every node's backend.
check "failure drills start from a whole cluster: every node uses every backend" \
	wait_until 30 all_nodes full

section "node failure: traffic dropped, then the node's daemons killed"
if ipvs_watch "$VM_TMP/w" 20 tcp "$IP_VIP:80" 10.0.0.3 out "1 2" \
	nsenter --net="/run/netns/${VM_NS}n3" sh -c \
	'iptables -I INPUT -i lan -j DROP && iptables -I OUTPUT -o lan -j DROP'; then
	pass "node dropped: its backend withheld on every other node"
else
	fail "node dropped: its backend withheld on every other node" "$(lat_line "$VM_TMP/w")"
fi
echo "INFO: n3's backend withheld (no new connections) after its traffic was dropped:" \
	"$(lat_line "$VM_TMP/w") (target 1000 ms)"
echo "INFO: overlayd declared n3 unreachable after: n1 $(seen "$VM_TMP/w" 1 10.0.0.3 unreachable)" \
	"ms, n2 $(seen "$VM_TMP/w" 2 10.0.0.3 unreachable) ms"
# withheld I IP: withholds within 5 s, else its reason. The watch saw the IP
# VIP's backend withheld; the other two VIPs' may still be going in.
withheld() { wait_until 5 withholds "$@" || withholds "$@"; }
for i in 1 2; do
	check "node dropped: n$i withholds n3 from every VIP" withheld "$i" 10.0.0.3
done
for d in vipd overlayd ipvsd; do node_kill 3 "$d" KILL; done
for i in 1 2; do
	check "node killed: n$i still withholds n3" withholds "$i" 10.0.0.3
	check "node down: 20 requests from n$i to each TCP VIP succeed" tcp_ok "$i"
done
# n3 comes back still cut off, then the cut is lifted: the clock runs from there
for d in overlayd vipd ipvsd; do node_spawn 3 "$d"; done
node_wait 3 overlayd vipd ipvsd || fail "n3: its daemons restart"
if ipvs_watch "$VM_TMP/w" 30 tcp "$IP_VIP:80" 10.0.0.3 up "1 2" \
	nsenter --net="/run/netns/${VM_NS}n3" sh -c \
	'iptables -D INPUT -i lan -j DROP && iptables -D OUTPUT -o lan -j DROP'; then
	pass "node returns: its backend is used again on every other node"
else
	fail "node returns: its backend is used again on every other node" \
		"$(lat_line "$VM_TMP/w")"
fi
echo "INFO: n3's backend back after its traffic was let through: $(lat_line "$VM_TMP/w")"
echo "INFO: overlayd declared n3 reachable after: n1 $(seen "$VM_TMP/w" 1 10.0.0.3 reachable)" \
	"ms, n2 $(seen "$VM_TMP/w" 2 10.0.0.3 reachable) ms"
check "node returns: every node uses every backend again" wait_until 30 all_nodes full

section "bad IPC input, to every socket of every daemon of n1"
snapshot
head -c 1000 /dev/urandom >"$VM_TMP/garbage"
head -c $((20 << 20)) /dev/zero >"$VM_TMP/huge"
: >"$VM_TMP/empty"
run1=$(node_dir 1)/run
for d in vipd overlayd ipvsd; do wc -c <"$(node_dir 1)/$d.log" >"$VM_TMP/$d.logsize"; done
# all at once. Each reply is awaited (up to 20 s: reading and refusing the
# 20 MB input, under the size limit, takes seconds in the emulated VM), so
# that each input is known to have been read whole.
pids=
for s in vipd.rep overlayd.rep ipvsd.rep; do
	for f in garbage huge empty; do
		"$B/tests/tools/ipc_peer" raw "ipc://$run1/$s" "$VM_TMP/$f" 20000 \
			>"$VM_TMP/$s.$f.out" 2>&1 &
		pids="$pids $!"
	done
done
for s in vipd.rep vipd.pub overlayd.rep overlayd.pub ipvsd.rep; do
	net unix "$run1/$s" "$VM_TMP/garbage" >/dev/null 2>&1 &
	pids="$pids $!"
done
wait $pids
# (each answer read by the shell: a grep per answer is a process start)
refused() { for _s in vipd.rep overlayd.rep ipvsd.rep; do
	for _f in garbage huge empty; do
		_ok=
		while IFS= read -r _line || [ -n "$_line" ]; do
			case $_line in "reply error: "*) _ok=1 ;; esac
		done <"$VM_TMP/$_s.$_f.out"
		[ -n "$_ok" ] || { echo "$_s, $_f: $(cat "$VM_TMP/$_s.$_f.out")"; return 1; }
	done
done; }
check "bad IPC input: every input to every socket read and answered with an error" refused
check "bad IPC input: every daemon still answers" alive
# the input did reach each daemon: it counted and logged it (in the log
# lines written since the input was sent)
logged() { for _d in vipd overlayd ipvsd; do
	tail -c "+$(($(cat "$VM_TMP/$_d.logsize") + 1))" "$(node_dir 1)/$_d.log" |
		grep -q ipc_rx_malformed || { echo "$_d logged nothing"; return 1; }
done; }
check "bad IPC input: vipd, overlayd and ipvsd of n1 logged it as malformed" logged
check "bad IPC input: IPVS unchanged on every node" all_same

section "master outage"
# vipd runs in the VM's root namespace; "stopped" is a refused connection
# (the fake master picks its port at start, so it is not restarted).
# failing: every node's vipd failed another request to the master since the
# mode changed (status_counter reads each count when it starts, after the
# change, and waits for each to grow: one process polling, not one per node
# and try; vipd retries within its backoff, at most 100 ms here); then IPVS
# must still be what it was.
failing() {
	"$B/tests/tools/status_counter" --grows 20000 vipd master_errors \
		"$(node_dir 1)/run" "$(node_dir 2)/run" "$(node_dir 3)/run" ||
		{ echo "a vipd made no failed request"; return 1; }
	all_same
}
read -r port <"$VM_TMP/master.port"
# new requests get 500 from now on; the open streams are cut, then the port
# refuses connections
fm 'mode 500'
fm drop
iptables -I INPUT -i lo -p tcp --dport "$port" -j REJECT --reject-with tcp-reset
check "master stopped: IPVS unchanged on every node" failing
iptables -D INPUT -i lo -p tcp --dport "$port" -j REJECT --reject-with tcp-reset
check "master answering 500: IPVS unchanged on every node" failing
fm 'mode truncate'
check "master sending truncated bodies: IPVS unchanged on every node" failing
fm 'mode malformed'
check "master sending malformed bodies: IPVS unchanged on every node" failing
check "master outage: every daemon still answers" alive
fm 'mode ok'
# vipd reconnects within its backoff (at most 100 ms here), then the task
# added on the stream reaches every kernel
if watch_event "$VM_TMP/w" 20 tcp "$IP_VIP:80" 10.0.0.2:8009 up "1 2 3" \
	"$(ev_add web-9 2 8009)"; then
	pass "master back: updates resume on every node"
else
	fail "master back: updates resume on every node" "$(lat_line "$VM_TMP/w")"
fi
echo "INFO: a task added when the master returned, in each node's IPVS after:" \
	"$(lat_line "$VM_TMP/w")"
# watched (ipvs_watch samples every node's IPVS in one process) rather than
# polled with ipvsadm per node and try
if watch_event "$VM_TMP/w" 10 tcp "$IP_VIP:80" 10.0.0.2:8009 gone "1 2 3" \
	"$(ev_update web-9 TASK_FINISHED)"; then
	pass "master back: a finished task is removed everywhere"
else
	fail "master back: a finished task is removed everywhere" "$(lat_line "$VM_TMP/w")"
fi

section "clean shutdown leaves the kernel state (fail static)"
# The watch above followed the IP VIP alone; on the named VIP the task's
# backend drains and is deleted on its own, maybe a drain tick later. A
# reference dump taken half-way would differ from the kernel after the
# shutdown with nothing wrong.
check "master back: the finished task is gone from every VIP of every node" \
	wait_until 10 all_nodes dest_gone 10.0.0.2:8009
for i in 1 2 3; do kernel_dump "$i" >"$VM_TMP/kernel$i"; done
# ipvsd first everywhere: a running ipvsd rightly withholds the backends of
# a node whose overlayd stopped
for d in ipvsd vipd overlayd; do for i in 1 2 3; do node_kill "$i" "$d" TERM; done; done
same_kernel() { kernel_dump "$1" | cmp -s - "$VM_TMP/kernel$1"; }
for i in 1 2 3; do
	check "clean shutdown: IPVS, ipsets and nat rules of n$i unchanged" same_kernel "$i"
	check "clean shutdown: traffic still flows from n$i" cl_count "$i" get "$IP_VIP" 80 5
done

section "cleanup removes everything l4lb created"
# cleaned I: nothing of l4lb left in node I's kernel
cleaned() {
	[ -z "$(nx "n$1" ipvsadm -Sn)" ] || { echo "IPVS services left"; return 1; }
	! nx "n$1" ipset list -n | grep -q l4lb || { echo "ipsets left"; return 1; }
	! nx "n$1" iptables-save -t nat | grep -qi l4lb || { echo "nat rules left"; return 1; }
	! ip -n "${VM_NS}n$1" link show dev minuteman >/dev/null 2>&1 ||
		{ echo "interface left"; return 1; }
}
if nx n1 "$B/ipvsd" --cleanup --run-dir "$(node_dir 1)/run" --state-dir "$(node_dir 1)/state" \
	>"$VM_TMP/cleanup" 2>&1; then
	check "cleanup: ipvsd --cleanup removes everything on n1" cleaned 1
else
	fail "cleanup: ipvsd --cleanup removes everything on n1" "$(tail -n 1 "$VM_TMP/cleanup")"
fi
printf '[ipvsd]\nstate-dir = %s\n' "$(node_dir 2)/state" >"$VM_TMP/n2.conf"
if nx n2 "$B/l4lbctl" --run-dir "$(node_dir 2)/run" cleanup --config "$VM_TMP/n2.conf" \
	>"$VM_TMP/cleanup" 2>&1; then
	check "cleanup: l4lbctl cleanup removes everything on n2" cleaned 2
else
	fail "cleanup: l4lbctl cleanup removes everything on n2" "$(tail -n 1 "$VM_TMP/cleanup")"
fi
check "cleanup: n3 untouched" same_kernel 3
