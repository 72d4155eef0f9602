#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The real vipd against fake Mesos masters on loopback
# (tests/fakemaster/fakemaster.py): 307 to the leader, a dead first
# --master, a dead leader (back to the configured master), polling GET_STATE
# and its bad replies, legacy /state detected or forced, --api v1, token
# auth (--token-file over the environment), systemd readiness, a master
# that refuses SUBSCRIBE.
. tests/lib.sh
scratch_dir
. tests/fakemaster/lib.sh

fm_start m1
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
# Two failures counted since the mode changed: one request at a time, so the
# second read a reply of this mode (the first may answer the mode before).
for m in 500 truncate malformed; do
	k=master_errors
	ctl "$PORT_m1" "{\"op\":\"mode\",\"mode\":\"$m\"}"
	e0=$(fact p "$k")
	if wait_for 10 sh -c "[ \$($B/tests/tools/status_counter $T/p vipd $k) -ge $((e0 + 2)) ]" &&
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
wait "$L_PID" 2>/dev/null # gone, with its requests: l0 counts no more of them
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

# --connect-timeout reaches the connection: a listening socket whose accept
# queue is full never completes a connect (SYNs dropped), on loopback.
spawn python3 -c '
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
fill = []
for i in range(3):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(s.getsockname())
    fill.append(c)
time.sleep(0.2)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(50)
' "$T/full.port"
wait_for 5 test -s "$T/full.port"
vipd ct --master "http://127.0.0.1:$(cat "$T/full.port")" --connect-timeout 1
if wait_for 10 grep -Eq "after 1[0-9]{3} (ms|milliseconds)" "$T/ct.log"; then
	pass connect_timeout_applied
else fail connect_timeout_applied "$(grep -m1 retrying "$T/ct.log")"; fi

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
else fail subscribe_refused_polls \
	"$(fact ns mode) $(stat "$PORT_m4" subscribes_refused) $(show ns)"; fi


kill_all
finish
