#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ipvsd while many backends drain, on a real kernel (through the VM harness):
#	tests/vm/run.sh bench/ipvsd_drain_vm.sh [BUILD_DIR] [SERVICES] [DESTS]
# A table of SERVICES x DESTS, backend j of every service on node
# 10.0.0.(j+1) (ipvsd_feed's "gen ... agents"), plus a probe VIP whose
# backend's weight is changed a few times in each phase; the latency of
# such a change (the feed's publish to ipvsd's "reconcile:" line for that
# table, wall clock: it includes any time the change waited for the loop)
# is compared between:
#   idle:     nothing drains (the baseline, same run);
#   withheld: node 10.0.0.1 unreachable: its backend drains (weight 0) in
#             every service until --drain-grace ends (counters not polled);
#   polled:   the last backend of every service removed from the table: its
#             drains are polled (each service's counters dumped in turn) and
#             deleted as found idle; also the time until all are gone.
# Prints the node-down plan's time and the ratios of the median and worst
# latencies. (ipvsd_feed publishes its reachability again with every change:
# ipvsd plans the whole table for it, which is most of each latency here.)
set -eu
[ "${L4LB_VM:-}" = 1 ] || exec "$(dirname "$0")/../tests/vm/run.sh" "$0" "$@"
. "$(dirname "$0")/../tests/vm/lib.sh"
B=$(cd "${1:-build}" && pwd)
NS=${2:-10000}
ND=${3:-10}
ROUNDS=${ROUNDS:-7}
RUN=$VM_TMP/run
SPEC=$VM_TMP/spec
mkdir -p "$RUN"
ns_new node
n() { nx node "$@"; }
REACH_ALL="reach $(i=1; while [ $i -le "$ND" ]; do printf '10.0.0.%s ' $i; i=$((i + 1)); done)"
REACH_DOWN="reach $(i=2; while [ $i -le "$ND" ]; do printf '10.0.0.%s ' $i; i=$((i + 1)); done)"

spec() { # GEN_DESTS REACH WEIGHT
	printf 'gen %s %s agents\nvip tcp 12.0.0.1 80 10.200.0.1:80@10.0.0.2#%s\n%s\n' \
		"$NS" "$1" "$3" "$2" >"$SPEC.new"
	mv "$SPEC.new" "$SPEC"
}
# ms of day from HH:MM:SS.mmm
tod() { echo "$1" | awk -F'[:.]' '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'; }
W=1
# change: the probe's weight once more; prints the latency in ms
change() {
	W=$((W + 1))
	spec "$1" "$2" $W
	wait_until 60 sh -c "ip netns exec ${VM_NS}node ipvsadm -Ln -t 12.0.0.1:80 |
		grep -q '10.200.0.1:80 *Masq *$W '" || { echo "-1"; return; }
	g=$(sed -n 's/^published vip gen=\([0-9]*\) .*/\1/p' "$VM_TMP/feed.log" | tail -n 1)
	at=$(sed -n "s/^published vip gen=$g .* at=\([0-9:.]*\).*/\1/p" "$VM_TMP/feed.log")
	line=$(grep -m 1 "reconcile: .*VIP table $g," "$VM_TMP/ipvsd.log" || true)
	[ -n "$line" ] && [ -n "$at" ] || { echo "-1"; return; }
	echo $(($(tod "${line%% *}") - $(tod "$at")))
}
phase() { # NAME GEN_DESTS REACH: ROUNDS changes, "median max" (-1: not seen in 60 s)
	: >"$VM_TMP/lat"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		change "$2" "$3" >>"$VM_TMP/lat"
		sleep 0.5
		r=$((r + 1))
	done
	sort -n "$VM_TMP/lat" >"$VM_TMP/lat.s"
	med=$(sed -n "$(((ROUNDS + 1) / 2))p" "$VM_TMP/lat.s")
	max=$(if grep -qx -- -1 "$VM_TMP/lat.s"; then echo 60000; else tail -n 1 "$VM_TMP/lat.s"; fi)
	echo "# $1: probe change latencies (ms): $(tr '\n' ' ' <"$VM_TMP/lat.s")" >&2
	echo "$med $max"
}

spec "$ND" "$REACH_ALL" $W
"$B/tests/tools/ipvsd_feed" "$RUN" "$SPEC" >"$VM_TMP/feed.log" 2>&1 &
n "$B/ipvsd" --run-dir "$RUN" --state-dir "$VM_TMP/state" --reconcile-interval 600 \
	--http-listen off >"$VM_TMP/ipvsd.log" 2>&1 &
wait_until 600 grep -q "initial reconcile done" "$VM_TMP/ipvsd.log"
grep "initial reconcile done" "$VM_TMP/ipvsd.log" | sed 's/^/# /'
idle=$(phase idle "$ND" "$REACH_ALL")

# node 10.0.0.1 down: NS drains, withheld
spec "$ND" "$REACH_DOWN" $W
drained() { [ "$("$B/tests/tools/status_counter" "$RUN" ipvsd draining)" -ge "$NS" ] 2>/dev/null; }
wait_until 120 drained || echo "BENCH: FAIL: the node-down drains did not start"
down_line=$(grep "reconcile: $NS changes" "$VM_TMP/ipvsd.log" | tail -n 1)
echo "# node down: ${down_line#*info: }"
withheld=$(phase withheld "$ND" "$REACH_DOWN")

# node back (drains over), then the last backend of every service removed:
# NS drains, polled
spec "$ND" "$REACH_ALL" $W
undrained() { [ "$("$B/tests/tools/status_counter" "$RUN" ipvsd draining)" = 0 ] 2>/dev/null; }
wait_until 120 undrained || echo "BENCH: FAIL: the node-back plan did not end the drains"
t0=$(date +%s%N)
spec $((ND - 1)) "$REACH_ALL" $W
polled=$(phase polled $((ND - 1)) "$REACH_ALL")
wait_until 600 undrained || echo "BENCH: FAIL: the polled drains did not end within 600 s"
t1=$(date +%s%N)
left=$(n ipvsadm -Ln | grep -c "10\.$ND\.[0-9]*\.[0-9]*:8080" || true)
echo "# polled drains: all $NS gone in $(((t1 - t0) / 1000000)) ms ($left left in IPVS)"
ratio() { awk "BEGIN { printf \"%.2f\", ($1 < 1 ? 1 : $1) / ($2 < 1 ? 1 : $2) }"; }
report() { # WHAT "MEDIAN MAX"
	set -- "$1" ${2% *} ${2#* } ${idle% *} ${idle#* }
	echo "BENCH: probe change at $NS x $ND while $NS backends drain $1: median $2 ms," \
		"max $3 ms; idle median $4 ms, max $5 ms; ratios $(ratio "$2" "$4") (median)," \
		"$(ratio "$3" "$5") (max)"
}
report withheld "$withheld"
report polled "$polled"
ip netns pids "${VM_NS}node" | xargs -r kill
vm_done
