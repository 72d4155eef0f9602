#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The VM suites wait with two tools of their own instead of shell loops:
# tests/tools/log_wait (a line in a log) and status_counter --grows (a
# daemon's counter). A wait that returns early, or never fails, would make
# the checks after it pass or fail by chance: here each returns when (and
# only when) what it waits for happens, fails by its deadline otherwise,
# and refuses a file that was cut under it and malformed arguments. Also
# the ticker lib.sh's wait_until pauses with.
. tests/lib.sh
scratch_dir

LW=$B/tests/tools/log_wait
SC=$B/tests/tools/status_counter
log=$T/daemon.log

# --- log_wait ---
printf 'one\nready: yes\n' >"$log"
out=$("$LW" "$log" 0 2000 ready:) && rc=0 || rc=$?
check "log_wait: a line already there is found and printed" test "$rc:$out" = "0:ready: yes"
off=$(wc -c <"$log")
out=$("$LW" "$log" "$off" 300 ready:) && rc=0 || rc=$?
check "log_wait: ... but not when it lies before OFFSET (timeout, exit 1)" test "$rc:$out" = "1:"

t0=$(now_ms) # (before the writer starts: a slow `date` cannot shorten t)
(sleep 0.3; printf 'later: not a whole li' >>"$log"; sleep 0.3; printf 'ne\n' >>"$log") &
w=$!
out=$("$LW" "$log" "$off" 5000 "whole line") && rc=0 || rc=$?
t=$(($(now_ms) - t0))
check "log_wait: a line written later, in two pieces, is found once whole ($t ms)" \
	test "$rc:$out" = "0:later: not a whole line"
check "... not before its second piece came" test "$t" -ge 500
wait "$w"

t0=$(now_ms)
"$LW" "$log" 0 400 "never written" >/dev/null && rc=0 || rc=$?
t=$(($(now_ms) - t0))
check "log_wait: a line never written: exit 1 at the deadline ($t ms)" \
	sh -c "[ $rc = 1 ] && [ $t -ge 400 ] && [ $t -lt 5000 ]"

size=$(wc -c <"$log")
"$LW" "$log" $((size + 1)) 2000 ready: >/dev/null 2>&1 && rc=0 || rc=$?
check "log_wait: an OFFSET past the end is refused (exit 2)" test "$rc" = 2
(sleep 0.3; : >"$log") &
w=$!
"$LW" "$log" "$size" 5000 "never written" >/dev/null 2>&1 && rc=0 || rc=$?
check "log_wait: a file truncated while waited on is refused (exit 2)" test "$rc" = 2
wait "$w"
for args in "$log 0 2000" "$log x 2000 ready:" "$log 0 -5 ready:" "$T/none 0 200 ready:"; do
	# shellcheck disable=SC2086 # the arguments are split on purpose
	"$LW" $args >/dev/null 2>&1 && rc=0 || rc=$?
	check "log_wait: refuses '$(echo "$args" | sed "s|$T/||g")' (exit 2)" test "$rc" = 2
done

# --- e2e_net ticker (wait_until's pause) ---
t0=$(now_ms)
out=$(printf 'ab' | "$B/tests/tools/e2e_net" ticker 150 | wc -l) && rc=0 || rc=$?
t=$(($(now_ms) - t0))
check "e2e_net ticker: one line per byte read, each after its pause ($t ms)" \
	sh -c "[ $rc:$out = 0:2 ] && [ $t -ge 300 ]"
for ms in 0 -5 10x "" 60001; do
	printf 'a' | "$B/tests/tools/e2e_net" ticker "$ms" >/dev/null 2>&1 && rc=0 || rc=$?
	check "e2e_net ticker: refuses MS '$ms' (exit 2)" test "$rc" = 2
done

# --- status_counter --grows, against ipvsd (--dry-run) fed by ipvsd_feed ---
need_netns "status_counter --grows"
echo "vip tcp 11.0.0.1 80 10.0.0.11:8080" >"$T/spec"
dry_ipvsd "$T" "$T/plan" "$T/ipvsd.log" --reconcile-interval 600
tables() { [ "$("$SC" "$T" ipvsd vip_tables 2>/dev/null || echo 0)" -gt 0 ]; }
wait_for 10 tables

"$SC" --grows 400 ipvsd vip_tables "$T" 2>"$T/err" && rc=0 || rc=$?
check "status_counter --grows: a counter that does not grow: exit 1 at the deadline" \
	test "$rc" = 1
check "... naming the run directory and the counter" grep -q "$T: ipvsd vip_tables did not grow" \
	"$T/err"

t0=$(now_ms)
(sleep 0.5; echo "vip tcp 11.0.0.1 80 10.0.0.11:8080 10.0.0.12:8080" >"$T/spec") &
w=$!
"$SC" --grows 10000 ipvsd vip_deltas_applied "$T" && rc=0 || rc=$?
t=$(($(now_ms) - t0))
check "status_counter --grows: returns 0 once the counter grew ($t ms)" \
	sh -c "[ $rc = 0 ] && [ $t -ge 400 ]"
wait "$w"

mkdir -p "$T/nobody"
"$SC" --grows 300 ipvsd vip_tables "$T" "$T/nobody" 2>"$T/err" && rc=0 || rc=$?
check "status_counter --grows: one of two daemons never answers: exit 1" test "$rc" = 1
check "... naming that one" grep -q "$T/nobody: ipvsd vip_tables never answered" "$T/err"
for args in "--grows 0 ipvsd vip_tables $T" "--grows 10x ipvsd vip_tables $T" \
	"--grows 100 ipvsd vip_tables"; do
	# shellcheck disable=SC2086 # the arguments are split on purpose
	"$SC" $args >/dev/null 2>&1 && rc=0 || rc=$?
	check "status_counter: refuses '$(echo "$args" | sed "s|$T|RUN_DIR|g")' (exit 2)" \
		test "$rc" = 2
done
finish
