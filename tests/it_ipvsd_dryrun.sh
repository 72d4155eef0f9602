#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# ipvsd --dry-run on this (IPVS-less) machine, in a network namespace of its
# own: it plans against an empty kernel and prints the changes in order
# (service and destinations before the VIP address; the address removed
# before the service); a missing IPVS is a clear error with exit status 1.
. tests/lib.sh
scratch_dir

need_netns "ipvsd dry run"

out=$(unshare -n "$B/ipvsd" --run-dir "$T/err" 2>&1)
rc=$?
if [ "$rc" = 1 ] && echo "$out" | grep -q 'modprobe ip_vs'; then
	pass "without IPVS: exit 1 naming modprobe ip_vs"
else
	fail "without IPVS: exit 1 naming modprobe ip_vs" "rc=$rc: $out"
fi

lines() { [ "$(grep -c . "$T/plan")" -ge "$1" ]; }
cat >"$T/spec" <<'SPEC'
vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.1.1 10.0.0.12:8080@10.0.1.2
vip udp fd01:c::1 53 [fd00::11]:5353
SPEC
dry_ipvsd "$T" "$T/plan" "$T/log"
wait_for 10 lines 9
cat >"$T/want" <<'WANT'
add-service tcp 11.0.0.1:80 wlc
add-dest tcp 11.0.0.1:80 -> 10.0.0.11:8080 weight 1
add-dest tcp 11.0.0.1:80 -> 10.0.0.12:8080 weight 1
add-service udp [fd01:c::1]:53 wlc
add-dest udp [fd01:c::1]:53 -> [fd00::11]:5353 weight 1
add-member tcp 11.0.0.1:80
add-member udp [fd01:c::1]:53
add-address 11.0.0.1
add-address fd01:c::1
WANT
# same_plan NAME: the plan printed so far is exactly $T/want.
same_plan() {
	if diff -u "$T/want" "$T/plan" >"$T/diff"; then
		pass "$1"
	else
		fail "$1" "$(tr '\n' ' ' <"$T/diff")"
	fi
}
same_plan "dry run prints the first plan, services before addresses (no reachability yet)"

# Reachability arrives without 10.0.0.12's agent: drained (TCP), not deleted.
echo "reach 10.0.1.1" >>"$T/spec"
wait_for 10 lines 10
echo "set-dest tcp 11.0.0.1:80 -> 10.0.0.12:8080 weight 0" >>"$T/want"
same_plan "an unreachable TCP backend is drained (weight 0)"

# `l4lbctl ipvs` while something is pending: the drained backend is withheld
# in what ipvsd wants, at weight 0 in what it programmed, and its deletion
# (once its connections end) is the difference.
# section TITLE: the lines under TITLE in the text of `l4lbctl ipvs` ($out).
section() {
	echo "$out" | awk -v t="$1" 'index($0, t) == 1 { on = 1; next } /^[a-z]/ { on = 0 } on'
}
count_in() { [ "$(section "$1" | grep -c -- "$2")" = "$3" ]; } # TITLE PATTERN N
check_eq() { # NAME WANT GOT
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "$(printf "want '%s', got '%s'" "$2" "$3" | tr '\n' ' ')"
	fi
}
out=$("$B/l4lbctl" --run-dir "$T" ipvs 2>&1)
check "l4lbctl ipvs, draining: wanted withheld" \
	count_in desired: '10.0.0.12:8080 .*withheld: agent 10.0.1.2 unreachable' 1
check "l4lbctl ipvs, draining: programmed at weight 0" \
	count_in kernel '10.0.0.12:8080 *weight 0 ' 1
check_eq "l4lbctl ipvs, draining: the deletion is the difference" \
	"pending: 1 changes
  del-dest tcp 11.0.0.1:80 -> 10.0.0.12:8080 weight 0 (draining)" \
	"$(echo "$out" | sed -n '/^pending:/,$p')"

# The UDP VIP goes away.
cat >"$T/spec" <<'SPEC'
vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.1.1 10.0.0.12:8080@10.0.1.2
reach 10.0.1.1
SPEC
wait_for 10 lines 13
cat >>"$T/want" <<'WANT'
del-address fd01:c::1
del-member udp [fd01:c::1]:53
del-service udp [fd01:c::1]:53
WANT
same_plan "only the difference follows; the address goes before the service"

# 10.0.0.12's agent is reachable again: its weight comes back.
echo "reach 10.0.1.1 10.0.1.2" >>"$T/spec"
sed -i '/^reach 10.0.1.1$/d' "$T/spec"
wait_for 10 lines 14
echo "set-dest tcp 11.0.0.1:80 -> 10.0.0.12:8080 weight 1" >>"$T/want"
same_plan "a backend whose agent is reachable again gets its weight back"

json=$("$B/l4lbctl" --run-dir "$T" ipvs --json 2>&1)
case "$json" in
*'"desired":[{"protocol":"tcp","ip":"11.0.0.1","port":80,"scheduler":"wlc","flags":0,"persistence_timeout":0,"netmask":4294967295,"dests":[{"ip":"10.0.0.11"'*'"pending":[]}')
	pass "l4lbctl ipvs --json shows the desired table and nothing pending" ;;
*) fail "l4lbctl ipvs --json shows the desired table and nothing pending" "$json" ;;
esac
# The VIP table changes after the first came as deltas (only the changed
# VIPs sent and unpacked), not as full snapshots.
fast=$("$B/tests/tools/status_counter" "$T" ipvsd vip_deltas_applied 2>&1)
if [ "$fast" -ge 1 ] 2>/dev/null; then
	pass "VIP table changes arrive as deltas ($fast applied)"
else
	fail "VIP table changes arrive as deltas" "vip_deltas_applied: $fast"
fi
# ipvsd_feed republishes reachability (a new generation) with every change;
# those with the same nodes (the UDP VIP's removal) are not planned again.
same=$("$B/tests/tools/status_counter" "$T" ipvsd reachability_unchanged 2>&1)
all=$("$B/tests/tools/status_counter" "$T" ipvsd reachability_snapshots 2>&1)
if [ "$same" -ge 1 ] 2>/dev/null && [ "$all" -gt "$same" ]; then
	pass "a reachability snapshot with the same nodes is not planned ($same of $all)"
else
	fail "a reachability snapshot with the same nodes is not planned" \
		"reachability_unchanged: $same, reachability_snapshots: $all"
fi
# --- An existing interface that is not a dummy (here lo): refused, and with
# --any-interface only VIP addresses are ever planned for removal.
kill_all
mkdir -p "$T/lo"
out=$(unshare -n sh -c "ip link set lo up && exec $B/ipvsd --run-dir $T/lo --dry-run \
	--interface lo" 2>&1)
rc=$?
if [ "$rc" = 1 ] && echo "$out" | grep -q 'not a dummy interface'; then
	pass "--interface lo (not a dummy): refused with exit 1"
else
	fail "--interface lo (not a dummy): refused with exit 1" "rc=$rc: $out"
fi
cat >"$T/lo/spec" <<'SPEC'
vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.1.1
SPEC
spawn "$B/tests/tools/ipvsd_feed" "$T/lo" "$T/lo/spec" >"$T/lo/feed" 2>&1
spawn unshare -n sh -c "ip link set lo up && exec $B/ipvsd --run-dir $T/lo --dry-run \
	--interface lo --any-interface" >"$T/lo/plan" 2>"$T/lo/log"
synced() { grep -q 'initial reconcile done' "$1"; }
if ! wait_for 15 synced "$T/lo/log"; then
	fail "--any-interface lo: first plan" "$(tail -3 "$T/lo/log" | tr '\n' ' ')"
elif grep -q 'del-address' "$T/lo/plan" || ! grep -q 'add-address 11.0.0.1' "$T/lo/plan"; then
	fail "--any-interface lo: 127.0.0.1 and ::1 are not planned for removal" \
		"$(tr '\n' ' ' <"$T/lo/plan")"
else
	pass "--any-interface lo: 127.0.0.1 and ::1 are not planned for removal"
fi
kill_all

# --- A restart while an agent is unreachable: the first plan waits for the
# reachability snapshot (up to --reachability-wait), so the withheld backend
# is never added. The VIP table comes first here, reachability after it.
bad=""
got_table() { [ "$("$B/tests/tools/status_counter" "$1" ipvsd vip_tables 2>/dev/null)" -ge 1 ]; }
for i in 1 2 3; do
	d="$T/r$i"
	mkdir -p "$d"
	echo "vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.1.1 10.0.0.12:8080@10.0.1.2" >"$d/spec"
	spawn unshare -n "$B/ipvsd" --run-dir "$d" --dry-run >"$d/plan" 2>"$d/log"
	spawn "$B/tests/tools/ipvsd_feed" "$d" "$d/spec" >"$d/feed" 2>&1
	wait_for 10 got_table "$d"
	echo "reach 10.0.1.1" >>"$d/spec"
	if ! wait_for 15 synced "$d/log"; then
		bad="$bad start $i: no first plan;"
	elif grep -q '10.0.0.12' "$d/plan" || ! grep -q '> 10.0.0.11:8080' "$d/plan"; then
		bad="$bad start $i: $(tr '\n' ' ' <"$d/plan");"
	fi
	kill_all
done
if [ -z "$bad" ]; then
	pass "restart with an agent down: its backend is never added (3 starts)"
else
	fail "restart with an agent down: its backend is never added (3 starts)" "$bad"
fi
# A dry run says the start's setup it would do in its log (in a fresh network
# namespace: no interface, no sets, no IPVS sysctls), next to the plan.
miss=""
for want in "would create dummy interface" "would create ipset l4lb-vips4 (hash:ip,port family inet)" \
	"would create ipset l4lb-vips6 (hash:ip,port family inet6)" \
	"would set /proc/sys/net/ipv4/vs/conntrack = 1" "would check and put in place the nat chains"; do
	grep -qF "dry-run: $want" "$T/r1/log" || miss="$miss '$want'"
done
if [ -z "$miss" ]; then pass "dry run: the setup it would do is in its log"; else
	fail "dry run: the setup it would do is in its log" "missing:$miss"
fi

# --- overlayd away: after --reachability-wait nothing is withheld (as before).
d="$T/noreach"
mkdir -p "$d"
echo "vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.1.1 10.0.0.12:8080@10.0.1.2" >"$d/spec"
spawn "$B/tests/tools/ipvsd_feed" "$d" "$d/spec" >"$d/feed" 2>&1
spawn unshare -n "$B/ipvsd" --run-dir "$d" --dry-run --reachability-wait 300 >"$d/plan" \
	2>"$d/log"
if wait_for 10 synced "$d/log" && grep -q '> 10.0.0.12:8080 weight 1' "$d/plan" &&
	grep -q 'no reachability snapshot' "$d/log"; then
	pass "no reachability within --reachability-wait: nothing withheld"
else
	fail "no reachability within --reachability-wait: nothing withheld" \
		"$(tr '\n' ' ' <"$d/plan")"
fi
kill_all

# --- `l4lbctl ipvs` while the first plan waits for reachability: the whole
# table is wanted, nothing programmed, all of it pending in apply order;
# once reachability came, all of it programmed and nothing pending.
d="$T/hold"
mkdir -p "$d"
echo "vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.1.1 10.0.0.12:8080@10.0.1.2" >"$d/spec"
spawn "$B/tests/tools/ipvsd_feed" "$d" "$d/spec" >"$d/feed" 2>&1
spawn unshare -n "$B/ipvsd" --run-dir "$d" --dry-run --reachability-wait 60000 >"$d/plan" \
	2>"$d/log"
wait_for 10 got_table "$d"
out=$("$B/l4lbctl" --run-dir "$d" ipvs 2>&1)
check_eq "l4lbctl ipvs, nothing applied yet: wanted" "desired: 1 services" \
	"$(echo "$out" | grep '^desired:')"
check_eq "l4lbctl ipvs, nothing applied yet: programmed" \
	"kernel (as ipvsd knows it): 0 services" "$(echo "$out" | grep '^kernel')"
check_eq "l4lbctl ipvs, nothing applied yet: all of it pending, in order" \
	"pending: 5 changes
  add-service tcp 11.0.0.1:80 wlc
  add-dest tcp 11.0.0.1:80 -> 10.0.0.11:8080 weight 1
  add-dest tcp 11.0.0.1:80 -> 10.0.0.12:8080 weight 1
  add-member tcp 11.0.0.1:80
  add-address 11.0.0.1" "$(echo "$out" | sed -n '/^pending:/,$p')"
check "... and nothing applied" test ! -s "$d/plan"
echo "reach 10.0.1.1 10.0.1.2" >>"$d/spec"
wait_for 10 synced "$d/log"
out=$("$B/l4lbctl" --run-dir "$d" ipvs 2>&1)
check_eq "l4lbctl ipvs, applied: nothing pending" "pending: 0 changes" \
	"$(echo "$out" | sed -n '/^pending:/,$p')"
check "l4lbctl ipvs, applied: programmed as wanted" \
	count_in kernel '10.0.0.1[12]:8080 *weight 1 ' 2
kill_all

# --- systemd readiness (a NOTIFY_SOCKET test double): READY=1 only once the
# first reconcile is done; with no vipd at all, after a bounded wait (10 s).
# notify_listen SOCKET LOG: prints each message received on SOCKET, and for
# READY=1 whether LOG already said the first reconcile was done.
notify_listen() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(20)
open(sys.argv[1] + ".ready", "w").close()
while True:
    m = s.recv(256).decode()
    done = "initial reconcile done" in open(sys.argv[2]).read()
    print(m, "after-sync" if done else "before-sync", flush=True)
' "$1" "$2"
}
for n in sync novipd; do
	d="$T/n-$n"
	mkdir -p "$d"
	: >"$d/log"
	spawn notify_listen "$d/notify" "$d/log" >"$d/notify.out" 2>&1
	wait_for 5 test -e "$d/notify.ready"
done
d="$T/n-sync"
printf 'vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.1.1\nreach 10.0.1.1\n' >"$d/spec"
spawn env NOTIFY_SOCKET="$d/notify" unshare -n "$B/ipvsd" --run-dir "$d" --dry-run \
	>"$d/plan" 2>>"$d/log"
spawn env NOTIFY_SOCKET="$T/n-novipd/notify" unshare -n "$B/ipvsd" --run-dir "$T/n-novipd" \
	--dry-run >/dev/null 2>>"$T/n-novipd/log"
sleep 0.5 # READY=1 must not come before the table, however long it takes
spawn "$B/tests/tools/ipvsd_feed" "$d" "$d/spec" >"$d/feed" 2>&1
if wait_for 10 grep -q "READY=1" "$d/notify.out" &&
	grep -q "READY=1 after-sync" "$d/notify.out"; then
	pass "READY=1 is sent after the first reconcile"
else
	fail "READY=1 is sent after the first reconcile" "$(cat "$d/notify.out")"
fi
if wait_for 15 grep -q "READY=1" "$T/n-novipd/notify.out" &&
	grep -q 'telling systemd ipvsd is ready' "$T/n-novipd/log"; then
	pass "READY=1 without vipd after a bounded wait"
else
	fail "READY=1 without vipd after a bounded wait" "$(cat "$T/n-novipd/notify.out")"
fi
kill_all

# --- An unknown --scheduler is refused at start (it would fail every
# add-service while the VIP addresses still went in); a real one is accepted.
out=$("$B/ipvsd" --run-dir "$T/sched" --scheduler bogus --check-config 2>&1)
rc=$?
if [ "$rc" != 0 ] && echo "$out" | grep -q 'bogus: not an IPVS scheduler'; then
	pass "--scheduler bogus: refused naming it (exit $rc)"
else
	fail "--scheduler bogus: refused naming it" "rc=$rc: $out"
fi
check "--scheduler mh: accepted" "$B/ipvsd" --run-dir "$T/sched" --scheduler mh --check-config
check "--full-pass-slice-ms 0 and 5: accepted" sh -c "$B/ipvsd --run-dir $T/sched \
	--full-pass-slice-ms 0 --check-config && $B/ipvsd --run-dir $T/sched \
	--full-pass-slice-ms 5 --check-config"
"$B/ipvsd" --run-dir "$T/sched" --full-pass-slice-ms 5000 --check-config >/dev/null 2>&1
check_eq "--full-pass-slice-ms 5000: refused (exit 2)" 2 "$?"
finish
