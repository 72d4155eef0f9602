#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The soak (make check-long; by hand:
#   L4LB_SOAK_MINUTES=3 L4LB_VM_TIMEOUT=900 tests/vm/run.sh tests/vm/soak.sh build):
# a 3-node cluster (tests/vm/cluster/cluster.sh) under a steady request
# load through the VIPs (tests/tools/soak_load from n1 to the IP VIP and
# from n2 to the named VIP, one request every L4LB_SOAK_INTERVAL_MS) for
# L4LB_SOAK_MINUTES (default 30), with a churn step every L4LB_SOAK_CHURN_S
# seconds (default 5), in turn:
#   add   a task on a node at the master (its backend answering first, as
#         a health-checked task would)
#   kill  the oldest added task (TASK_KILLED; its backend stopped only once
#         no node sends it new connections, as a graceful scheduler would)
#   cut   node 3 off the network, until n1 and n2 withhold its backend (no
#         new connections: TCP backends are drained, not deleted), for a
#         few seconds more, then restore it and wait until it is used again
#   restart  a daemon with SIGKILL (node and daemon in turn)
# Printed: requests and failures, the failures while node 3 was cut off
# (aimed at its backend) and how long each cut took to be withheld, every
# other failure (must be 0) with the churn events around it, and each
# daemon's RSS and fd count over time (no growth for a daemon that ran
# through: fds at most one above the first sample, as ipvsd's nat-check
# child comes and goes; RSS within 25 % + 1 MB). With L4LB_VM_RESULTS set,
# the raw figures are kept there (soak/).
. tests/vm/lib.sh
. tests/vm/cluster/cluster.sh
vm_only "${1:-build}" ipvsadm nsenter:util-linux iptables

MINUTES=${L4LB_SOAK_MINUTES:-30}
CHURN_S=${L4LB_SOAK_CHURN_S:-5}
INTERVAL_MS=${L4LB_SOAK_INTERVAL_MS:-100}
S=$VM_TMP/soak
mkdir -p "$S"
CL_LOG=warn
CL_RECONCILE_S=30 # ipvsd's default: the soak is where its periodic passes run for long

t_up=$(now_ms)
cluster_up_checked "$B" 3
echo "INFO: cluster up in $(($(now_ms) - t_up)) ms; soak for $MINUTES min, churn every ${CHURN_S} s"

# --- measurements ---
sample() { # label: RSS (kB) and fds of every daemon
	for _i in 1 2 3; do
		for _d in vipd overlayd ipvsd; do
			_p=$(cat "$(node_dir "$_i")/$_d.pid" 2>/dev/null || echo 0)
			_r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$_p/status" 2>/dev/null || true)
			_f=$(ls "/proc/$_p/fd" 2>/dev/null | wc -l || true)
			echo "$1 n$_i $_d $_p ${_r:-0} ${_f:-0}" >>"$S/samples"
		done
	done
}
t_start=$(now_ms)
log() { echo "$(($(now_ms) - t_start)) $*" >>"$S/events"; }

nx n1 "$B/tests/tools/soak_load" "$IP_VIP" 80 "$INTERVAL_MS" "$S/stop" >"$S/load1" 2>&1 &
l1=$!
nx n2 "$B/tests/tools/soak_load" "$WEB_VIP" 80 "$INTERVAL_MS" "$S/stop" >"$S/load2" 2>&1 &
l2=$!
sample 0

# --- churn ---
added= next=1 step=0 restarts=0 cuts=0
withheld() { ! serving "$1" "$IP_VIP:80" 10.0.0.3; }
# drained DEST I: node I sends no new connection to DEST (ip:port) of the IP VIP
drained() {
	! nx "n$2" ipvsadm -Ln --tcp-service "$IP_VIP:80" 2>/dev/null |
		awk -v d="$1" '$1 == "->" && $2 == d && $4 > 0 { f = 1 } END { exit !f }'
}
churn_add() {
	_k=$next
	next=$((next + 1))
	_node=$((_k % 3 + 1))
	backend_start "$_node" "churn-$_k" $((8100 + _k))
	wait_until 20 cl_count "$_node" get "$(node_ip "$_node")" $((8100 + _k)) 1 ||
		fail "add churn-$_k: its backend answers" "no answer in 20 s"
	fm_add "churn-$_k" "$_node" $((8100 + _k))
	added="$added $_k"
	log "add churn-$_k on n$_node"
}
churn_kill() {
	set -- $added
	[ $# -gt 0 ] || { churn_add; return; }
	_k=$1
	shift
	added="$*"
	_node=$((_k % 3 + 1))
	fm_update "churn-$_k" TASK_KILLED
	if ! wait_until 30 all_nodes drained "10.0.0.$_node:$((8100 + _k))"; then
		fail "kill churn-$_k: no new connections on any node within 30 s" \
			"$(dests 1 "$IP_VIP:80")"
	fi
	sleep 1 # requests already sent to it finish
	kill "$(cat "$VM_TMP/backend-churn-$_k.pid")" 2>/dev/null || true
	log "killed churn-$_k"
}
serving_on() { serving "$2" "$IP_VIP:80" "$1"; } # IP I (for all_nodes)
churn_cut() {
	cuts=$((cuts + 1))
	_t0=$(now_ms)
	log "cut n3"
	echo "$_t0" >>"$S/cut_start"
	nx n3 iptables -I INPUT -i lan -j DROP
	nx n3 iptables -I OUTPUT -o lan -j DROP
	if wait_until 60 withheld 1 && wait_until 30 withheld 2; then
		echo "$(($(now_ms) - _t0))" >>"$S/withheld_ms"
	else
		fail "cut $cuts: n3's backend withheld on n1 and n2 within 60 s" \
			"$(dests 1 "$IP_VIP:80")"
	fi
	sleep 3
	nx n3 iptables -D INPUT -i lan -j DROP
	nx n3 iptables -D OUTPUT -o lan -j DROP
	# until every node uses n3's backend again: requests reaching it until
	# then are also part of the cut
	wait_until 60 all_nodes serving_on 10.0.0.3 ||
		fail "cut $cuts: n3's backend back within 60 s" "$(dests 1 "$IP_VIP:80")"
	echo "$(now_ms)" >>"$S/cut_end"
	log "restored n3 after $(($(now_ms) - _t0)) ms"
}
churn_restart() {
	set -- vipd overlayd ipvsd
	_d=$(eval "echo \${$((restarts % 3 + 1))}")
	_i=$((restarts / 3 % 3 + 1))
	restarts=$((restarts + 1))
	node_kill "$_i" "$_d" KILL
	node_start "$_i" "$_d" || fail "restart n$_i $_d" "it does not answer again"
	log "restarted n$_i $_d"
}

end=$(($(date +%s) + MINUTES * 60))
next_sample=$(($(date +%s) + 30))
while [ "$(date +%s)" -lt "$end" ]; do
	case $((step % 6)) in
	0 | 3) churn_add ;;
	1 | 4) churn_restart ;;
	2) churn_kill ;;
	5) churn_cut ;;
	esac
	step=$((step + 1))
	if [ "$(date +%s)" -ge "$next_sample" ]; then
		sample $(($(date +%s) - end + MINUTES * 60))
		next_sample=$(($(date +%s) + 30))
	fi
	sleep "$CHURN_S"
done
sample $((($(now_ms) - t_start) / 1000))
touch "$S/stop"
wait "$l1" "$l2" || true

# --- figures ---
# failures inside a cut window [start, end + 2 s] count as aimed at n3
cat "$S/load1" "$S/load2" | awk -v starts="$(cat "$S/cut_start" 2>/dev/null | tr '\n' ' ')" \
	-v ends="$(cat "$S/cut_end" 2>/dev/null | tr '\n' ' ')" '
	BEGIN { n = split(starts, s, " "); split(ends, e, " ") }
	NF >= 3 {
		ok += $2; bad += $3
		if ($3 == 0) next
		hit = 0
		for (i = 1; i <= n; i++)
			if ($1 >= s[i] && $1 <= (e[i] ? e[i] : s[i] + 600000) + 2000) hit = 1
		if (hit) cut += $3; else other += $3
	}
	END { printf "%d %d %d %d\n", ok, bad, cut + 0, other + 0 }' >"$S/sum"
read -r ok bad cut other <"$S/sum"
echo "INFO: $((ok + bad)) requests, $bad failed: $cut while node 3 was cut off" \
	"(aimed at its backend), $other at other times"
echo "INFO: churn: $step steps ($((next - 1)) tasks added, $restarts daemon restarts, $cuts cuts)"
[ -s "$S/withheld_ms" ] &&
	echo "INFO: cut -> withheld on n1 and n2 (ms): $(tr '\n' ' ' <"$S/withheld_ms")"
echo "INFO: RSS kB / fds per daemon at each sample (seconds into the soak):"
awk '{ k = $2 " " $3; v[k] = v[k] sprintf(" %s:%s/%s", $1, $5, $6) }
	END { for (k in v) print "INFO:   " k v[k] }' "$S/samples" | sort
# seconds (into the soak) with failures outside the cuts, and the churn then
cat "$S/load1" "$S/load2" | awk -v t0="$t_start" \
	-v starts="$(cat "$S/cut_start" 2>/dev/null | tr '\n' ' ')" \
	-v ends="$(cat "$S/cut_end" 2>/dev/null | tr '\n' ' ')" '
	BEGIN { n = split(starts, s, " "); split(ends, e, " ") }
	NF >= 3 && $3 > 0 {
		for (i = 1; i <= n; i++)
			if ($1 >= s[i] && $1 <= (e[i] ? e[i] : s[i] + 600000) + 2000) next
		printf " %d s: %d", ($1 - t0) / 1000, $3
	}' >"$S/other"
[ -s "$S/other" ] && echo "INFO: failures outside the cuts at:$(cat "$S/other")"
echo "INFO: churn events (ms into the soak): $(tr '\n' ';' <"$S/events")"
[ -n "${L4LB_VM_RESULTS:-}" ] && cp -r "$S" "$L4LB_VM_RESULTS/" 2>/dev/null
[ "$ok" -gt 0 ] || fail "soak: requests succeeded" "none"
check_eq "soak: no failed request outside the cuts of node 3" 0 "$other"
# daemons that ran through (same pid first and last): fds equal, RSS bounded
awk '
	{ k = $2 " " $3 }
	!(k in first) { first[k] = $0; fp[k] = $4; fr[k] = $5; ff[k] = $6 }
	{ lp[k] = $4; lr[k] = $5; lf[k] = $6 }
	END {
		for (k in first)
			if (fp[k] == lp[k] && (lf[k] > ff[k] + 1 || lr[k] > fr[k] * 1.25 + 1024))
				printf "%s: fds %s -> %s, RSS %s -> %s kB\n", k, ff[k], lf[k],
					fr[k], lr[k]
	}' "$S/samples" >"$S/growth"
if [ -s "$S/growth" ]; then fail "soak: no RSS or fd growth" "$(tr '\n' ';' <"$S/growth")"
else pass "soak: no RSS or fd growth in daemons that ran through"; fi
[ -s "$VM_TMP/failed" ] && cluster_logs 8
vm_done
