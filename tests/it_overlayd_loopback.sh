#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# overlayd with real processes on loopback addresses 127.0.77.x (each with
# its own run dir, state dir and listen address): the cluster forms from a
# seed; a silent crash (SIGSTOP, then kill) and a clean kill are seen by
# every live node; a restarted node rejoins with a new epoch; nobody alive
# is ever marked unreachable. Detection times are printed.
set -u
B=${1:-build}
. tests/lib.sh
N=${OVERLAYD_IT_NODES:-8}
T=$(mktemp -d)
trap 'for p in $PIDS; do kill -CONT "$p" 2>/dev/null; done; kill_all; rm -rf "$T"' EXIT

ip_of() { echo "127.0.77.$1"; }
start() { # i
	mkdir -p "$T/n$1"
	spawn "$B/overlayd" --run-dir "$T/n$1" --state-dir "$T/n$1" --log-level warn \
		--listen "$(ip_of "$1"):61420" --seeds "$(ip_of 1),$(ip_of 2)" 2>>"$T/n$1/log"
	eval "PID_$1=\$LAST_PID"
}
nodes() { "$B/l4lbctl" --run-dir "$T/n$1" --timeout 500 nodes --json 2>/dev/null; }
# sees I J STATE: node I reports node J reachable=STATE
sees() {
	nodes "$1" | grep -q "\"ip\":\"$(ip_of "$2")\",\"reachable\":$3"
}
# all_see J STATE [EXCEPT]: every live node except J (and EXCEPT) agrees
all_see() {
	for i in $(seq 1 "$N"); do
		[ "$i" = "$1" ] && continue
		[ "$i" = "${3:-0}" ] && continue
		sees "$i" "$1" "$2" || return 1
	done
}
formed() {
	for j in $(seq 1 "$N"); do
		[ "$j" = "${1:-0}" ] && continue
		all_see "$j" true "${1:-0}" || return 1
	done
}
# no live node reported unreachable by anyone (DEAD excluded)
no_false_alarm() {
	for i in $(seq 1 "$N"); do
		[ "$i" = "${1:-0}" ] && continue
		for j in $(seq 1 "$N"); do
			[ "$j" = "${1:-0}" ] && continue
			sees "$i" "$j" false && return 1
		done
	done
	return 0
}

for i in $(seq 1 "$N"); do start "$i"; done
if wait_for 20 formed; then pass "overlayd_cluster_forms_$N"; else
	fail "overlayd_cluster_forms_$N" "not every node sees every node after 20 s"
	finish
fi

# silent crash: the process stops answering (no FIN/RST), then dies
v=5
eval "pid=\$PID_$v"
t0=$(now_ms)
kill -STOP "$pid"
if wait_for 10 all_see "$v" false; then
	echo "overlayd silent crash detected by all $((N - 1)) live nodes in $(($(now_ms) - t0)) ms (includes polling)"
	pass overlayd_silent_crash_detected
else
	fail overlayd_silent_crash_detected "node $v still reachable somewhere after 10 s"
fi
kill -KILL "$pid" 2>/dev/null
if no_false_alarm "$v"; then pass overlayd_silent_crash_no_false_alarm; else
	fail overlayd_silent_crash_no_false_alarm "a live node was marked unreachable"
fi

# restart with a new epoch: rejoins and is reachable everywhere again
start "$v"
if wait_for 15 formed; then pass overlayd_restart_rejoins; else
	fail overlayd_restart_rejoins "node $v not reachable everywhere after 15 s"
fi
if nodes 1 | grep -q "\"ip\":\"$(ip_of "$v")\",[^}]*\"epoch\":2"; then
	pass overlayd_restart_new_epoch
else
	fail overlayd_restart_new_epoch "node 1 does not hold epoch 2 for node $v"
fi

# clean kill: the peers see the connections close
v=3
eval "pid=\$PID_$v"
t0=$(now_ms)
kill "$pid"
if wait_for 10 all_see "$v" false; then
	echo "overlayd clean kill detected by all live nodes in $(($(now_ms) - t0)) ms (includes polling)"
	pass overlayd_clean_kill_detected
else
	fail overlayd_clean_kill_detected "node $v still reachable somewhere after 10 s"
fi
if no_false_alarm "$v"; then pass overlayd_clean_kill_no_false_alarm; else
	fail overlayd_clean_kill_no_false_alarm "a live node was marked unreachable"
fi

# a peer sending garbage is disconnected and nothing else changes
timeout 2 bash -c "printf '\\377\\377\\377\\377garbage' > /dev/tcp/$(ip_of 1)/61420" 2>/dev/null
counted() { grep -q overlay_rx_malformed "$T/n1/log"; }
if wait_for 5 counted && wait_for 5 formed "$v" && kill -0 "$PID_1"; then
	pass overlayd_garbage_peer_ignored
else
	fail overlayd_garbage_peer_ignored "cluster changed or node 1 died after garbage"
fi
finish
