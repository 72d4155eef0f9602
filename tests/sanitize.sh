#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# make check-asan: the unit and integration suites (not the VM ones)
# against the ASan + UBSan build in BUILD (default build/asan). Every
# instrumented process, daemons included (also those run as nobody), stops
# at its first error and writes its report to BUILD/san-logs/; a leak found
# at a clean exit is a report too. Fails when a suite fails or any report
# was written, and prints the first lines of each.
set -u
B=${1:-build/asan}
cd "$(dirname "$0")/.." || exit 2
logs="$B/san-logs"
rm -rf "$logs"
mkdir -p "$logs"
chmod 1777 "$logs" # daemons in the tests also run as nobody
dir=$(cd "$logs" && pwd)
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$dir/asan:${ASAN_EXTRA:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$dir/ubsan"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
# The fuzzers are instrumented on their own (make fuzz); their smoke run
# would only repeat that work here.
L4LB_SKIP_FUZZ_SMOKE=1 L4LB_TESTS=host tests/run.sh "$B"
rc=$?
reports=$(ls "$logs")
if [ -n "$reports" ]; then
	for f in $reports; do
		echo "== sanitizer report $logs/$f"
		grep -E 'ERROR|SUMMARY|runtime error|^    #[0-3] ' "$logs/$f" | head -n 12
	done
	echo "FAIL: $(echo "$reports" | wc -l) sanitizer report(s) in $logs/"
	exit 1
fi
echo "no sanitizer report"
exit $rc
