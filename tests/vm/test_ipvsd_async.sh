#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ipvsd's nat rule checks never hold up the snapshot path (run it with
# tests/vm/run.sh tests/vm/test_ipvsd_async.sh BUILD_DIR): iptables and
# ip6tables are replaced, for ipvsd only, by wrappers that take DELAY seconds
# per call, and a full reconcile runs every second, so a rules check is almost
# always in flight. Reachability and VIP table changes must still reach the
# kernel in well under a second; the checks run one at a time, and a rule
# deleted behind ipvsd's back is put back.
# Timed to the millisecond: never beside a cluster.
# vm-suite: heavy
set -eu
. "$(dirname "$0")/lib.sh"
vm_only "${1:-build}" ipvsadm iptables

# 0.25 s per call: a rules check (14 calls, twice that at the first start)
# then lasts 3.5 s or more, so waiting for one would break LIMIT_MS at once
# (longer delays only made the suite slower)
DELAY=0.25
LIMIT_MS=1000
RUN=$VM_TMP/run
SPEC=$VM_TMP/spec
SLOW=$VM_TMP/slowbin
mkdir -p "$RUN" "$SLOW"
# ms: the clock in ms, to 10 ms, from /proc/uptime (no process started)
ms() {
	read -r _t _ </proc/uptime
	echo $((${_t%.*}${_t#*.} * 10))
}

# The wrappers (shell builtins apart from the delay and the real call):
# each writes "+ PID" to ipt.calls when it starts and "- PID" when it ends,
# appended (so in the order they happened); two "+" without a "-" between
# mean two calls overlapped. ipt.busy holds 1 while a call is in flight.
for t in iptables ip6tables; do
	real=$(command -v $t)
	cat >"$SLOW/$t" <<EOF
#!/bin/sh
echo "+ \$\$ \$*" >>"$VM_TMP/ipt.calls"
echo 1 >"$VM_TMP/ipt.busy"
sleep $DELAY
$real "\$@"
rc=\$?
echo 0 >"$VM_TMP/ipt.busy"
echo "- \$\$" >>"$VM_TMP/ipt.calls"
exit \$rc
EOF
	chmod +x "$SLOW/$t"
done
busy() { read -r _b <"$VM_TMP/ipt.busy" && [ "$_b" = 1 ]; } 2>/dev/null
# overlapped: a call started while another was in flight (printed)
overlapped() { awk '$1 == "+" && open { print; bad = 1 } { open = $1 == "+" } END { exit !bad }' \
	"$VM_TMP/ipt.calls"; }

ns_new node
n() { nx node "$@"; }

spec() { # REACH EXTRA_VIP(0|1)
	{
		echo "vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.0.11 10.0.0.12:8080@10.0.0.12"
		echo "vip udp 11.0.0.1 53 10.0.0.11:5353@10.0.0.11 10.0.0.12:5353@10.0.0.12"
		[ "$2" = 0 ] || echo "vip tcp 11.0.0.3 80 10.0.0.13:8080@10.0.0.11"
		echo "reach $1"
	} >"$SPEC.new"
	mv "$SPEC.new" "$SPEC"
}
spec "10.0.0.11 10.0.0.12" 0
"$B/tests/tools/ipvsd_feed" "$RUN" "$SPEC" >"$VM_TMP/feed.log" 2>&1 &
ip netns exec "${VM_NS}node" env PATH="$SLOW:$PATH" "$B/ipvsd" --run-dir "$RUN" \
	--reconcile-interval 1 --state-dir "$VM_TMP/state" --log-level debug \
	>"$VM_TMP/ipvsd.log" 2>&1 &
echo $! >"$VM_TMP/ipvsd.pid"

dests_are() { # N: 11.0.0.1:80 has N masquerade destinations (one ipvsadm, no grep)
	vm_count "-a -t 11.0.0.1:80 -r * -m *" "$(n ipvsadm -Sn 2>/dev/null)" && [ "$VM_N" = "$1" ]
}
if wait_until 20 dests_are 2; then
	pass "ipvsd programs the table while its iptables calls are slow"
else
	fail "ipvsd programs the table while its iptables calls are slow" \
		"$(tail -n 3 "$VM_TMP/ipvsd.log" | tr '\n' ' ')"
fi

# change WANT_CMD...: waits until WANT_CMD holds after the spec was written
# at t0 (ms), when the feeder had published $pub times; prints "KERNEL_MS
# WALL_MS": from the feeder publishing the snapshot to ipvsd's log line
# written after its kernel writes, and (an upper bound: the feeder's 50 ms
# poll and the test's own ipvsadm runs count in it) from the spec change to
# the test seeing the kernel changed.
published_since() { [ "$(grep -c published "$VM_TMP/feed.log")" -gt "$1" ]; }
# kernel_ms: the feeder's last publication to ipvsd's first log line about
# that generation, in ms (one awk for both logs: every process counts here).
# The feeder gives the VIP table and the reachability the same generation and
# publishes them on two sockets: when the reachability comes first, the
# change is planned with it ("VIP table G-1, reachability G") and the VIP
# table that follows plans nothing (no line), so either names the change.
kernel_ms() {
	awk 'function ms(t, a) {
			split(t, a, /[:.]/); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] }
		FNR == NR { if ($1 == "published") { gen = $3; at = $5 } next }
		FNR == 1 { sub(/^gen=/, "", gen); sub(/^at=/, "", at) }
		!done && (index($0, "VIP table " gen ",") || index($0, "reachability " gen ";")) &&
		    /reconcile: [0-9]* changes in/ {
			done = 1; print (ms($1) - ms(at) + 86400000) % 86400000 }
		END { if (!done) print 99999 }' "$VM_TMP/feed.log" "$VM_TMP/ipvsd.log"
}
change() {
	wait_until 10 "$@" || { echo "99999 99999"; return; }
	_wall=$(($(ms) - t0))
	wait_until 5 published_since "$pub" || true
	echo "$(kernel_ms) $_wall"
}
has_vip3() { n ipvsadm -Ln -t 11.0.0.3:80 >/dev/null 2>&1; }
no_vip3() { ! has_vip3; }
worst=0
worst_wall=0
inflight=0
changes=0
for round in 1 2 3; do
	for step in withhold restore addvip delvip; do
		# start each change while a rules check is running
		wait_until 20 busy && busy && inflight=$((inflight + 1))
		pub=$(grep -c published "$VM_TMP/feed.log")
		t0=$(ms)
		case $step in
		withhold)
			spec "10.0.0.11" 0
			t=$(change dests_are 1) ;;
		restore)
			spec "10.0.0.11 10.0.0.12" 0
			t=$(change dests_are 2) ;;
		addvip)
			spec "10.0.0.11 10.0.0.12" 1
			t=$(change has_vip3) ;;
		delvip)
			spec "10.0.0.11 10.0.0.12" 0
			t=$(change no_vip3) ;;
		esac
		k=${t% *}
		w=${t#* }
		echo "# round $round $step: snapshot->kernel $k ms (seen by the test after $w ms)"
		changes=$((changes + 1))
		[ "$k" -le "$worst" ] || worst=$k
		[ "$w" -le "$worst_wall" ] || worst_wall=$w
	done
done
echo "# snapshot->kernel: worst $worst ms over $changes changes ($inflight started while" \
	"an iptables call was in flight); seen by the test within $worst_wall ms"
if [ "$worst" -lt "$LIMIT_MS" ]; then
	pass "reachability and VIP changes reach the kernel in < $LIMIT_MS ms during rules checks"
else
	fail "reachability and VIP changes reach the kernel in < $LIMIT_MS ms during rules checks" \
		"worst $worst ms"
fi
check_eq "most changes started while a rules check was in flight" 1 \
	"$([ "$inflight" -ge $((changes / 2)) ] && echo 1 || echo "$inflight of $changes")"
no_overlap() { ! overlapped; }
check "never more than one iptables call at a time" no_overlap

# l4lbctl ipvs says which backend is withheld and why.
spec "10.0.0.11" 0
wait_until 10 dests_are 1 || true
check "l4lbctl ipvs shows the withheld backend and why" sh -c \
	"'$B/l4lbctl' --run-dir '$RUN' ipvs |
	grep -q '10.0.0.12:8080 *withheld: agent 10.0.0.12 unreachable'"
check "... and so does l4lbctl ipvs --json" sh -c "'$B/l4lbctl' --run-dir '$RUN' ipvs --json |
	grep -q '\"withheld\":\"agent 10.0.0.12 unreachable\"'"
spec "10.0.0.11 10.0.0.12" 0

# The checks put ipvsd's rules in place, and put back one deleted behind its back.
rules_in_place() {
	n iptables -w -t nat -C OUTPUT -j L4LB-VIPS &&
		n iptables -w -t nat -C POSTROUTING -j L4LB-MASQ &&
		n ip6tables -w -t nat -C PREROUTING -j L4LB-VIPS
}
check "the rules check puts every rule in place" wait_until 60 rules_in_place
n iptables -w -t nat -D OUTPUT -j L4LB-VIPS
check "a rule deleted behind ipvsd's back is put back" wait_until 60 rules_in_place
check "ipvsd counts its rules checks" grep -q "nat: rules check done" "$VM_TMP/ipvsd.log"

kill "$(cat "$VM_TMP/ipvsd.pid")" 2>/dev/null || true
vm_done
