#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# A short run of every fuzzer (make fuzz runs them longer): each input
# surface survives its seed corpus and a few seconds of mutations under
# ASan + UBSan. Crashes are kept in build/fuzz/ as crash-* files.
. tests/lib.sh
secs=${L4LB_FUZZ_SMOKE_SECONDS:-3}
if [ -n "${L4LB_SKIP_FUZZ_SMOKE:-}" ]; then
	echo "SKIP: fuzz smoke (L4LB_SKIP_FUZZ_SMOKE set: make check-asan)"
	finish
fi
if ! make -s fuzz-build >build/fuzz-build.log 2>&1; then
	fail "fuzzers build" "$(tail -n 5 build/fuzz-build.log)"
	finish
fi
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	mkdir -p "build/fuzz/corpus/$n"
	out=$(cd build/fuzz && "./$n" -max_total_time="$secs" -print_final_stats=1 \
		"corpus/$n" "../../tests/fuzz/corpus/$n" 2>&1)
	rc=$?
	runs=$(echo "$out" | sed -n 's/^stat::number_of_executed_units: *//p')
	cov=$(echo "$out" | sed -n 's/.*DONE *cov: *\([0-9]*\).*/\1/p' | tail -n 1)
	if [ $rc = 0 ]; then
		pass "$n: $runs inputs in ${secs}s, $cov edges covered, no crash"
	else
		fail "$n" "$(echo "$out" | grep -E 'ERROR|SUMMARY' | head -n 3)"
	fi
done
finish
