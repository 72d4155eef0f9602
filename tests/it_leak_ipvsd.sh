#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# ipvsd --dry-run (no IPVS needed, its own network namespace) fed hundreds
# of VIP tables and reachability snapshots by tests/tools/ipvsd_feed,
# alternating between tables of 300 x 4 and 200 x 6 backends, IPv6 VIPs,
# drained and restored backends: it plans every change, its RSS stops
# growing after the warm-up, and it exits cleanly (LeakSanitizer's exit
# check under make check-asan). L4LB_LEAK_CHANGES_IPVSD: number of tables (200).
. tests/lib.sh
scratch_dir
N=${L4LB_LEAK_CHANGES_IPVSD:-200}

need_netns "leak ipvsd"
spec() { # i: the i-th table
	case $(($1 % 4)) in
	0) echo "gen 300 4" ;;
	1) echo "gen 200 6" ;;
	2) printf 'gen 100 2\nvip udp fd01:c::%x 53 [fd00::11]:5353\n' $(($1 % 50 + 1)) ;;
	3) printf 'gen 50 1\nvip tcp 11.1.0.1 80 10.0.0.11:8080@10.0.1.1 10.0.0.12:8080@10.0.1.2\n' ;;
	esac
	# every other round one agent is unreachable: its backend is drained
	[ $(($1 % 8)) -lt 4 ] && echo "reach 10.0.1.1" || echo "reach 10.0.1.1 10.0.1.2"
}
spec 0 >"$T/spec"
dry_ipvsd "$T" /dev/null "$T/log"
ipid=$LAST_PID
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$ipid/status"; }
published() { [ "$(grep -c '^published vip' "$T/feed")" -ge "$1" ]; }
wait_for 10 published 1
samples=""
for i in $(seq 1 "$N"); do
	spec "$i" >"$T/spec.new"
	mv "$T/spec.new" "$T/spec"
	wait_for 5 published $((i + 1)) || break
	[ $((i % (N / 10))) = 0 ] && samples="$samples $i:$(rss)"
	[ "$i" = $((N / 2)) ] && warm=$(rss)
done
got=$(grep -c '^published vip' "$T/feed")
if [ "$got" -gt "$N" ] && kill -0 "$ipid" 2>/dev/null; then
	pass "leak_ipvsd_planned_${N}_tables"
else
	fail "leak_ipvsd_planned_${N}_tables" "$got published; $(tail -n 2 "$T/log")"
fi
sleep 0.5 # the last table is planned
end=$(rss)
echo "INFO: ipvsd RSS (kB) after n tables:$samples"
rss_flat leak_ipvsd_rss_flat ipvsd "${warm:-}" "$end"
stop_clean leak_ipvsd_clean_exit "$ipid" "a sanitizer's leak report exits 23"
finish
