#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The real vipd against a fake Mesos master on loopback
# (tests/fakemaster/fakemaster.py): streaming events reach the published
# table promptly (latency reported), outages / 500 / truncated and malformed
# bodies / streams cut mid-record keep the last table, a silent stream is
# reconnected, a failover keeps recovered agents' backends, 307 redirects,
# a dead first --master, polling, legacy /state and token auth.
set -u
B=${1:-build}
. tests/lib.sh
T=$(mktemp -d)
trap 'kill_all; rm -rf "$T"' EXIT
FM=tests/fakemaster/fakemaster.py

fm_start() { # name: starts a fake master, sets PORT_<name>
	rm -f "$T/$1.port"
	spawn python3 "$FM" "$T/$1.port"
	wait_for 10 test -s "$T/$1.port" || { fail "fakemaster_$1" "did not start"; finish; }
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
fact() { "$B/tests/tools/status_counter" "$T/$1" vipd "$2"; } # name key: a status fact
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
for m in truncate malformed; do
	ctl "$PORT_m1" "{\"op\":\"mode\",\"mode\":\"$m\"}"
	r0=$(stat "$PORT_m1" requests)
	wait_for 10 sh -c "[ \$(python3 $FM stats $PORT_m1 requests) -ge $((r0 + 1)) ]"
	sleep 0.3
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
GRACE_PIDS=$LAST_PID
# polling repeats the failover state every 200 ms: the grace still ends
# (4 s: it starts before the stream's, at the state change)
vipd gp --master "http://127.0.0.1:$PORT_m1" --recovered-grace 4 --mode poll --poll-interval 200
GRACE_PIDS="$GRACE_PIDS $LAST_PID"
wait_for 10 has g '"port":31004'
wait_for 10 has gp '"port":31004'
ctl "$PORT_m1" "$(state "" "" "$(agent a3 10.0.0.3)")"
ctl "$PORT_m1" '{"op":"drop"}'
sleep 1
early=""
for n in g gp; do has $n '"port":31004' || early="$early $n"; done
for n in g gp; do
	case " $early " in
	*" $n "*) fail failover_grace_expires_$n "withdrawn early: $(grep -i "withdrew\|failover\|generation" "$T/$n.log" | tail -4)" ;;
	*) if wait_for 8 hasnt $n '"port":31004'; then pass failover_grace_expires_$n
		else fail failover_grace_expires_$n "still there: $(show $n)"; fi ;;
	esac
done
kill $GRACE_PIDS # their requests would hide the token checked below

# --- 307 to the leader, a dead first master, token auth ---
ctl "$PORT_m1" "$(state "$(agent a1 10.0.0.1)" "$(task t1 a1 31001 /web:80)")"
fm_start m2
ctl "$PORT_m2" "{\"op\":\"mode\",\"mode\":\"redirect:http://127.0.0.1:$PORT_m1\"}"
L4LB_MASTER_TOKEN=s3cret vipd r --master http://127.0.0.1:1 --master "http://127.0.0.1:$PORT_m2"
if wait_for 10 has r '"port":31001'; then pass redirect_and_next_master
else fail redirect_and_next_master "$(show r) $(tail -3 "$T/r.log")"; fi
if [ "$(stat "$PORT_m1" auth)" = "token=s3cret" ]; then pass token_auth_header
else fail token_auth_header "got '$(stat "$PORT_m1" auth)'"; fi

# The leader a 307 named dies: vipd goes back to the configured master
# (the only one given), which now leads itself.
fm_start ld
LD_PID=$LAST_PID
ctl "$PORT_ld" "$(state "$(agent a1 10.0.0.1)" "$(task t1 a1 31011 /web:80)")"
fm_start fo
ctl "$PORT_fo" "{\"op\":\"mode\",\"mode\":\"redirect:http://127.0.0.1:$PORT_ld\"}"
vipd rd --master "http://127.0.0.1:$PORT_fo"
wait_for 10 has rd '"port":31011'
ctl "$PORT_fo" "$(state "$(agent a1 10.0.0.1)" "$(task t1 a1 31012 /web:80)")"
ctl "$PORT_fo" '{"op":"mode","mode":"ok"}'
kill "$LD_PID"
if wait_for 10 has rd '"port":31012'; then pass dead_leader_back_to_configured
else fail dead_leader_back_to_configured "$(show rd) $(tail -2 "$T/rd.log")"; fi
if grep -q "retrying http://127.0.0.1:$PORT_fo in" "$T/rd.log" &&
	[ "$("$B/tests/tools/status_counter" "$T/rd" vipd master)" = "http://127.0.0.1:$PORT_fo" ]
then pass dead_leader_log_and_status_name_retried
else fail dead_leader_log_and_status_name_retried "$(grep retrying "$T/rd.log" | tail -1)"; fi

# --- polling GET_STATE, and legacy /state detected on a 404 ---
vipd p --master "http://127.0.0.1:$PORT_m1" --mode poll --poll-interval 200
if wait_for 10 has p '"port":31001'; then pass poll_initial_table
else fail poll_initial_table "$(show p)"; fi
ctl "$PORT_m1" "$(state "$(agent a1 10.0.0.1)" \
	"$(task t1 a1 31001 /web:80),$(task t5 a1 31005 /web:80)")"
if wait_for 10 has p '"port":31005'; then pass poll_sees_change
else fail poll_sees_change "$(show p)"; fi
# a 200 whose JSON is no master reply ({"foo":1}): counted, table kept
ctl "$PORT_m1" '{"op":"mode","mode":"notmaster"}'
before=$(show p)
if wait_for 10 sh -c "[ \$($B/tests/tools/status_counter $T/p vipd master_malformed) -ge 2 ]" &&
	[ "$(show p)" = "$before" ]; then pass poll_not_a_master_keeps_table
else fail poll_not_a_master_keeps_table "$(fact p master_malformed) $(show p)"; fi
ctl "$PORT_m1" '{"op":"mode","mode":"ok"}'
# polling: a 500, a truncated and a malformed reply keep the table, counted
before=$(show p)
for m in 500 truncate malformed; do
	k=master_errors
	e0=$(fact p "$k")
	ctl "$PORT_m1" "{\"op\":\"mode\",\"mode\":\"$m\"}"
	if wait_for 10 sh -c "[ \$($B/tests/tools/status_counter $T/p vipd $k) -gt $e0 ]" &&
		[ "$(show p)" = "$before" ]; then pass "poll_${m}_keeps_table"
	else fail "poll_${m}_keeps_table" "$k $(fact p "$k"): $(show p)"; fi
done
ctl "$PORT_m1" '{"op":"mode","mode":"ok"}'
fm_start m3
ctl "$PORT_m3" '{"op":"mode","mode":"404"}'
ctl "$PORT_m3" "$(state "$(agent a1 10.0.0.1)" "$(task t1 a1 31001 /web:80)")"
echo "from-file" >"$T/token"
L4LB_MASTER_TOKEN=from-env vipd l --master "http://127.0.0.1:$PORT_m3" --token-file "$T/token"
L_PID=$LAST_PID
if wait_for 10 has l '"port":31001' && [ "$(stat "$PORT_m3" legacy)" -ge 1 ]; then
	pass legacy_state_detected
else fail legacy_state_detected "$(show l)"; fi
if [ "$(stat "$PORT_m3" auth)" = "token=from-file" ]; then pass token_file_wins_over_env
else fail token_file_wins_over_env "got '$(stat "$PORT_m3" auth)'"; fi
# --api v1 never falls back to /state; --api legacy asks /state at once
kill "$L_PID"
sleep 0.3
l0=$(stat "$PORT_m3" legacy)
vipd v1 --master "http://127.0.0.1:$PORT_m3" --api v1
if wait_for 10 sh -c "[ \$($B/tests/tools/status_counter $T/v1 vipd master_http_error) -ge 2 ]" &&
	[ "$(stat "$PORT_m3" legacy)" = "$l0" ] && hasnt v1 '"port"'; then pass api_v1_forced
else fail api_v1_forced "legacy $(stat "$PORT_m3" legacy) $(show v1)"; fi
g0=$(stat "$PORT_m1" get_states)
s0=$(stat "$PORT_m1" subscribes)
vipd lg --master "http://127.0.0.1:$PORT_m1" --api legacy
if wait_for 10 has lg '"port":31005' && [ "$(stat "$PORT_m1" subscribes)" = "$s0" ] &&
	[ "$(stat "$PORT_m1" legacy)" -ge 1 ]; then pass api_legacy_forced
else fail api_legacy_forced "legacy $(stat "$PORT_m1" legacy) $(show lg)"; fi

# systemd readiness: READY=1 once the master's state is published, not at
# start; with no master answering, once the bound (connect + request
# timeout, here 2 s) has passed.
notify_listen() { # socket path: appends every datagram to PATH.out
	spawn python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(1)
open(sys.argv[1] + ".ready", "w").close()
end = time.time() + 50
while time.time() < end:
    try:
        m = s.recv(256).decode()
    except socket.timeout:
        continue
    with open(sys.argv[1] + ".out", "a") as f:
        f.write(m + "\n")
' "$1"
	wait_for 5 test -e "$1.ready"
}
notify_listen "$T/n1"
notify_listen "$T/n2"
ctl "$PORT_m1" '{"op":"mode","mode":"500"}'
NOTIFY_SOCKET=$T/n1 vipd rdy --master "http://127.0.0.1:$PORT_m1"
NOTIFY_SOCKET=$T/n2 vipd bnd --master http://127.0.0.1:1 --connect-timeout 1 --request-timeout 1
sleep 1
if grep -q READY=1 "$T/n1.out" 2>/dev/null || grep -q READY=1 "$T/n2.out" 2>/dev/null; then
	fail ready_not_before_sync "READY=1 with nothing published"
else pass ready_not_before_sync; fi
ctl "$PORT_m1" '{"op":"mode","mode":"ok"}'
if wait_for 10 grep -q READY=1 "$T/n1.out" && has rdy '"port":31001'; then pass ready_after_sync
else fail ready_after_sync "$(cat "$T/n1.out" 2>/dev/null) $(show rdy)"; fi
if wait_for 10 grep -q READY=1 "$T/n2.out" && grep -q "ready: no complete state" "$T/bnd.log"
then pass ready_after_bound_without_master
else fail ready_after_bound_without_master "$(grep ready "$T/bnd.log")"; fi

# A master that refuses SUBSCRIBE (501): vipd polls GET_STATE instead.
fm_start m4
ctl "$PORT_m4" '{"op":"mode","mode":"refuse-subscribe:501"}'
ctl "$PORT_m4" "$(state "$(agent a1 10.0.0.1)" "$(task t1 a1 31041 /web:80)")"
vipd ns --master "http://127.0.0.1:$PORT_m4" --poll-interval 200
if wait_for 10 has ns '"port":31041'; then
	ctl "$PORT_m4" "$(state "$(agent a1 10.0.0.1)" "$(task t1 a1 31042 /web:80)")"
fi
if wait_for 10 has ns '"port":31042' && [ "$(fact ns mode)" = poll ] &&
	[ "$(stat "$PORT_m4" subscribes_refused)" = 1 ] &&
	[ "$(fact ns master_subscribe_refused)" = 1 ]; then pass subscribe_refused_polls
else fail subscribe_refused_polls "$(fact ns mode) $(stat "$PORT_m4" subscribes_refused) $(show ns)"; fi

kill_all
finish
