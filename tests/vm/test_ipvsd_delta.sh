#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ipvsd follows the VIP table by deltas (run it with tests/vm/run.sh
# tests/vm/test_ipvsd_delta.sh BUILD_DIR): ipvsd_feed publishes each change
# as vipd does, a snapshot on vipd.pub (which ipvsd no longer reads) and a
# VipTableDelta on vipd.delta.pub. A change must reach the kernel as a
# delta; a lost delta (a gap) must be noticed at the next one and repaired
# from a fresh snapshot, and, with no next one, by the periodic full check.
set -eu
. "$(dirname "$0")/lib.sh"
vm_only "${1:-build}" ipvsadm iptables

RUN=$VM_TMP/run
SPEC=$VM_TMP/spec
PERIOD=4
mkdir -p "$RUN"
ns_new node
n() { nx node "$@"; }
counter() { "$B/tests/tools/status_counter" "$RUN" ipvsd "$1" 2>/dev/null || echo 0; }
above() { [ "$(counter "$1")" -gt "$2" ]; } # NAME N: counter NAME above N

spec() { # BACKEND... [gap]
	{
		echo "vip tcp 11.0.0.1 80 $*" | sed 's/ gap$//'
		echo "vip udp 11.0.0.2 53 10.0.0.11:5353"
		case "$*" in *gap) echo gap ;; esac
	} >"$SPEC.new"
	mv "$SPEC.new" "$SPEC"
}
spec 10.0.0.11:8080 10.0.0.12:8080
"$B/tests/tools/ipvsd_feed" "$RUN" "$SPEC" >"$VM_TMP/feed.log" 2>&1 &
# --reachability-wait 0: the feeder publishes no reachability (nothing is
# withheld), so the 2 s wait for one at start would only delay the test
ip netns exec "${VM_NS}node" "$B/ipvsd" --run-dir "$RUN" --reconcile-interval $PERIOD \
	--reachability-wait 0 --state-dir "$VM_TMP/state" >"$VM_TMP/ipvsd.log" 2>&1 &
echo $! >"$VM_TMP/ipvsd.pid"

# ipvs: the kernel's IPVS table, read once (ipvsadm -Sn) for several looks
ipvs() { IPVS=$(n ipvsadm -Sn 2>/dev/null) || IPVS=; }
in_ipvs() { vm_has "-a -t 11.0.0.1:80 -r $1:8080 *" "$IPVS"; } # BACKEND: in the table read
has() { ipvs && in_ipvs "$1"; }
hasnt() { ! has "$1"; }
check "the first table comes from a snapshot" wait_until 30 has 10.0.0.12
# the first full check (with its nat rules check) is over before timing
wait_until 30 grep -q "initial reconcile done" "$VM_TMP/ipvsd.log" || true

# One backend more: a delta, applied without any snapshot.
d0=$(counter vip_deltas_applied)
r0=$(counter vip_delta_resyncs)
spec 10.0.0.11:8080 10.0.0.12:8080 10.0.0.13:8080
check "a change arrives as a delta and reaches the kernel" wait_until 10 has 10.0.0.13
check "... counted as a delta applied" wait_until 5 above vip_deltas_applied "$d0"
check_eq "... with no snapshot asked for" "$r0" "$(counter vip_delta_resyncs)"
gen=$(grep published "$VM_TMP/feed.log" | tail -n 1 | sed -n 's/.* gen=\([0-9]*\) .*/\1/p')
line=$(grep "reconcile: [0-9]* changes in .*VIP table $gen," "$VM_TMP/ipvsd.log" | head -n 1)
echo "# delta->kernel: $(echo "$line" | sed -n 's/.*changes in \([0-9]*\) us.*/\1/p') us"

# A lost delta, then the next change: the gap is seen, a snapshot fetched,
# and both changes are in the kernel. A periodic full check that fetches the
# table between the two (a slow, loaded VM) leaves no gap to see: counted
# (vip_tables rose, no resync), then the pair is tried again, 3 times at most.
published() { grep -c published "$VM_TMP/feed.log"; }
published_above() { [ "$(published)" -gt "$1" ]; }
# gap_then SPEC_WITH_GAP SPEC_NEXT: 0 resynced, 2 the periodic check came
# between, 1 neither
gap_then() {
	_f=$(counter vip_tables) _p=$(published)
	spec $1 gap
	wait_until 10 published_above "$_p"
	spec $2
	# either counter rising ends the wait: a resync counts before its
	# snapshot does, so one that came is seen when vip_tables is
	wait_until 10 resync_or_table "$_f" || true
	above vip_delta_resyncs "$r0" && return 0
	above vip_tables "$_f" && return 2
	return 1
}
resync_or_table() { above vip_delta_resyncs "$r0" || above vip_tables "$1"; } # VIP_TABLES
resynced() {
	_rc=0
	gap_then "10.0.0.11:8080 10.0.0.13:8080" "10.0.0.11:8080 10.0.0.13:8080 10.0.0.14:8080" ||
		_rc=$?
	for _try in 2 3; do
		[ "$_rc" = 2 ] || break
		echo "# try $_try: a periodic full check came between the gap and the next delta"
		_rc=0
		gap_then "10.0.0.11:8080 10.0.0.13:8080 10.0.0.14:8080 10.0.0.16:8080" \
			"10.0.0.11:8080 10.0.0.13:8080 10.0.0.14:8080" || _rc=$?
	done
	[ "$_rc" = 0 ]
}
if resynced; then
	pass "after a lost delta the next one is not applied: a snapshot is asked for"
else
	fail "after a lost delta the next one is not applied: a snapshot is asked for" \
		"vip_delta_resyncs stayed at $r0"
fi
both() { ipvs && in_ipvs 10.0.0.14 && ! in_ipvs 10.0.0.12 && ! in_ipvs 10.0.0.16; }
if wait_until 10 both; then
	pass "... and the kernel holds both changes"
else
	fail "... and the kernel holds both changes" "$(n ipvsadm -Ln -t 11.0.0.1:80 | tr '\n' ' ')"
fi

# A lost delta and nothing after it: the periodic full check (a fresh
# snapshot compared in full) repairs it within one period.
r1=$(counter vip_delta_resyncs)
f1=$(counter vip_tables)
t0=$(($(date +%s%N) / 1000000))
spec 10.0.0.11:8080 10.0.0.13:8080 10.0.0.14:8080 10.0.0.15:8080 gap
if wait_until $((PERIOD * 3)) has 10.0.0.15; then
	echo "# lost delta repaired after $(($(date +%s%N) / 1000000 - t0)) ms (period $PERIOD s)"
	pass "a lost delta with nothing after it is repaired by the periodic full check"
else
	fail "a lost delta with nothing after it is repaired by the periodic full check" \
		"$(n ipvsadm -Ln -t 11.0.0.1:80 | tr '\n' ' ')"
fi
check "... from a fresh snapshot, not a resync" test "$(counter vip_tables)" -gt "$f1"
check_eq "... (no delta was there to notice the gap)" "$r1" "$(counter vip_delta_resyncs)"
check "no bad input counted on the way" \
	test -z "$(grep -e vip_delta_malformed -e vip_delta_unclean "$VM_TMP/ipvsd.log")"

kill "$(cat "$VM_TMP/ipvsd.pid")" 2>/dev/null || true
vm_done
