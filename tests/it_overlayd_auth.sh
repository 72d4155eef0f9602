#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# overlayd with a cluster key (--cluster-key-file), real processes on
# loopback addresses 127.0.73.x: four nodes holding the key form a cluster;
# a node without a key, a node with a wrong key and a wrong-key impostor
# claiming an honest node's identity all try to join through the seeds.
# None of them gets in: the honest nodes never hear of them, nobody's
# reachability changes, the failures are counted and logged, and the
# strangers themselves see nobody.
set -u
B=${1:-build}
. tests/lib.sh
T=$(mktemp -d)
trap 'kill_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE

ip_of() { echo "127.0.73.$1"; }
printf 'l4lb test cluster key, 32 bytes.\n' >"$T/key"
printf 'l4lb test cluster key, 32 bytes!\n' >"$T/wrong"
chmod 600 "$T/key" "$T/wrong"

start() { # i seeds [extra options]
	i=$1
	seeds=$2
	shift 2
	mkdir -p "$T/n$i"
	spawn "$B/overlayd" --run-dir "$T/n$i" --state-dir "$T/n$i" --log-level warn \
		--listen "$(ip_of "$i"):61420" --seeds "$seeds" "$@" 2>>"$T/n$i/log"
}
nodes() { "$B/l4lbctl" --run-dir "$T/n$1" --timeout 500 nodes --json 2>/dev/null; }
sees() { nodes "$1" | grep -q "\"ip\":\"$(ip_of "$2")\",\"reachable\":$3"; }
honest_formed() {
	for i in 1 2 3 4; do
		for j in 1 2 3 4; do sees "$i" "$j" true || return 1; done
	done
}

for i in 1 2 3 4; do start "$i" "$(ip_of 1),$(ip_of 2)" --cluster-key-file "$T/key"; done
if wait_for 20 honest_formed; then pass overlayd_auth_keyed_cluster_forms; else
	fail overlayd_auth_keyed_cluster_forms "4 nodes with the same key did not form in 20 s"
	finish
fi

# the strangers, each through its own seed (the log is rate-limited per
# kind): no key (5), wrong key (6), wrong key claiming to be node 3 (7)
start 5 "$(ip_of 1)"
start 6 "$(ip_of 2)" --cluster-key-file "$T/wrong"
start 7 "$(ip_of 4)" --cluster-key-file "$T/wrong" --node-ip "$(ip_of 3)"

refused() {
	grep -q "overlay_auth_failed: peer at .* claiming nothing: .*no cluster key" "$T/n1/log" &&
		grep -q "overlay_auth_failed: .* claiming $(ip_of 6):.*wrong cluster key" "$T/n2/log" &&
		grep -q "overlay_auth_failed: .* claiming $(ip_of 3):.*wrong cluster key" "$T/n4/log"
}
if wait_for 15 refused; then pass overlayd_auth_strangers_refused_and_logged; else
	fail overlayd_auth_strangers_refused_and_logged \
		"$(cat "$T"/n[1-4]/log | grep -c overlay_auth_failed) auth failures logged"
fi
# let them retry their joins (backoff from 200 ms) a few times
sleep 3

# the honest nodes never heard of 5, 6 or 7, and still see each other
clean=1
for i in 1 2 3 4; do
	out=$(nodes "$i")
	for j in 5 6 7; do
		case "$out" in *"\"$(ip_of "$j")\""*) clean=0 ;; esac
	done
done
if [ $clean = 1 ] && honest_formed; then pass overlayd_auth_strangers_not_admitted; else
	fail overlayd_auth_strangers_not_admitted "a stranger is known to an honest node"
fi
# the impostor's claim to be node 3 changed nothing: node 3 is still up
# everywhere, with its own record (epoch 1)
if nodes 1 | grep -q "\"ip\":\"$(ip_of 3)\",\"reachable\":true[^}]*\"epoch\":1"; then
	pass overlayd_auth_impostor_changes_nothing
else
	fail overlayd_auth_impostor_changes_nothing "node 1's entry for node 3: $(nodes 1 |
		grep -o "\"ip\":\"$(ip_of 3)\"[^}]*")"
fi
# and the strangers themselves reach nobody
alone=1
for i in 5 6 7; do
	n=$(nodes "$i" | grep -o '"reachable":true' | wc -l)
	[ "$n" -le 1 ] || alone=0
done
if [ $alone = 1 ]; then pass overlayd_auth_strangers_reach_nobody; else
	fail overlayd_auth_strangers_reach_nobody "a stranger sees an honest node reachable"
fi
# nothing else went wrong on the honest nodes
if ! cat "$T"/n[1-4]/log | grep -q "overlay_rx_malformed\|Sanitizer\|runtime error"; then
	pass overlayd_auth_no_other_errors
else
	fail overlayd_auth_no_other_errors "$(cat "$T"/n[1-4]/log | grep -m2 'malformed\|Sanitizer')"
fi
finish
