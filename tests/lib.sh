# SPDX-License-Identifier: Apache-2.0
#
# Helpers for tests/it_*.sh (sourced). Each check prints one line,
# "PASS: name" or "FAIL: name (reason)", counted by tests/run.sh.

set -u
B=${1:-build} # the build directory: a suite's first argument
FM=tests/fakemaster/fakemaster.py
failures=0
PIDS=""

pass() { echo "PASS: $1"; }
fail() {
	echo "FAIL: $1 (${2:-})"
	failures=$((failures + 1))
}

# check NAME CMD...: PASS if CMD succeeds.
check() {
	name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}

# wait_for SECONDS CMD...: retry CMD every 50 ms until it succeeds or the
# deadline passes. Returns CMD's last status.
wait_for() {
	deadline=$(($(date +%s%N) / 1000000 + $1 * 1000))
	shift
	while ! "$@" 2>/dev/null; do
		[ $(($(date +%s%N) / 1000000)) -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# now_ms: wall clock in milliseconds, for measured latencies.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# spawn CMD...: start CMD in the background, remembered for cleanup.
spawn() {
	"$@" &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
}

kill_all() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	PIDS=""
}

finish() {
	[ "$failures" = 0 ]
	exit $?
}

# scratch_dir: T, a new temporary directory; at exit every process spawned
# is stopped and T removed. Also when the suite is stopped by a signal (the
# runner's timeout, ^C): sh runs no EXIT trap on a signal left untrapped.
scratch_dir() {
	T=$(mktemp -d)
	trap 'kill_all; rm -rf "$T"' EXIT
	trap 'exit 1' INT TERM HUP PIPE
}

# need_cmd CMD SUITE: unless CMD is installed, SKIP SUITE and exit.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "SKIP: $2 (no $1)"
	exit 0
}

# need_netns SUITE: unless this user can create a network namespace, SKIP
# SUITE and exit.
need_netns() {
	unshare -n true 2>/dev/null && return 0
	echo "SKIP: $1 (cannot create a network namespace)"
	exit 0
}

# stop_clean NAME PID [NOTE]: SIGTERM to PID and wait for it: PASS NAME if it
# exits with status 0, else FAIL NAME with its status (and NOTE).
stop_clean() {
	kill -TERM "$2"
	wait "$2"
	_rc=$?
	if [ "$_rc" = 0 ]; then
		pass "$1"
	else
		fail "$1" "exit status $_rc${3:+ ($3)}"
	fi
}

# rss_flat NAME DAEMON WARM END: PASS NAME if DAEMON's RSS at the end (kB)
# is at most 256 kB above the one after its warm-up; SKIP in an ASan build
# (LeakSanitizer checks at exit instead).
rss_flat() {
	if nm -D "$B/$2" 2>/dev/null | grep -q __asan_init; then
		echo "SKIP: $1 (ASan build: LeakSanitizer checks at exit instead)"
	elif [ -n "$3" ] && [ -n "$4" ] && [ "$4" -le $(($3 + 256)) ]; then
		pass "$1 ($3 kB after warm-up, $4 kB at the end)"
	else
		fail "$1" "RSS ${3:-?} kB after warm-up, ${4:-?} kB at the end"
	fi
}

# fakemaster NAME PORTFILE: starts tests/fakemaster, which writes its port
# to PORTFILE; if it does not, FAIL NAME and end the suite.
fakemaster() {
	spawn python3 "$FM" "$2"
	wait_for 10 test -s "$2" || { fail "$1" "did not start"; finish; }
}

# dry_ipvsd RUN_DIR PLAN LOG [OPTION...]: tests/tools/ipvsd_feed publishes
# $T/spec (read again whenever it changes) in RUN_DIR as vipd and overlayd
# would (its output in $T/feed, its pid in FEED), and ipvsd --dry-run (no
# IPVS here) follows it in a network namespace of its own, printing its
# plan into PLAN and its log into LOG (its pid in LAST_PID).
dry_ipvsd() {
	_run=$1 _plan=$2 _log=$3
	shift 3
	spawn "$B/tests/tools/ipvsd_feed" "$_run" "$T/spec" >"$T/feed" 2>&1
	FEED=$LAST_PID
	spawn unshare -n "$B/ipvsd" --run-dir "$_run" --dry-run "$@" >"$_plan" 2>"$_log"
}
