#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Runs every suite and ends with "N passed, N failed[, N skipped]":
#   build/tests/test_*      cmocka unit tests (one binary per module)
#   tests/it_*.sh           integration tests on this machine
#   tests/vm/test_*.sh      tests on a real kernel, inside the VM harness
# L4LB_TESTS=unit runs only the unit tests, L4LB_TESTS=host all but the VM
# ones, L4LB_TESTS=vm only the VM ones. Logs go to BUILD/test-logs/.
set -u
B=${1:-build}
cd "$(dirname "$0")/.." || exit 2
logs="$B/test-logs"
rm -rf "$logs"
mkdir -p "$logs"
pass=0 fail=0 skip=0 failed_suites=""
suite_timeout=${L4LB_SUITE_TIMEOUT:-300}
# Per VM suite: a whole cluster in an emulated machine took minutes at a host
# load of 15-27.
vm_timeout=${L4LB_VM_TIMEOUT:-900}

# Adds the counts of one suite's log; a suite that exits non-zero without
# reporting a failure (a crash, a timeout) counts as one failure.
tally() { # name status log kind
	name=$1 status=$2 log=$3 kind=$4
	if [ "$kind" = cmocka ]; then
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	else
		p=$(grep -c '^PASS: ' "$log")
		f=$(grep -c '^FAIL: ' "$log")
		s=$(grep -c '^SKIP: ' "$log")
	fi
	if [ "$status" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "FAIL: $name exited with status $status" >>"$log"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	printf '%-40s %4d passed %4d failed %4d skipped\n' "$name" "$p" "$f" "$s"
	if [ "$f" != 0 ]; then
		failed_suites="$failed_suites $name"
		grep -E '^(FAIL: |\[  (FAILED|ERROR) |\[  FAILED  \])|[Ee]rror|ASSERT|Assert|Sanitizer' "$log" | head -n 40 | sed 's/^/    /'
	fi
}

for t in "$B"/tests/test_*; do
	[ -x "$t" ] && [ "${L4LB_TESTS:-all}" != vm ] || continue
	n=$(basename "$t")
	timeout "$suite_timeout" "$t" >"$logs/$n.log" 2>&1
	tally "$n" $? "$logs/$n.log" cmocka
done

if [ "${L4LB_TESTS:-all}" != unit ] && [ "${L4LB_TESTS:-all}" != vm ]; then
	for t in tests/it_*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		timeout "$suite_timeout" sh "$t" "$B" >"$logs/$n.log" 2>&1 </dev/null
		tally "$n" $? "$logs/$n.log" lines
	done
fi
# The VM suites share one boot: tests/vm/suites.sh runs them side by side in
# the VM (each in namespaces of its own; L4LB_VM_JOBS=1 runs them in turn),
# a log and a status per suite, and L4LB_VM_TIMEOUT per suite (a hung one is
# killed and reported, the others run). Its own output goes to vm-suites.log.
vm_suites=$(ls tests/vm/test_*.sh 2>/dev/null)
case ${L4LB_TESTS:-all} in unit | host) vm_suites= ;; esac
if [ -n "$vm_suites" ]; then
	share=$logs/vm
	mkdir -p "$share"
	share=$(cd "$share" && pwd)
	nsuites=$(echo "$vm_suites" | wc -l)
	# the whole VM is bounded too: every suite at its limit, and the boot
	vm_t0=$(date +%s)
	L4LB_VM_RESULTS=$share L4LB_VM_TIMEOUT=$((nsuites * (vm_timeout + 30) + 120)) \
		tests/vm/run.sh tests/vm/suites.sh "$share" "$B" "$vm_timeout" $vm_suites \
		>"$logs/vm-suites.log" 2>&1 </dev/null
	vm_rc=$?
	# how long the VM phase took, boot included, and the suites in it
	echo "# VM phase: $nsuites suites in one boot, $(($(date +%s) - vm_t0)) s in all" \
		"($(sed -n 's/^# group .*: \([0-9.]* s\), .*/\1/p' "$logs/vm-suites.log" |
			paste -sd+) for the suites; $logs/vm-suites.log)"
	for t in $vm_suites; do
		n=$(basename "$t" .sh)
		mv "$share/$n.log" "$logs/$n.log" 2>/dev/null || : >"$logs/$n.log"
		if [ -s "$share/$n.status" ]; then
			st=$(cat "$share/$n.status")
		else
			st=$vm_rc
			echo "FAIL: $n did not finish: the VM stopped (tests/vm/run.sh exit" \
				"$vm_rc, see $logs/vm-suites.log)" >>"$logs/$n.log"
		fi
		tally "$n" "$st" "$logs/$n.log" lines
	done
	rm -rf "$share"
fi

[ -n "$failed_suites" ] && echo "failed suites:$failed_suites (logs in $logs/)"
if [ "$skip" != 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ] && [ "$pass" != 0 ]
