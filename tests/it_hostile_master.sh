#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# vipd against a hostile Mesos master (tests/fakemaster modes trickle,
# nested, endless): a reply trickled one byte a second, 1,000,000 nested
# '[', and a reply that never ends (tasks as fast as vipd reads). Each time
# vipd gives up within its request timeout and retries, keeps serving the
# last good table, stays alive, and its memory stays bounded (peak RSS
# printed); afterwards an honest master's changes apply again.
. tests/lib.sh
scratch_dir
TIMEOUT=3 # vipd --request-timeout, seconds
MAX_RSS_KB=${L4LB_HOSTILE_MAX_RSS_KB:-1048576}

fakemaster hostile_master_fakemaster "$T/port"
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

# The same never-ending reply against a vipd with a task bound and the
# default 30 s request timeout: the reply is refused as soon as it holds
# more tasks with VIPs than --max-tasks, long before the timeout, and the
# memory stays that of a small cluster.
mkdir -p "$T/run2"
spawn "$B/vipd" --run-dir "$T/run2" --log-level warn --http-listen off \
	--master "http://127.0.0.1:$port" --max-tasks 20000 --backoff-min 200 --backoff-max 800 \
	2>"$T/vipd2.log"
v2=$LAST_PID
refused() {
	n=$("$B/tests/tools/status_counter" "$T/run2" vipd master_too_many_tasks 2>/dev/null)
	[ "${n:-0}" -ge 2 ]
}
peak2=0
t0=$(now_ms)
while ! refused && [ $(($(now_ms) - t0)) -lt 20000 ]; do
	r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$v2/status" 2>/dev/null)
	[ -n "$r" ] && [ "$r" -gt "$peak2" ] && peak2=$r
	sleep 0.1
done
took=$(($(now_ms) - t0))
if refused && kill -0 "$v2" 2>/dev/null && [ "$peak2" -le 65536 ]; then
	pass "hostile_master_endless_refused_at_max_tasks (twice in $took ms, peak RSS $peak2 kB)"
else
	fail hostile_master_endless_refused_at_max_tasks \
		"after $took ms, peak RSS $peak2 kB: $(tail -n 3 "$T/vipd2.log")"
fi
kill -TERM "$v2"

ctl '{"op":"mode","mode":"ok"}'
ev="{\"type\":\"TASK_ADDED\",\"task_added\":{\"task\":$(task t2 31002 /api:8080)}}"
ctl "{\"op\":\"event\",\"event\":$ev}"
if wait_for 20 has '"name":"api.marathon"'; then pass hostile_master_recovers; else
	fail hostile_master_recovers "$(show | head -c 300)"
fi
stop_clean hostile_master_clean_exit "$vpid"
finish
