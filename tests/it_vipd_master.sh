#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The real vipd against a fake Mesos master on loopback
# (tests/fakemaster/fakemaster.py): streaming events reach the published
# table promptly (latency reported), outages / 500 / truncated and malformed
# bodies / streams cut mid-record keep the last table, a silent stream is
# reconnected, a failover keeps recovered agents' backends, 307 redirects,
# a dead first --master, polling, legacy /state and token auth.
. tests/lib.sh
scratch_dir

fm_start() { # name: starts a fake master, sets PORT_<name>
	rm -f "$T/$1.port"
	fakemaster "fakemaster_$1" "$T/$1.port"
	eval "PORT_$1=$(cat "$T/$1.port")"
}
ctl() { python3 "$FM" ctl "$1" "$2" >/dev/null; } # port json
stat() { python3 "$FM" stats "$1" "$2"; }           # port key
vipd() { # name args...: a vipd with its own run dir
	n=$1
	shift
	mkdir -p "$T/$n"
	spawn "$B/vipd" --run-dir "$T/$n" --log-level debug --backoff-min 200 --backoff-max 800 \
		"$@" 2>"$T/$n.log"
}
show() { "$B/vipd" --run-dir "$T/$1" --show 2>/dev/null; }
has() { show "$1" | grep -q "$2"; }     # name pattern
hasnt() { ! show "$1" | grep -q "$2"; } # name pattern
gen() { show "$1" | sed -n 's/^{"generation":\([0-9]*\),.*/\1/p'; }

agent() { printf '{"id":{"value":"%s"},"hostname":"%s"}' "$1" "$2"; }
task() { # id agent port label [state]
	printf '{"task_id":{"value":"%s"},"framework_id":{"value":"f1"},' "$1"
	printf '"agent_id":{"value":"%s"},"state":"%s",' "$2" "${5:-TASK_RUNNING}"
	printf '"discovery":{"ports":{"ports":[{"number":%s,"protocol":"tcp",' "$3"
	printf '"labels":{"labels":[{"key":"VIP_0","value":"%s"}]}}]}}}' "$4"
}
FW='[{"id":{"value":"f1"},"name":"marathon"}]'
state() { # agents tasks [recovered]
	printf '{"op":"set","state":{"agents":[%s],"frameworks":%s,"tasks":[%s],"recovered":[%s]}}' \
		"$1" "$FW" "$2" "${3:-}"
}
ev_task() { printf '{"op":"event","event":{"type":"TASK_ADDED","task_added":{"task":%s}}}' "$1"; }
ev_upd() { # id state
	printf '{"op":"event","event":{"type":"TASK_UPDATED","task_updated":'
	printf '{"framework_id":{"value":"f1"},'
	printf '"state":"%s","status":{"task_id":{"value":"%s"},"state":"%s","timestamp":%s}}}}' \
		"$2" "$1" "$2" "$(date +%s)"
}

fm_start m1
ctl "$PORT_m1" '{"op":"heartbeat","seconds":0.5}'
ctl "$PORT_m1" "$(state "$(agent a1 10.0.0.1),$(agent a2 10.0.0.2)" \
	"$(task t1 a1 31001 /web:80),$(task t2 a2 31002 /web:80)")"

# --- streaming ---
vipd s --master "http://127.0.0.1:$PORT_m1" --http-listen 127.0.0.1:0
if wait_for 10 has s '"ip":"10.0.0.2","port":31002'; then pass stream_initial_table
else fail stream_initial_table "$(show s)"; fi

t0=$(now_ms)
ctl "$PORT_m1" "$(ev_task "$(task t3 a1 32000 /api:8080)")"
if wait_for 5 has s '"name":"api.marathon"'; then
	lat=$(($(now_ms) - t0))
	inner=$(sed -n 's/.*published generation.* \([0-9]*\) us after the change/\1/p' \
		"$T/s.log" | tail -1)
	echo "INFO: new VIP in the published table ${lat} ms after the event was posted" \
		"(test polling included); vipd: ${inner:-?} us from event to publication"
	pass stream_new_vip_published
else fail stream_new_vip_published "$(show s)"; fi

ctl "$PORT_m1" "$(ev_upd t3 TASK_KILLED)"
if wait_for 5 hasnt s api.marathon; then pass stream_task_killed_removed
else fail stream_task_killed_removed "$(show s)"; fi

# Outage: the stream drops mid-record and the master answers 500.
g=$(gen s)
before=$(show s)
ctl "$PORT_m1" '{"op":"mode","mode":"500"}'
ctl "$PORT_m1" '{"op":"drop","midrecord":true}'
r0=$(stat "$PORT_m1" requests)
wait_for 10 sh -c "[ \$(python3 $FM stats $PORT_m1 requests) -ge $((r0 + 3)) ]"
if [ "$(show s)" = "$before" ] && [ "$(gen s)" = "$g" ]; then pass outage_keeps_table
else fail outage_keeps_table "$(show s)"; fi
for m in truncate malformed hang; do
	ctl "$PORT_m1" "{\"op\":\"mode\",\"mode\":\"$m\"}"
	r0=$(stat "$PORT_m1" requests)
	wait_for 10 sh -c "[ \$(python3 $FM stats $PORT_m1 requests) -ge $((r0 + 1)) ]"
	sleep 0.3
	if [ "$(show s)" = "$before" ]; then pass "outage_${m}_keeps_table"
	else fail "outage_${m}_keeps_table" "$(show s)"; fi
done
# A change made while vipd could not see it arrives with the next SUBSCRIBED.
ctl "$PORT_m1" "$(state "$(agent a1 10.0.0.1),$(agent a2 10.0.0.2)" "$(task t1 a1 31001 /web:80)")"
ctl "$PORT_m1" '{"op":"mode","mode":"ok"}'
# leave "hang": vipd's request watchdog (request timeout) or the next retry reconnects
if wait_for 40 hasnt s '"port":31002'; then pass recovery_applies_new_state
else fail recovery_applies_new_state "$(show s)"; fi

# A stream that goes silent (no heartbeat for 3 intervals) is reconnected.
ctl "$PORT_m1" '{"op":"mode","mode":"silent"}'
ctl "$PORT_m1" '{"op":"drop"}'
s0=$(stat "$PORT_m1" subscribes)
if wait_for 10 sh -c "[ \$(python3 $FM stats $PORT_m1 subscribes) -ge $((s0 + 2)) ]"; then
	pass silent_stream_reconnected
else fail silent_stream_reconnected "subscribes $(stat "$PORT_m1" subscribes)"; fi
# what an operator alerts on: reconnects counted, sync durations observed
HP=$(sed -n 's/.*http: serving on .* (port \([0-9]*\)).*/\1/p' "$T/s.log" | head -n 1)
metric() { curl -fsS --max-time 5 "http://127.0.0.1:$HP/metrics" | grep "^$1 " | awk '{print $2}'; }
check "metrics: stream reconnects counted ($(metric l4lb_vipd_master_stream_reconnects_total))" \
	test "$(metric l4lb_vipd_master_stream_reconnects_total)" -ge 2
check "metrics: master sync durations observed ($(metric l4lb_vipd_master_sync_duration_seconds_count))" \
	test "$(metric l4lb_vipd_master_sync_duration_seconds_count)" -ge 3
ctl "$PORT_m1" '{"op":"mode","mode":"ok"}'

# --- failover: the new leader knows a2 only as a recovered agent ---
ctl "$PORT_m1" "$(state "$(agent a1 10.0.0.1),$(agent a2 10.0.0.2),$(agent a3 10.0.0.3)" \
	"$(task t1 a1 31001 /web:80),$(task t2 a2 31002 /web:80),$(task t4 a3 31004 /web:80)")"
ctl "$PORT_m1" '{"op":"drop"}'
wait_for 10 has s '"port":31004'
ctl "$PORT_m1" "$(state "$(agent a1 10.0.0.1)" "$(task t1 a1 31001 /web:80)" \
	"$(agent a2 10.0.0.2),$(agent a3 10.0.0.3)")"
ctl "$PORT_m1" '{"op":"drop"}'
s0=$(stat "$PORT_m1" subscribes)
wait_for 10 sh -c "[ \$(python3 $FM stats $PORT_m1 subscribes) -gt $s0 ]"
sleep 0.5
if has s '"port":31002' && has s '"port":31004'; then pass failover_keeps_recovered_backends
else fail failover_keeps_recovered_backends "$(show s)"; fi
ev='{"op":"event","event":{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":'
ctl "$PORT_m1" "$ev$(agent a2 10.0.0.2)}}}}"
ctl "$PORT_m1" "$(ev_task "$(task t2 a2 31002 /web:80)")"
sleep 0.3
if has s '"port":31002'; then pass failover_reregistered_agent_kept
else fail failover_reregistered_agent_kept "$(show s)"; fi
kill_all

# The grace for agents that never come back (--recovered-grace 2).
fm_start m1
ctl "$PORT_m1" '{"op":"heartbeat","seconds":0.5}'
ctl "$PORT_m1" "$(state "$(agent a3 10.0.0.3)" "$(task t4 a3 31004 /web:80)")"
vipd g --master "http://127.0.0.1:$PORT_m1" --recovered-grace 2
wait_for 10 has g '"port":31004'
ctl "$PORT_m1" "$(state "" "" "$(agent a3 10.0.0.3)")"
ctl "$PORT_m1" '{"op":"drop"}'
sleep 1
if has g '"port":31004'; then
	if wait_for 5 hasnt g '"port":31004'; then pass failover_grace_expires
	else fail failover_grace_expires "still there: $(show g)"; fi
else fail failover_grace_expires "withdrawn before the grace: $(show g)"; fi

# --- 307 to the leader, a dead first master, token auth ---
ctl "$PORT_m1" "$(state "$(agent a1 10.0.0.1)" "$(task t1 a1 31001 /web:80)")"
fm_start m2
ctl "$PORT_m2" "{\"op\":\"mode\",\"mode\":\"redirect:http://127.0.0.1:$PORT_m1\"}"
L4LB_MASTER_TOKEN=s3cret vipd r --master http://127.0.0.1:1 --master "http://127.0.0.1:$PORT_m2"
if wait_for 10 has r '"port":31001'; then pass redirect_and_next_master
else fail redirect_and_next_master "$(show r) $(tail -3 "$T/r.log")"; fi
if [ "$(stat "$PORT_m1" auth)" = "token=s3cret" ]; then pass token_auth_header
else fail token_auth_header "got '$(stat "$PORT_m1" auth)'"; fi

# --- polling GET_STATE, and legacy /state detected on a 404 ---
vipd p --master "http://127.0.0.1:$PORT_m1" --mode poll --poll-interval 200
if wait_for 10 has p '"port":31001'; then pass poll_initial_table
else fail poll_initial_table "$(show p)"; fi
ctl "$PORT_m1" "$(state "$(agent a1 10.0.0.1)" \
	"$(task t1 a1 31001 /web:80),$(task t5 a1 31005 /web:80)")"
if wait_for 10 has p '"port":31005'; then pass poll_sees_change
else fail poll_sees_change "$(show p)"; fi
fm_start m3
ctl "$PORT_m3" '{"op":"mode","mode":"404"}'
ctl "$PORT_m3" "$(state "$(agent a1 10.0.0.1)" "$(task t1 a1 31001 /web:80)")"
vipd l --master "http://127.0.0.1:$PORT_m3"
if wait_for 10 has l '"port":31001' && [ "$(stat "$PORT_m3" legacy)" -ge 1 ]; then
	pass legacy_state_detected
else fail legacy_state_detected "$(show l)"; fi

kill_all
finish
