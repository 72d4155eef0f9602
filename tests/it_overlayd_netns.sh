#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# overlayd in network namespaces: one namespace per node, veth pairs on a
# bridge (10.77.0.0/24). Scenarios: the cluster forms; a silent crash (all
# the node's traffic dropped with nft, THEN the process killed) is seen by
# every live node; a partition into two halves is detected on both sides
# without false alarms inside a half and heals when lifted; before that,
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
split() {
	if [ "$1" = "$dead" ] || [ "$2" = "$dead" ]; then echo skip
	elif [ "$(half "$1")" = "$(half "$2")" ]; then echo true; else echo false; fi
}
# the only false alarm we watch for: a node of my half unreachable
no_alarm_in_half() {
	for i in $(seq 1 "$N"); do
		for j in $(seq 1 "$N"); do
			[ "$i" = "$dead" ] || [ "$j" = "$dead" ] && continue
			[ "$(half "$i")" = "$(half "$j")" ] && sees "$i" "$j" false && return 1
		done
	done
	return 0
}

for i in $(seq 1 "$N"); do start "$i"; done
if wait_for 20 all_pairs all_up; then pass overlayd_netns_forms; else
	fail overlayd_netns_forms "not all $N nodes see each other after 20 s"
	finish
fi

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
for i in $(seq 1 $((N / 2))); do ip netns exec "$(ns "$i")" nft delete table inet ovlpart; done
t0=$(now_ms)
if wait_for 20 all_pairs without_dead; then
	echo "netns partition healed in $(($(now_ms) - t0)) ms"
	pass overlayd_netns_partition_heals
else
	fail overlayd_netns_partition_heals "halves did not see each other 20 s after healing"
fi
finish
