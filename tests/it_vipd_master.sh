#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The real vipd against a fake Mesos master on loopback
# (tests/fakemaster/fakemaster.py), streaming: events reach the published
# table promptly (latency reported), outages / 500 / truncated and malformed
# bodies / streams cut mid-record / a hung request keep the last table, a
# silent stream is reconnected, status says whether the master answers, a
# failover keeps recovered agents' backends for the grace (polled too).
# Redirects, polling, legacy /state, auth, readiness: it_vipd_master_poll.sh.
. tests/lib.sh
scratch_dir
. tests/fakemaster/lib.sh

fm_start m1
ctl "$PORT_m1" '{"op":"heartbeat","seconds":0.5}'
ctl "$PORT_m1" "$(state "$(agent a1 10.0.0.1),$(agent a2 10.0.0.2)" \
	"$(task t1 a1 31001 /web:80),$(task t2 a2 31002 /web:80)")"

# --- streaming ---
vipd s --master "http://127.0.0.1:$PORT_m1" --http-listen 127.0.0.1:0 --request-timeout 2
if wait_for 10 has s '"ip":"10.0.0.2","port":31002'; then pass stream_initial_table
else fail stream_initial_table "$(show s)"; fi
# heartbeats (every 0.5 s) on a healthy stream move the last success
ok0=$(fact s last_success_unix_ms)
if [ "$(fact s master_connected)" = yes ] &&
	wait_for 5 sh -c "[ \$($B/tests/tools/status_counter $T/s vipd last_success_unix_ms) -gt $ok0 ]"
then pass status_heartbeats_move_last_success
else fail status_heartbeats_move_last_success "$(fact s master_connected) $ok0"; fi

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
ok0=$(fact s last_success_unix_ms)
sleep 0.6
if [ "$(fact s master_connected)" = no ] && [ "$(fact s synced)" = yes ] &&
	[ "$(fact s last_success_unix_ms)" = "$ok0" ]; then pass status_outage_not_connected
else fail status_outage_not_connected "connected $(fact s master_connected)"; fi
# errors_from N: vipd has counted N failed master requests (status_counter)
errors_from() { [ "$(fact s master_errors)" -ge "$1" ]; }
for m in truncate malformed; do
	ctl "$PORT_m1" "{\"op\":\"mode\",\"mode\":\"$m\"}"
	e0=$(fact s master_errors)
	r0=$(stat "$PORT_m1" requests)
	wait_for 10 sh -c "[ \$(python3 $FM stats $PORT_m1 requests) -ge $((r0 + 1)) ]"
	# vipd has read such a body: two failures counted since the mode changed
	# (one request at a time: the first may be an answer of the mode before).
	# A fixed pause instead let a slow vipd be looked at before it had.
	wait_for 10 errors_from $((e0 + 2))
	if [ "$(show s)" = "$before" ]; then pass "outage_${m}_keeps_table"
	else fail "outage_${m}_keeps_table" "$(show s)"; fi
done
# a request that hangs: given up after --request-timeout 2, counted, table kept
t0=$(fact s master_timeout)
ctl "$PORT_m1" '{"op":"mode","mode":"hang"}'
if wait_for 15 sh -c "[ \$($B/tests/tools/status_counter $T/s vipd master_timeout) -gt $t0 ]" &&
	[ "$(show s)" = "$before" ]; then pass outage_hang_keeps_table
else fail outage_hang_keeps_table "timeouts $(fact s master_timeout): $(show s)"; fi
# A change made while vipd could not see it arrives with the next SUBSCRIBED.
ctl "$PORT_m1" "$(state "$(agent a1 10.0.0.1),$(agent a2 10.0.0.2)" "$(task t1 a1 31001 /web:80)")"
ctl "$PORT_m1" '{"op":"mode","mode":"ok"}'
# leave "hang": vipd's request watchdog (request timeout) or the next retry reconnects
if wait_for 40 hasnt s '"port":31002'; then pass recovery_applies_new_state
else fail recovery_applies_new_state "$(show s)"; fi
if [ "$(fact s master_connected)" = yes ] && [ "$(fact s last_success_unix_ms)" -gt "$ok0" ]
then pass status_recovered_connected
else fail status_recovered_connected "connected $(fact s master_connected)"; fi

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
# (the "keeps" checks below look once vipd has applied what could change the
# table, as its status says, not after a fixed pause a slow vipd outlasts;
# a change goes out 5 ms (--coalesce) after it is applied)
sync0=$(fact s last_sync_unix_ms)
synced_since() { [ "$(fact s last_sync_unix_ms)" != "$1" ]; }
ctl "$PORT_m1" "$(state "$(agent a1 10.0.0.1)" "$(task t1 a1 31001 /web:80)" \
	"$(agent a2 10.0.0.2),$(agent a3 10.0.0.3)")"
ctl "$PORT_m1" '{"op":"drop"}'
wait_for 10 synced_since "$sync0"
if has s '"port":31002' && has s '"port":31004'; then pass failover_keeps_recovered_backends
else fail failover_keeps_recovered_backends "$(show s)"; fi
ev='{"op":"event","event":{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":'
ev0=$(fact s events_applied)
applied_from() { [ "$(fact s events_applied)" -ge "$1" ]; }
ctl "$PORT_m1" "$ev$(agent a2 10.0.0.2)}}}}"
ctl "$PORT_m1" "$(ev_task "$(task t2 a2 31002 /web:80)")"
wait_for 10 applied_from $((ev0 + 2))
if has s '"port":31002'; then pass failover_reregistered_agent_kept
else fail failover_reregistered_agent_kept "$(show s)"; fi
ctl "$PORT_m1" \
	'{"op":"event","event":{"type":"AGENT_REMOVED","agent_removed":{"agent_id":{"value":"a2"}}}}'
if wait_for 5 hasnt s '"port":31002' && has s '"port":31001'; then pass stream_agent_removed
else fail stream_agent_removed "$(show s)"; fi
kill_all

# The grace for agents that never come back (--recovered-grace 2).
fm_start m1
ctl "$PORT_m1" '{"op":"heartbeat","seconds":0.5}'
ctl "$PORT_m1" "$(state "$(agent a3 10.0.0.3)" "$(task t4 a3 31004 /web:80)")"
vipd g --master "http://127.0.0.1:$PORT_m1" --recovered-grace 2
# polling repeats the failover state every 200 ms: the grace still ends
# (4 s: it starts before the stream's, at the state change)
vipd gp --master "http://127.0.0.1:$PORT_m1" --recovered-grace 4 --mode poll --poll-interval 200
wait_for 10 has g '"port":31004'
wait_for 10 has gp '"port":31004'
ctl "$PORT_m1" "$(state "" "" "$(agent a3 10.0.0.3)")"
ctl "$PORT_m1" '{"op":"drop"}'
sleep 1
early=""
for n in g gp; do has $n '"port":31004' || early="$early $n"; done
for n in g gp; do
	case " $early " in
	*" $n "*) fail failover_grace_expires_$n \
		"withdrawn early: $(grep -i "withdrew\|failover" "$T/$n.log" | tail -4)" ;;
	*) if wait_for 8 hasnt $n '"port":31004'; then pass failover_grace_expires_$n
		else fail failover_grace_expires_$n "still there: $(show $n)"; fi ;;
	esac
done

kill_all
finish
