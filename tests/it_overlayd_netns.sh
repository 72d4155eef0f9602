#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# overlayd in network namespaces: one namespace per node, veth pairs on a
# bridge (10.77.0.0/24). Scenarios: the cluster forms; a silent crash (all
# the node's traffic dropped with nft, THEN the process killed) is seen by
# every live node; one link cut in one direction and another in both is
# severed without any node marked unreachable; a partition into two halves
# is detected on both sides without false alarms inside a half and heals
# when lifted (false alarms are looked for in the logs, --log-level info,
# not only at one moment; the partition filters one half's input only,
# so the other half still hears it over the connections open before).
# A short false alarm during the cuts (sampled or from the logs) fails;
# OVERLAYD_NETNS_STRICT=0 prints it as SKIP instead (a lasting one, still
# there 5 s on, fails always).
# OVERLAYD_LOSS_SECS (default 0 = skipped; `make check-long` runs 600 s
# with OVERLAYD_NETNS_NODES=10) of 5 % loss on every link must not make any
# node unreachable. Needs root.
set -u
B=${1:-build}
. tests/lib.sh
N=${OVERLAYD_NETNS_NODES:-6}
P=ovl$$
T=$(mktemp -d)
ns() { echo "${P}n$1"; }
cleanup() {
	kill_all
	for i in $(seq 1 "$N"); do ip netns del "$(ns "$i")" 2>/dev/null; done
	ip link del "${P}br" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "logs kept in $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
# a signal (or a closed stdout) still runs the cleanup
trap 'exit 1' INT TERM HUP PIPE

if [ "$(id -u)" != 0 ] || ! ip netns add "${P}probe" 2>/dev/null; then
	echo "SKIP: overlayd_netns (needs root and network namespaces)"
	exit 0
fi
ip netns del "${P}probe"
ip link add "${P}br" type bridge && ip link set "${P}br" up
for i in $(seq 1 "$N"); do
	ip netns add "$(ns "$i")"
	ip link add "${P}v$i" type veth peer name eth0 netns "$(ns "$i")"
	ip link set "${P}v$i" master "${P}br" up
	ip -n "$(ns "$i")" addr add "10.77.0.$i/24" dev eth0
	ip -n "$(ns "$i")" link set eth0 up
	ip -n "$(ns "$i")" link set lo up
done

start() {
	mkdir -p "$T/n$1"
	spawn ip netns exec "$(ns "$1")" "$B/overlayd" --run-dir "$T/n$1" --state-dir "$T/n$1" \
		--log-level info --node-ip "10.77.0.$1" --seeds 10.77.0.1,10.77.0.2 2>>"$T/n$1/log"
	eval "PID_$1=\$LAST_PID"
}
sees() { # I J STATE
	"$B/l4lbctl" --run-dir "$T/n$1" --timeout 500 nodes --json 2>/dev/null |
		grep -q "\"ip\":\"10.77.0.$2\",\"reachable\":$3"
}
# expect "I J STATE" triples for all pairs, via a function giving STATE
all_pairs() { # fn: prints expected state for I J, or "skip"
	for i in $(seq 1 "$N"); do
		for j in $(seq 1 "$N"); do
			want=$($1 "$i" "$j")
			[ "$want" = skip ] && continue
			sees "$i" "$j" "$want" || return 1
		done
	done
}
all_up() { echo true; }
dead=0
without_dead() {
	if [ "$1" = "$dead" ]; then echo skip; elif [ "$2" = "$dead" ]; then echo false; else echo true; fi
}
half() { [ "$1" -le $((N / 2)) ] && echo a || echo b; }
one() { echo a; }
split() {
	if [ "$1" = "$dead" ] || [ "$2" = "$dead" ]; then echo skip
	elif [ "$(half "$1")" = "$(half "$2")" ]; then echo true; else echo false; fi
}
# false alarms: a live node of my group (GROUPFN I prints I's group) logged
# unreachable by a node of my group since mark_logs, at any moment, not
# only at the end (the logs run at --log-level info)
mark_logs() {
	for i in $(seq 1 "$N"); do wc -l <"$T/n$i/log" >"$T/n$i/mark"; done
}
# the snapshot variant, for the partition (see there)
no_alarm_in_half() {
	for i in $(seq 1 "$N"); do
		for j in $(seq 1 "$N"); do
			[ "$i" = "$dead" ] || [ "$j" = "$dead" ] && continue
			[ "$(half "$i")" = "$(half "$j")" ] && sees "$i" "$j" false && return 1
		done
	done
	return 0
}
# A node whose own loop stalled longer than the ping floor ("loop stalled
# L us at mono_us=M" in its log: the host starved it, as at load 17 and
# more) was a silent crash to its peers for that long; their marking it
# then is right, not a false alarm (said apart, as it_overlayd_loopback
# does). Only from the stall's start until 3 s after it ended (the
# severs' records and the orphan grace). The namespaces share the clock.
stall_explains() { # J MONO_US: an alarm about J at MONO_US
	tail -n +$(($(cat "$T/n$1/mark") + 1)) "$T/n$1/log" |
		sed -n 's/.*loop stalled \([0-9]*\) us at mono_us=\([0-9]*\).*/\1 \2/p' |
		awk -v a="$2" '{ if (a + $1 + 200000 >= $2 && a <= $2 + 3000000) f = 1 }
			END { exit !f }'
}
alarms_in_group() { # GROUPFN
	for i in $(seq 1 "$N"); do
		[ "$i" = "$dead" ] && continue
		tail -n +$(($(cat "$T/n$i/mark") + 1)) "$T/n$i/log" |
			sed -n 's/.*node 10\.77\.0\.\([0-9]*\) unreachable at mono_us=\([0-9]*\).*/\1 \2/p' |
			while read -r j at; do
				[ "$j" != "$dead" ] && [ "$($1 "$i")" = "$($1 "$j")" ] || continue
				if stall_explains "$j" "$at"; then
					echo "note: $i saw $j (stalled itself then)" >&2
					continue
				fi
				echo "$i saw $j"
			done
	done
}

# one link cut: node 1's first active neighbour, A, in one direction
# (1 -> A dropped at 1's output), and another node's link in both
# directions. Each cut link must be severed at both ends, every node must
# stay reachable from every other through the rest, and no "unreachable
# at" line may be logged (nobody died), at any moment during the cuts.
# It runs last: the cut links stay severed after the cut is lifted, and
# with them a partition can leave a node whose links all crossed it
# unreachable in its own half until it finds a new neighbour there (seen
# in 2 of 5 runs; OVERLAYD_NETNS_CUT_FIRST=1 runs this step first).
short_alarm() { # NAME REASON: a failure, or a SKIP with OVERLAYD_NETNS_STRICT=0
	if [ "${OVERLAYD_NETNS_STRICT:-1}" != 0 ]; then fail "$1" "$2"; else
		echo "SKIP: $1 ($2; OVERLAYD_NETNS_STRICT=0)"
	fi
}
links() { # I: the addresses in I's active view; fails if I does not answer
	out=$("$B/l4lbctl" --run-dir "$T/n$1" --timeout 500 nodes --json 2>/dev/null) || return 1
	echo "$out" | sed -n 's/.*\],"active":\[\(.*\)\],"passive".*/\1/p' |
		grep -o '"ip":"[0-9.]*"' | cut -d'"' -f4
}
severed() { # I J: neither end lists the other (both answered)
	li=$(links "$1") && lj=$(links "$2") || return 1
	! echo "$li" | grep -qx "10.77.0.$2" && ! echo "$lj" | grep -qx "10.77.0.$1"
}
cut_nft() { # I: rule...
	i=$1
	shift
	ip netns exec "$(ns "$i")" nft add table inet ovlcut 2>/dev/null
	ip netns exec "$(ns "$i")" nft add chain inet ovlcut out \
		'{ type filter hook output priority 0; }' 2>/dev/null
	ip netns exec "$(ns "$i")" nft add chain inet ovlcut in \
		'{ type filter hook input priority 0; }' 2>/dev/null
	ip netns exec "$(ns "$i")" nft add rule inet ovlcut "$@"
}
cut_step() {
	ca=$(links 1 | head -n1 | cut -d. -f4)
	cb=""
	cx=""
	for x in $(seq 2 "$N"); do
		[ "$x" = "$ca" ] && continue
		for y in $(links "$x" | cut -d. -f4); do
			[ "$y" != 1 ] && [ "$y" != "$ca" ] && { cx=$x; cb=$y; break 2; }
		done
	done
	if [ -z "$ca" ] || [ -z "$cb" ]; then
		fail overlayd_netns_cut_severs "no two disjoint active links to cut"
	else
		mark_logs
		t0=$(now_ms)
		cut_nft 1 out ip daddr "10.77.0.$ca" drop
		cut_nft "$cx" out ip daddr "10.77.0.$cb" drop
		cut_nft "$cx" in ip saddr "10.77.0.$cb" drop
		cut_ok=1
		both_severed() { severed 1 "$ca" && severed "$cx" "$cb"; }
		# reachability is sampled while the cut lasts, not only at its end
		until both_severed; do
			all_pairs without_dead || cut_ok=0
			[ $(($(now_ms) - t0)) -ge 10000 ] && break
			sleep 0.1
		done
		if both_severed; then
			echo "netns cuts 1->$ca (one way), $cx<->$cb (both): links severed in" \
				"$(($(now_ms) - t0)) ms"
			pass overlayd_netns_cut_severs
		else
			fail overlayd_netns_cut_severs "link 1-$ca or $cx-$cb still active after 10 s"
		fi
		# the cut ends must not come back while the cut lasts
		sleep 1
		# A lasting false alarm (still there 5 s on) or a link back fails
		# always; a short one too, unless OVERLAYD_NETNS_STRICT=0. It was
		# seen in session 5 (2 runs in 17, once by a sample in CI): after
		# the partition's heal a node held one link for the retry (5 s),
		# and the cut of that link isolated it (membership.c now refills
		# such a view at once; test_heal_then_cut_no_false_alarm).
		if ! { wait_for 5 all_pairs without_dead && both_severed; }; then
			fail overlayd_netns_cut_no_false_alarm \
				"all reachable throughout: $cut_ok; links severed: $(both_severed && echo 1)"
		elif [ "$cut_ok" = 1 ]; then
			pass overlayd_netns_cut_no_false_alarm
		elif [ -z "$(alarms_in_group one 2>/dev/null)" ]; then
			# no alarm logged but with its node's stall: the sample saw
			# that, or its query timed out (a starved host)
			echo "note: a sample failed; every logged alarm came with a stall"
			pass overlayd_netns_cut_no_false_alarm
		else
			short_alarm overlayd_netns_cut_no_false_alarm \
				"a sample saw a live node unreachable, gone 5 s later"
		fi
		# A short false alarm between the samples, from the logs
		alarms=$(alarms_in_group one)
		if [ -z "$alarms" ]; then
			pass overlayd_netns_cut_no_false_alarm_logged
		else
			short_alarm overlayd_netns_cut_no_false_alarm_logged \
				"logged unreachable: $(echo $alarms)"
		fi
		for i in 1 "$cx"; do ip netns exec "$(ns "$i")" nft delete table inet ovlcut; done
	fi
}

for i in $(seq 1 "$N"); do start "$i"; done
if wait_for 20 all_pairs all_up; then pass overlayd_netns_forms; else
	fail overlayd_netns_forms "not all $N nodes see each other after 20 s"
	finish
fi

[ -n "${OVERLAYD_NETNS_CUT_FIRST:-}" ] && cut_step

# 5 % loss on every node's input (nft numgen: this kernel may lack netem),
# so 5 % each way on every link: no node may be marked unreachable
LOSS=${OVERLAYD_LOSS_SECS:-0}
[ "$LOSS" -gt 0 ] || echo "SKIP: overlayd_netns_loss_no_false_alarm (set OVERLAYD_LOSS_SECS)"
alarms() { cat "$T"/n*/log | grep -c "unreachable at"; }
if [ "$LOSS" -gt 0 ]; then
	a0=$(alarms)
	for i in $(seq 1 "$N"); do
		ip netns exec "$(ns "$i")" nft add table inet ovlloss
		ip netns exec "$(ns "$i")" nft add chain inet ovlloss in \
			'{ type filter hook input priority 0; }'
		ip netns exec "$(ns "$i")" nft add rule inet ovlloss in \
			iifname eth0 numgen random mod 100 '<' 5 drop
	done
	sleep "$LOSS"
	a1=$(alarms)
	if [ "$a1" = "$a0" ] && all_pairs all_up; then
		pass overlayd_netns_loss_no_false_alarm
		echo "5 % loss for $LOSS s: 0 reachability losses"
	else
		fail overlayd_netns_loss_no_false_alarm "$((a1 - a0)) unreachable events under 5 % loss"
	fi
	for i in $(seq 1 "$N"); do
		ip netns exec "$(ns "$i")" nft delete table inet ovlloss
	done
fi

# silent crash of node 4: drop everything in its namespace, then kill it
dead=4
mark_logs
t0=$(now_ms)
n4() { ip netns exec "$(ns 4)" "$@"; }
n4 nft add table inet ovltest
n4 nft add chain inet ovltest in '{ type filter hook input priority 0; policy drop; }'
n4 nft add chain inet ovltest out '{ type filter hook output priority 0; policy drop; }'
if wait_for 10 all_pairs without_dead; then
	echo "netns silent crash detected everywhere in $(($(now_ms) - t0)) ms (includes polling)"
	pass overlayd_netns_silent_crash
else
	fail overlayd_netns_silent_crash "node 4 still reachable somewhere after 10 s"
fi
alarms=$(alarms_in_group one)
if [ -z "$alarms" ]; then pass overlayd_netns_silent_crash_no_false_alarm; else
	fail overlayd_netns_silent_crash_no_false_alarm "logged unreachable: $(echo $alarms)"
fi
kill "$PID_4"

# partition: halves {1..N/2} and the rest (4 is dead) cannot talk
others=$(for j in $(seq $((N / 2 + 1)) "$N"); do printf '10.77.0.%s, ' "$j"; done)
for i in $(seq 1 $((N / 2))); do
	ip netns exec "$(ns "$i")" nft add table inet ovlpart
	ip netns exec "$(ns "$i")" nft add chain inet ovlpart in \
		'{ type filter hook input priority 0; }'
	ip netns exec "$(ns "$i")" nft add rule inet ovlpart in \
		ip saddr "{ ${others%, } }" drop
done
mark_logs
t0=$(now_ms)
if wait_for 15 all_pairs split; then
	echo "netns partition detected on both sides in $(($(now_ms) - t0)) ms"
	pass overlayd_netns_partition_detected
else
	fail overlayd_netns_partition_detected "the halves still see each other after 15 s"
fi
if no_alarm_in_half; then pass overlayd_netns_partition_no_false_alarm; else
	fail overlayd_netns_partition_no_false_alarm "a node of its own half marked unreachable"
fi
# The snapshot above misses a short false alarm; the logs do not. A node
# whose links all crossed the partition used to be logged unreachable in
# its own half for ~1 s until it linked up there; the nodes in their orphan
# grace are now asked directly, by isolated nodes too, and the far side's
# drops of our nodes that the one-way filter lets through accuse no one
# (test_partition_cutting_all_links_of_a_node,
# test_partition_shapes_no_false_alarm: "5 saw 6 6 saw 5" in CI).
sleep 1 # a late false alarm would come within the confirmation time
alarms=$(alarms_in_group half)
if [ -z "$alarms" ]; then
	pass overlayd_netns_partition_no_false_alarm_logged
else
	fail overlayd_netns_partition_no_false_alarm_logged "$(echo $alarms)"
fi
for i in $(seq 1 $((N / 2))); do ip netns exec "$(ns "$i")" nft delete table inet ovlpart; done
t0=$(now_ms)
if wait_for 20 all_pairs without_dead; then
	echo "netns partition healed in $(($(now_ms) - t0)) ms"
	pass overlayd_netns_partition_heals
else
	fail overlayd_netns_partition_heals "halves did not see each other 20 s after healing"
fi
[ -z "${OVERLAYD_NETNS_CUT_FIRST:-}" ] && cut_step
finish
