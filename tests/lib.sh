# SPDX-License-Identifier: Apache-2.0
#
# Helpers for tests/it_*.sh (sourced). Each check prints one line,
# "PASS: name" or "FAIL: name (reason)", counted by tests/run.sh.

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
