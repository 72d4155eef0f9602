#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# overlayd under membership churn on loopback (127.0.84.x): nodes 1 and 2
# stay up while nodes 3..5 are killed (TERM or KILL) and restarted with new
# epochs, round after round. Node 1 sees every restarted node again each
# round with its new epoch; its RSS and fd count stop growing after the
# warm-up (measured: flat from about round 25 on, within 64 kB); it exits
# cleanly (LeakSanitizer's exit check under make check-asan).
# L4LB_LEAK_ROUNDS: rounds of churn (default 40).
set -u
B=${1:-build}
. tests/lib.sh
T=$(mktemp -d)
trap 'kill_all; rm -rf "$T"' EXIT
R=${L4LB_LEAK_ROUNDS:-40}

ip_of() { echo "127.0.84.$1"; }
start() { # i
	mkdir -p "$T/n$1"
	spawn "$B/overlayd" --run-dir "$T/n$1" --state-dir "$T/n$1" --log-level warn \
		--listen "$(ip_of "$1"):61420" --seeds "$(ip_of 1),$(ip_of 2)" 2>>"$T/n$1/log"
	eval "PID_$1=\$LAST_PID"
}
sees() { # J STATE: node 1 reports node J reachable=STATE
	"$B/l4lbctl" --run-dir "$T/n1" --timeout 500 nodes --json 2>/dev/null |
		grep -q "\"ip\":\"$(ip_of "$1")\",\"reachable\":$2"
}
all_up() { for j in 2 3 4 5; do sees "$j" true || return 1; done; }
# every restarted node is reachable from node 1 with its new epoch E
epoch_up() {
	out=$("$B/l4lbctl" --run-dir "$T/n1" --timeout 500 nodes --json 2>/dev/null) || return 1
	for j in 3 4 5; do
		pat="\"ip\":\"$(ip_of "$j")\",\"reachable\":true[^}]*\"epoch\":$1[,}]"
		echo "$out" | grep -q "$pat" || return 1
	done
}
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID_1/status"; }
fds() { ls "/proc/$PID_1/fd" | wc -l; }

for i in 1 2 3 4 5; do start "$i"; done
if ! wait_for 20 all_up; then
	fail leak_overlayd_forms "node 1 does not see every node after 20 s"
	finish
fi
ok=0 samples=""
for r in $(seq 1 "$R"); do
	for i in 3 4 5; do
		eval "p=\$PID_$i"
		[ $(((r + i) % 2)) = 0 ] && kill -KILL "$p" || kill -TERM "$p"
		wait "$p" 2>/dev/null
	done
	for i in 3 4 5; do start "$i"; done
	wait_for 20 epoch_up $((r + 1)) && wait_for 5 all_up && ok=$((ok + 1))
	samples="$samples $r:$(rss)/$(fds)"
	if [ "$r" = $((R / 2)) ]; then warm=$(rss) wfd=$(fds); fi
done
echo "INFO: overlayd node 1 RSS kB/fds after n rounds:$samples"
if [ "$ok" = "$R" ]; then pass "leak_overlayd_${R}_churn_rounds_rejoined"; else
	fail "leak_overlayd_${R}_churn_rounds_rejoined" "only $ok of $R rounds re-formed in 20 s"
fi
end=$(rss) efd=$(fds)
if nm -D "$B/overlayd" 2>/dev/null | grep -q __asan_init; then
	echo "SKIP: leak_overlayd_rss_flat (ASan build: LeakSanitizer checks at exit instead)"
elif [ -n "${warm:-}" ] && [ "$end" -le $((warm + 64)) ]; then
	pass "leak_overlayd_rss_flat (${warm} kB after warm-up, ${end} kB at the end)"
else
	fail leak_overlayd_rss_flat "RSS ${warm:-?} kB after warm-up, $end kB at the end"
fi
if [ -n "${wfd:-}" ] && [ "$efd" -le "$wfd" ]; then
	pass "leak_overlayd_fds_flat ($wfd after warm-up, $efd at the end)"
else
	fail leak_overlayd_fds_flat "${wfd:-?} fds after warm-up, $efd at the end"
fi
kill -TERM "$PID_1"
wait "$PID_1"
rc=$?
if [ "$rc" = 0 ]; then pass leak_overlayd_clean_exit; else
	fail leak_overlayd_clean_exit "exit status $rc (a sanitizer's leak report exits 23)"
fi
finish
