#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# File descriptors are closed on every path: thousands of connections
# (every other one sending garbage first) to each IPC socket of the three
# daemons (vipd.rep/.pub, overlayd.rep/.pub, ipvsd.rep), to overlayd's TCP
# port and to each daemon's HTTP endpoint leave each daemon's fd count
# (/proc/PID/fd) where it was, and every daemon still answers.
# L4LB_FDS_CYCLES: connections per socket (default 2000).
. tests/lib.sh
scratch_dir
R=$T/run
N=${L4LB_FDS_CYCLES:-2000}
port=$((20000 + ($$ + 7) % 20000))
hv=$((port + 1)) ho=$((port + 2)) hi=$((port + 3)) # HTTP endpoints

spawn "$B/vipd" --run-dir "$R" --log-level error --http-listen "127.0.0.1:$hv"
PID_vipd=$LAST_PID
spawn "$B/overlayd" --run-dir "$R" --log-level error --listen "127.0.82.1:$port" --state-dir "$T" \
	--http-listen "127.0.0.1:$ho"
PID_overlayd=$LAST_PID
spawn "$B/ipvsd" --run-dir "$R" --log-level error --http-listen "127.0.0.1:$hi" --dry-run \
	>/dev/null 2>"$T/ipvsd.log"
PID_ipvsd=$LAST_PID
up() { "$B/l4lbctl" --run-dir "$R" --timeout 1000 status >/dev/null 2>&1; }
if ! wait_for 10 up; then
	fail fds_daemons_up "$("$B/l4lbctl" --run-dir "$R" status 2>&1)"
	finish
fi
sleep 0.5
fds() { ls "/proc/$1/fd" | wc -l; }
cycle() { # daemon targets...
	d=$1
	shift
	eval "pid=\$PID_$d"
	before=$(fds "$pid")
	t0=$(now_ms)
	out=$(python3 tests/tools/sock_cycle.py cycle "$N" "$@")
	ms=$(($(now_ms) - t0))
	back() { [ "$(fds "$pid")" -le "$before" ]; }
	if [ "${out%% *}" = ok ] && wait_for 15 back && up; then
		msg="$# sockets, $ms ms, fds $before -> $(fds "$pid")"
		pass "fds_${d}_${N}_connections_per_socket ($msg)"
	else
		fail "fds_${d}_${N}_connections_per_socket" "$out; fds $before -> $(fds "$pid")"
	fi
}
cycle vipd "$R/vipd.rep" "$R/vipd.pub" "127.0.0.1:$hv"
cycle overlayd "$R/overlayd.rep" "$R/overlayd.pub" "127.0.82.1:$port" "127.0.0.1:$ho"
cycle ipvsd "$R/ipvsd.rep" "127.0.0.1:$hi"
finish
