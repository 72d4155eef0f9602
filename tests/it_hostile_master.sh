#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# vipd against a hostile Mesos master (tests/fakemaster modes trickle,
# nested, endless): a reply trickled one byte a second, 1,000,000 nested
# '[', and a reply that never ends (tasks as fast as vipd reads). Each time
# vipd gives up within its request timeout and retries, keeps serving the
# last good table, stays alive, and its memory stays bounded (peak RSS
# printed); afterwards an honest master's changes apply again.
set -u
B=${1:-build}
. tests/lib.sh
T=$(mktemp -d)
trap 'kill_all; rm -rf "$T"' EXIT
FM=tests/fakemaster/fakemaster.py
TIMEOUT=3 # vipd --request-timeout, seconds
MAX_RSS_KB=${L4LB_HOSTILE_MAX_RSS_KB:-1048576}

spawn python3 "$FM" "$T/port"
wait_for 10 test -s "$T/port" || { fail hostile_master_fakemaster "did not start"; finish; }
port=$(cat "$T/port")
ctl() { python3 "$FM" ctl "$port" "$1" >/dev/null; }
stat() { python3 "$FM" stats "$port" "$1"; }
task() { # id port label
	printf '{"task_id":{"value":"%s"},"framework_id":{"value":"f1"},' "$1"
	printf '"agent_id":{"value":"a1"},"state":"TASK_RUNNING",'
	printf '"discovery":{"ports":{"ports":[{"number":%s,"protocol":"tcp",' "$2"
	printf '"labels":{"labels":[{"key":"VIP_0","value":"%s"}]}}]}}}' "$3"
}
ctl '{"op":"heartbeat","seconds":0.5}'
ctl "{\"op\":\"set\",\"state\":{\"agents\":[{\"id\":{\"value\":\"a1\"},\"hostname\":\"10.0.0.1\"}],
	\"frameworks\":[{\"id\":{\"value\":\"f1\"},\"name\":\"marathon\"}],
	\"tasks\":[$(task t1 31001 /web:80)],\"recovered\":[]}}"
mkdir -p "$T/run"
spawn "$B/vipd" --run-dir "$T/run" --log-level warn --master "http://127.0.0.1:$port" \
	--request-timeout "$TIMEOUT" --backoff-min 200 --backoff-max 800 2>"$T/vipd.log"
vpid=$LAST_PID
show() { "$B/vipd" --run-dir "$T/run" --show 2>/dev/null | sed 's/^{"generation":[0-9]*,//'; }
has() { show | grep -q "$1"; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$vpid/status"; }
if ! wait_for 10 has '"name":"web.marathon"'; then
	fail hostile_master_initial_table "$(show)"
	finish
fi
before=$(show)

for m in trickle nested endless; do
	h0=$(stat hostile)
	b0=$(stat hostile_bytes)
	ctl "{\"op\":\"mode\",\"mode\":\"$m\"}"
	ctl '{"op":"drop"}'
	t0=$(now_ms)
	peak=0
	# two request timeouts and a bit: vipd must have given up at least once
	while [ $(($(now_ms) - t0)) -lt $((2 * TIMEOUT * 1000 + 1500)) ]; do
		r=$(rss)
		[ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
		sleep 0.2
	done
	took=$(($(now_ms) - t0))
	n=$(($(stat hostile) - h0))
	echo "INFO: $m: $n replies, $(($(stat hostile_bytes) - b0)) bytes sent by the master," \
		"peak vipd RSS ${peak} kB, $took ms"
	if kill -0 "$vpid" 2>/dev/null && [ "$(show)" = "$before" ] &&
		[ "$peak" -gt 0 ] && [ "$peak" -le "$MAX_RSS_KB" ] && [ "$n" -ge 2 ]; then
		pass "hostile_master_${m}_bounded_last_table_kept (peak RSS ${peak} kB)"
	else
		alive=$(kill -0 "$vpid" 2>/dev/null && echo yes || echo no)
		fail "hostile_master_${m}_bounded_last_table_kept" \
			"alive=$alive, peak=${peak} kB, $n replies in $took ms, table: $(show | head -c 200)"
	fi
done

ctl '{"op":"mode","mode":"ok"}'
ev="{\"type\":\"TASK_ADDED\",\"task_added\":{\"task\":$(task t2 31002 /api:8080)}}"
ctl "{\"op\":\"event\",\"event\":$ev}"
if wait_for 20 has '"name":"api.marathon"'; then pass hostile_master_recovers; else
	fail hostile_master_recovers "$(show | head -c 300)"
fi
kill -TERM "$vpid"
wait "$vpid"
rc=$?
if [ "$rc" = 0 ]; then pass hostile_master_clean_exit; else
	fail hostile_master_clean_exit "exit status $rc"
fi
finish
