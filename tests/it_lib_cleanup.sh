#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# tests/lib.sh's scratch_dir cleans up also when a suite is stopped by a
# signal (tests/run.sh's timeout sends SIGTERM): the processes it spawned
# are stopped and its directory removed. (SIGINT cannot be tried this way:
# sh ignores it in a background job.)
. tests/lib.sh
scratch_dir

# a suite that spawns a long sleep and waits for it
cat >"$T/suite.sh" <<'SUITE'
. tests/lib.sh
scratch_dir
spawn sleep 60
echo "$T $LAST_PID" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
wait
SUITE

gone() { ! kill -0 "$1" 2>/dev/null && [ ! -d "$2" ]; }
for sig in TERM HUP; do
	name=lib_scratch_dir_cleanup_on_$sig
	OUT=$T/started.$sig sh "$T/suite.sh" "$B" &
	suite=$!
	if ! wait_for 10 test -s "$T/started.$sig"; then
		fail "$name" "the suite did not start"
		kill "$suite" 2>/dev/null
		continue
	fi
	read -r dir child <"$T/started.$sig"
	kill "-$sig" "$suite"
	if wait_for 5 gone "$child" "$dir"; then
		pass "$name"
	else
		why="after SIG$sig: sleep $child $(kill -0 "$child" 2>/dev/null &&
			echo still running || echo stopped), $dir $([ -d "$dir" ] &&
			echo still there || echo removed)"
		kill "$suite" "$child" 2>/dev/null
		rm -rf "$dir"
		fail "$name" "$why"
	fi
	wait "$suite" 2>/dev/null
done
finish
