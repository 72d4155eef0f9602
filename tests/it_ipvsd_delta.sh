#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# ipvsd follows the VIP table by vipd's deltas (vipd.delta.pub), here with
# --dry-run in a network namespace of its own, fed by ipvsd_feed: a change
# is applied from its delta alone; a malformed delta, a lost one (gap) and a
# restarted publisher (new epoch) each make ipvsd fetch a snapshot (counted),
# and the change still reaches its plan; a publisher that stops sending
# deltas (a vipd from before them) is noticed and polled for snapshots, so
# its changes still arrive in seconds, not at the next full check (600 s
# here); nothing is applied twice.
. tests/lib.sh
scratch_dir

need_netns "ipvsd deltas"
counter() { "$B/tests/tools/status_counter" "$T" ipvsd "$1" 2>/dev/null || echo 0; }
above() { [ "$(counter "$1")" -gt "$2" ]; } # NAME N: counter NAME above N
planned() { grep -q -- "add-dest tcp 11.0.0.1:80 -> $1:8080 weight 1" "$T/plan"; }
published() { grep -c published "$T/feed"; }
published_above() { [ "$(published)" -gt "$1" ]; }
spec() { # EXTRA_LINE BACKEND...: the spec, and wait until it is published
	_p=$(published)
	_x=$1
	shift
	{ echo "vip tcp 11.0.0.1 80$(for b in "$@"; do printf ' %s:8080' "$b"; done)"
	  [ -z "$_x" ] || echo "$_x"; } >"$T/spec.new"
	mv "$T/spec.new" "$T/spec"
	wait_for 10 published_above "$_p"
}

echo "vip tcp 11.0.0.1 80 10.0.0.11:8080" >"$T/spec"
dry_ipvsd "$T" "$T/plan" "$T/log" --reconcile-interval 600
check "the first table comes from a snapshot" wait_for 10 planned 10.0.0.11

# (the first delta, a heartbeat, may come before the first snapshot: a resync)
r=$(counter vip_delta_resyncs)
spec "" 10.0.0.11 10.0.0.12
check "a change is applied from its delta" wait_for 10 planned 10.0.0.12
check "... counted as a delta" wait_for 5 above vip_deltas_applied 0
check "... with no snapshot asked for" test "$r" = "$(counter vip_delta_resyncs)"

spec garbage 10.0.0.11 10.0.0.12 10.0.0.13
check "a malformed delta is counted as bad input" wait_for 10 above vip_delta_malformed 0
check "... and a snapshot brings its change" wait_for 10 planned 10.0.0.13
check "... fetched as a resync" wait_for 5 above vip_delta_resyncs "$r"

spec gap 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.14
spec "" 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.14 10.0.0.15
check "after a lost delta, the next one is not applied: a snapshot brings both" \
	wait_for 10 sh -c "grep -q -- '-> 10.0.0.14:8080' '$T/plan' &&
		grep -q -- '-> 10.0.0.15:8080' '$T/plan'"
check "... fetched as a resync" above vip_delta_resyncs "$r"
r=$(counter vip_delta_resyncs)
m=$(counter vip_delta_malformed)

spec "epoch 2" 10.0.0.11 10.0.0.16
check "a restarted publisher (new epoch): a snapshot brings its table" \
	wait_for 10 planned 10.0.0.16
check "... fetched as a resync" above vip_delta_resyncs "$r"
# (its first delta is a heartbeat that carries nothing, as vipd's: one
# that did, republished, was malformed again every second)
check "... its first delta is no bad input" test "$m" = "$(counter vip_delta_malformed)"
# vipd's heartbeat (its last delta, repeated) may overtake the reply: that
# second resync is held back by the once-a-second limit, and the reply,
# being that new, answers it: nothing is left to ask (before, a second
# request went out a second later)
check "... and no second request is left pending" \
	test "$(counter vip_resync_pending)" = 0
spec "epoch 2" 10.0.0.11 10.0.0.16 10.0.0.17
check "... and its next change is applied from its delta" wait_for 10 planned 10.0.0.17

# From here on no delta at all (the feed publishes snapshots only): the
# change below comes from a polled snapshot (no resync is left pending, as
# checked above, to bring it instead).
q=$(counter vip_snapshot_requests)
spec "$(printf 'epoch 2\nnodelta')" 10.0.0.11 10.0.0.16 10.0.0.17 10.0.0.18
t0=$(now_ms)
if wait_for 25 planned 10.0.0.18; then
	pass "deltas stopped: the change comes from a polled snapshot ($(($(now_ms) - t0)) ms)"
else
	fail "deltas stopped: the change comes from a polled snapshot" "$(tail -n 3 "$T/log")"
fi
check "... the quiet feed is counted" above vip_delta_feed_quiet 0
check "... asked for by the poll" above vip_snapshot_requests "$q"
dups=$(grep -- '-> 10.0.0.1[0-9]:8080 weight 1' "$T/plan" | grep '^add-dest' | sort | uniq -d)
check_dups() { [ -z "$dups" ] || { echo "added twice: $dups"; return 1; }; }
check "no change planned twice" check_dups
finish
