#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# A long-running vipd following a fake master through thousands of task
# changes (tests/tools/master_churn.py: tasks killed and started again,
# VIPs appearing and going away, over a bounded set of tasks): it applies
# them all, its RSS stops growing after the warm-up, and it exits cleanly.
# Under make check-asan the same run ends with LeakSanitizer's exit check,
# whose reports fail the run (tests/sanitize.sh).
# L4LB_LEAK_CHANGES sets the number of changes (default 10000).
. tests/lib.sh
scratch_dir
N=${L4LB_LEAK_CHANGES:-10000}

fakemaster leak_vipd_fakemaster "$T/port"
port=$(cat "$T/port")
python3 "$FM" ctl "$port" '{"op":"heartbeat","seconds":0.5}' >/dev/null
mkdir -p "$T/run"
spawn "$B/vipd" --run-dir "$T/run" --log-level warn --master "http://127.0.0.1:$port" \
	--backoff-min 200 --backoff-max 800 2>"$T/vipd.log"
vpid=$LAST_PID
show() { "$B/vipd" --run-dir "$T/run" --show 2>/dev/null; }
has() { show | grep -q "$1"; }

t0=$(now_ms)
if python3 tests/tools/master_churn.py "$port" "$N" 200 50 "$T/rss" "$vpid" &&
	wait_for 30 has '"name":"churndone.marathon"'; then
	pass "leak_vipd_applies_${N}_changes"
	echo "INFO: $N task changes posted and applied in $(($(now_ms) - t0)) ms"
else
	fail "leak_vipd_applies_${N}_changes" "$(tail -n 3 "$T/vipd.log")"
fi
echo "INFO: vipd RSS (kB) after n changes: $(tr '\n' ',' <"$T/rss")"

# Warm-up is the first half; from there on the RSS may not grow by more
# than allocator noise. An ASan build keeps freed memory in quarantine, so
# there only LeakSanitizer judges.
warm=$(awk -v h=$((N / 2)) '$1 >= h { print $2; exit }' "$T/rss")
end=$(tail -n 1 "$T/rss" | cut -d' ' -f2)
rss_flat leak_vipd_rss_flat vipd "$warm" "$end"

stop_clean leak_vipd_clean_exit "$vpid" "a sanitizer's leak report exits 23"
finish
