#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# make demo: until the end-to-end cluster demo exists, this shows what runs
# today: the three daemons of one node started side by side (ipvsd in
# --dry-run), inspected with l4lbctl, one restarted.
set -u
B=${1:-build}
T=$(mktemp -d)
R=$T/run
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
pids=""
ctl() { "$B/l4lbctl" --run-dir "$R" --timeout 500 "$@"; }
wait_up() {
	for _ in $(seq 100); do ctl status >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}

echo "== starting vipd, overlayd and ipvsd --dry-run with run directory $R"
"$B/vipd" --run-dir "$R" --log-level warn 2>>"$T/daemons.log" &
vipd=$!
"$B/overlayd" --run-dir "$R" --log-level warn 2>>"$T/daemons.log" &
overlayd=$!
"$B/ipvsd" --run-dir "$R" --dry-run --log-level warn 2>>"$T/daemons.log" &
ipvsd=$!
pids="$vipd $overlayd $ipvsd"
wait_up || { echo "demo: the daemons did not come up"; cat "$T/daemons.log"; exit 1; }
echo
echo "== l4lbctl status"
ctl status
echo
echo "== vipd stopped"
kill "$vipd"
wait "$vipd" 2>/dev/null
ctl status
echo
echo "== vipd started again"
"$B/vipd" --run-dir "$R" --log-level warn 2>>"$T/daemons.log" &
vipd=$!
pids="$vipd $overlayd $ipvsd"
wait_up || { echo "demo: vipd did not come back"; exit 1; }
ctl status
echo
echo "demo: ok"
