#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# overlayd with real processes on loopback addresses 127.0.77.x (each with
# its own run dir, state dir and listen address): the cluster forms from a
# seed; a silent crash (SIGSTOP, then kill) and a clean kill are seen by
# every live node; a restarted node rejoins with a new epoch, and one
# restarted with its state dir removed (epoch 1, below its old life's)
# jumps past its old record everywhere; a node stopped for 1 s (SIGSTOP,
# SIGCONT: its own loop starved) accuses nobody and rejoins; nobody alive
# is ever marked unreachable (looked for in the whole logs, --log-level
# info, not only at one moment; but for a node that logged its own loop
# stalled past the ping floor: to its peers that was a crash); the links'
# severs are counted and `l4lbctl nodes` (--json parsed with python3, and
# the text) shows the nodes, links, timeouts, paths, passive view and
# counters. Detection times are printed.
set -u
B=${1:-build}
. tests/lib.sh
N=${OVERLAYD_IT_NODES:-8}
T=$(mktemp -d)
# OVERLAYD_LOOPBACK_KEEP=DIR keeps the nodes' logs there (a copy per run);
# OVERLAYD_LOOPBACK_LOG_LEVEL=debug shows suspicions and loop lags
keep() {
	[ -n "${OVERLAYD_LOOPBACK_KEEP:-}" ] || return 0
	d="$OVERLAYD_LOOPBACK_KEEP/$(date +%H%M%S)-$$"
	mkdir -p "$d" && for i in $(seq 1 "$N"); do cp "$T/n$i/log" "$d/n$i.log"; done
	echo "logs kept in $d"
}
trap 'for p in $PIDS; do kill -CONT "$p" 2>/dev/null; done; kill_all; keep; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE

ip_of() { echo "127.0.77.$1"; }
start() { # i
	mkdir -p "$T/n$1"
	mkdir -p "$T/s$1"
	spawn "$B/overlayd" --run-dir "$T/n$1" --state-dir "$T/s$1" \
		--log-level "${OVERLAYD_LOOPBACK_LOG_LEVEL:-info}" \
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
# no live node reported unreachable by anyone now (DEAD excluded)
no_alarm_now() {
	for i in $(seq 1 "$N"); do
		[ "$i" = "${1:-0}" ] && continue
		for j in $(seq 1 "$N"); do
			[ "$j" = "${1:-0}" ] && continue
			sees "$i" "$j" false && return 1
		done
	done
	return 0
}

# false alarms: since mark_logs, a node other than DEAD logged unreachable
# by anyone (prints "I saw J" for each)
mark_logs() {
	for i in $(seq 1 "$N"); do wc -l <"$T/n$i/log" >"$T/n$i/mark"; done
}
# A node whose own loop stalled longer than the ping floor ("loop stalled
# L us at mono_us=M" in its log: the host starved it) was a silent crash to
# its peers for that long; their marking it then is right, not a false
# alarm (said apart). Only then: from the stall's start until 3 s after it
# ended (the severs' records and the orphan grace), not for the whole
# check, where it would excuse an alarm about that node at any moment.
stall_explains() { # J MONO_US: an alarm about J at MONO_US (same clock)
	tail -n +$(($(cat "$T/n$1/mark") + 1)) "$T/n$1/log" |
		sed -n 's/.*loop stalled \([0-9]*\) us at mono_us=\([0-9]*\).*/\1 \2/p' |
		awk -v a="$2" '{ if (a + $1 + 200000 >= $2 && a <= $2 + 3000000) f = 1 }
			END { exit !f }'
}
logged_alarms() { # DEAD
	for i in $(seq 1 "$N"); do
		tail -n +$(($(cat "$T/n$i/mark") + 1)) "$T/n$i/log" |
			sed -n 's/.*node 127\.0\.77\.\([0-9]*\) unreachable at mono_us=\([0-9]*\).*/\1 \2/p' |
			while read -r j at; do
				[ "$j" = "$1" ] && continue
				if stall_explains "$j" "$at"; then
					echo "note: $i saw $j (stalled itself then)" >&2
					continue
				fi
				echo "$i saw $j"
			done
	done
}
# no_false_alarm DEAD: neither now nor logged since mark_logs
no_false_alarm() {
	al=$(logged_alarms "$1")
	[ -z "$al" ] || { echo "logged unreachable: $(echo $al)"; return 1; }
	no_alarm_now "$1"
}
# the sum of one counter of `l4lbctl nodes --json` over the live nodes
# but SKIP (fails if one does not answer)
counter_sum() { # NAME SKIP
	sum=0
	for i in $(seq 1 "$N"); do
		[ "$i" = "$2" ] && continue
		c=$(nodes "$i" | sed -n "s/.*\"counters\":{.*\"$1\":\([0-9]*\).*/\1/p")
		[ -n "$c" ] || return 1
		sum=$((sum + c))
	done
	echo "$sum"
}

# The restart and SIGCONT checks below saw false alarms now and then on a
# loaded host until session 5 (the restarted node marked live nodes
# unreachable while its first records came in; the stopped node severed a
# live peer on the clocks of its stall, and every node marked that peer
# unreachable). Fixed in overlayd (tests/test_overlayd_lag.c); they fail
# by default. OVERLAYD_LOOPBACK_STRICT=0 prints them as SKIP instead (a
# host too starved to judge, not a way to pass).
known_alarm() { # NAME WHY
	if [ "${OVERLAYD_LOOPBACK_STRICT:-1}" != 0 ]; then fail "$1" "$2"; else
		echo "SKIP: $1 ($2; OVERLAYD_LOOPBACK_STRICT=0)"
	fi
}

for i in $(seq 1 "$N"); do start "$i"; done
if wait_for 20 formed; then pass "overlayd_cluster_forms_$N"; else
	fail "overlayd_cluster_forms_$N" "not every node sees every node after 20 s"
	finish
fi

# the links' RTT windows are shown
if nodes 1 | grep -q '"rtt_us":\[[0-9]'; then pass overlayd_nodes_rtt_shown; else
	fail overlayd_nodes_rtt_shown "no RTT sample in node 1's active links"
fi

# `l4lbctl nodes --json` of every node, parsed: self; every node with ip,
# reachable, active (true exactly for the active links); counters that
# moved; each link's timeout within the default floor and ceiling (120 ms,
# 2 s); hops and via consistent (via a node 1 hop away; a node 2 hops away
# when the topology has one); the passive list; the gauges apart
json_ok() { # I
	nodes "$1" | python3 -c '
import json, sys
me, n, pfx = sys.argv[1], int(sys.argv[2]), "127.0.77."
d = json.load(sys.stdin)
assert d["self"] == me, d["self"]
ips = {x["ip"]: x for x in d["nodes"]}
assert set(ips) == {pfx + str(i) for i in range(1, n + 1)}, sorted(ips)
act = {l["ip"] for l in d["active"]}
assert act and act <= set(ips) and me not in act, act
# one hop: a link of this node (active, or a peer just dropped from the
# view and still advertised while it lingers)
hop1 = {ip for ip, x in ips.items() if x["hops"] == 1}
for ip, x in ips.items():
    assert x["reachable"] is True, x
    assert x["active"] is (ip in act), x
    if ip == me:
        assert x["hops"] == 0, x
    elif x["hops"] == 1:
        assert x.get("via") == ip, x
    else:
        assert x["hops"] >= 2 and x.get("via") in hop1, x
for l in d["active"]:
    assert 120000 <= l["timeout_us"] <= 2000000, l
# a link made a moment ago has no sample yet; the older ones have
assert any(l["pings"] > 0 and l["rtt_us"] for l in d["active"]), d["active"]
assert all(p in ips and p not in act and p != me for p in d["passive"]), d["passive"]
c = d["counters"]
for k in ("pings", "pongs", "msgs_rx", "msgs_tx", "bytes_rx", "bytes_tx"):
    assert c[k] > 0, (k, c)
assert c["active"] == len(act) and c["known"] == n, c
# honest nodes take the digests of one another (refused only from strangers)
assert c["digests_refused"] == 0, c
g = d["gauges"]
assert g["epoch"] == c["epoch"] and g["active"] == len(act) and g["known"] == n, g
assert "pings" not in g, g
print(max(x["hops"] for x in ips.values()), len(d["passive"]))
' "$(ip_of "$1")" "$N"
}
jbad=""
maxhops=0
for i in $(seq 1 "$N"); do
	if out=$(json_ok "$i" 2>&1); then
		h=${out% *}
		[ "$h" -gt "$maxhops" ] && maxhops=$h
	else
		jbad="$jbad node $i: $(echo "$out" | tail -1)"
	fi
done
if [ -z "$jbad" ]; then pass "overlayd_nodes_json_valid (longest path $maxhops hops)"; else
	fail overlayd_nodes_json_valid "$jbad"
fi
# with 8 nodes and 5 active links each, some node is usually 2 hops from
# another: its via checked above; said here when the topology had none
[ "$maxhops" -ge 2 ] || echo "note: every node 1 hop from every other (no 2-hop path to check)"
text=$("$B/l4lbctl" --run-dir "$T/n1" --timeout 500 nodes 2>&1)
miss=""
for h in "self $(ip_of 1)," "NODE " "STATE" "HOPS" "VIA" "ACTIVE LINK" "RTT50 ms" "TIMEOUT ms" \
	"passive:" "counters:" "pings=" "severs="; do
	echo "$text" | grep -qF "$h" || miss="$miss '$h'"
done
if [ -z "$miss" ]; then pass overlayd_nodes_text_headers; else
	fail overlayd_nodes_text_headers "missing$miss"
fi

# silent crash: the process stops answering (no FIN/RST), then dies
v=5
eval "pid=\$PID_$v"
severs0=$(counter_sum severs "$v")
mark_logs
t0=$(now_ms)
kill -STOP "$pid"
if wait_for 10 all_see "$v" false; then
	echo "overlayd silent crash detected by all $((N - 1)) live nodes" \
		"in $(($(now_ms) - t0)) ms (includes polling)"
	pass overlayd_silent_crash_detected
else
	fail overlayd_silent_crash_detected "node $v still reachable somewhere after 10 s"
fi
severs1=$(counter_sum severs "$v")
if [ -n "$severs0" ] && [ -n "$severs1" ] && [ "$severs1" -gt "$severs0" ]; then
	pass overlayd_silent_crash_severs_counted
else
	fail overlayd_silent_crash_severs_counted "severs ${severs0:-?} -> ${severs1:-?}"
fi
kill -KILL "$pid" 2>/dev/null
if why=$(no_false_alarm "$v"); then pass overlayd_silent_crash_no_false_alarm; else
	fail overlayd_silent_crash_no_false_alarm "${why:-a live node reported unreachable}"
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

# restart with the state dir removed: it starts at epoch 1 while everyone
# holds its epoch 2; it must take its old record's place everywhere (every
# node, itself included, ends with the same epoch for it, 2) and nobody is
# marked unreachable once it is back; the epoch it took over is kept
eval "pid=\$PID_$v"
kill "$pid"
{ wait "$pid"; } 2>/dev/null
wait_for 10 all_see "$v" false
rm -rf "$T/s$v"
mark_logs
start "$v"
eval "pid=\$PID_$v"
epoch_everywhere() { # J EPOCH
	for i in $(seq 1 "$N"); do
		nodes "$i" |
			grep -q "\"ip\":\"$(ip_of "$1")\",\"reachable\":true,[^}]*\"epoch\":$2}" ||
			return 1
	done
}
# and it keeps epoch 2 in its new state dir: the next start is epoch 3
saved() { [ "$(cat "$T/s$v/epoch")" = 2 ]; }
if wait_for 15 formed && wait_for 10 epoch_everywhere "$v" 2 && wait_for 5 saved; then
	pass overlayd_restart_lost_state_dir_takes_over
else
	fail overlayd_restart_lost_state_dir_takes_over "$(for i in $(seq 1 "$N"); do
		nodes "$i" | grep -o "\"ip\":\"$(ip_of "$v")\"[^}]*"; done | sort | uniq -c | tr '\n' ' ')"
fi
if why=$(no_false_alarm 0); then pass overlayd_restart_lost_state_dir_no_false_alarm; else
	known_alarm overlayd_restart_lost_state_dir_no_false_alarm \
		"${why:-a live node reported unreachable}"
fi

# starvation: a live node stopped for ~1 s (its loop does not run), then
# resumed. Its peers may sever it meanwhile, but it must not accuse any of
# them (its own loop lagged: local health) and it rejoins
s=6
eval "spid=\$PID_$s"
mark_logs
kill -STOP "$spid"
sleep 1
kill -CONT "$spid"
if wait_for 15 formed; then pass overlayd_stopped_node_rejoins; else
	fail overlayd_stopped_node_rejoins "not every node sees every node 15 s after SIGCONT"
fi
acc=$(tail -n +$(($(cat "$T/n$s/mark") + 1)) "$T/n$s/log" |
	grep -o "node 127\.0\.77\.[0-9]* unreachable")
others=$(logged_alarms "$s" | grep -v "^$s saw")
if [ -z "$acc" ] && [ -z "$others" ]; then
	marked=$(for i in $(seq 1 "$N"); do
		tail -n +$(($(cat "$T/n$i/mark") + 1)) "$T/n$i/log"
	done | grep -c "node 127\.0\.77\.$s unreachable")
	pass "overlayd_stopped_node_accuses_nobody (marked unreachable by $marked peers meanwhile)"
else
	known_alarm overlayd_stopped_node_accuses_nobody \
		"node $s logged: $(echo $acc); others: $(echo $others)"
fi

# clean kill: the peers see the connections close
v=3
eval "pid=\$PID_$v"
mark_logs
t0=$(now_ms)
kill "$pid"
if wait_for 10 all_see "$v" false; then
	echo "overlayd clean kill detected by all live nodes in $(($(now_ms) - t0)) ms (includes polling)"
	pass overlayd_clean_kill_detected
else
	fail overlayd_clean_kill_detected "node $v still reachable somewhere after 10 s"
fi
if why=$(no_false_alarm "$v"); then pass overlayd_clean_kill_no_false_alarm; else
	fail overlayd_clean_kill_no_false_alarm "${why:-a live node reported unreachable}"
fi

# a peer sending garbage is disconnected and nothing else changes
timeout 2 bash -c "printf '\\377\\377\\377\\377garbage' > /dev/tcp/$(ip_of 1)/61420" 2>/dev/null
counted() { grep -q overlay_rx_malformed "$T/n1/log"; }
if wait_for 5 counted && wait_for 5 formed "$v" && kill -0 "$PID_1"; then
	pass overlayd_garbage_peer_ignored
else
	fail overlayd_garbage_peer_ignored "cluster changed or node 1 died after garbage"
fi

# clean exit on SIGTERM, and nothing reported by a sanitizer build
kill_all
if cat "$T"/n*/log | grep -q "Sanitizer\|runtime error"; then
	fail overlayd_loopback_sanitizer_clean "$(grep -h -m3 'Sanitizer\|runtime error' "$T"/n*/log)"
else
	pass overlayd_loopback_sanitizer_clean
fi
finish
