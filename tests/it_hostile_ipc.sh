#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Local processes that are not daemons against the three daemons' IPC
# sockets: 50 connections to every socket held open and never read from,
# and garbage sent to every socket, change nothing (each daemon keeps
# answering, ipvsd keeps receiving vipd's table); the run directory and
# the sockets keep an unprivileged user (nobody) out.
. tests/lib.sh
scratch_dir
R=$T/run
port=$((20000 + ($$ + 11) % 20000))

cat >"$T/vips.json" <<'VIPS'
{"vips":[{"protocol":"tcp","ip":"11.0.0.1","port":80,"backends":[{"ip":"10.0.0.1","port":8080}]}]}
VIPS
spawn "$B/vipd" --run-dir "$R" --log-level error --vips-file "$T/vips.json"
vpid=$LAST_PID
spawn "$B/overlayd" --run-dir "$R" --log-level error --listen "127.0.83.1:$port" --state-dir "$T"
spawn "$B/ipvsd" --run-dir "$R" --log-level error --dry-run >"$T/plan" 2>"$T/ipvsd.log"
ctl() { "$B/l4lbctl" --run-dir "$R" --timeout 1000 "$@"; }
up() { ctl status >/dev/null 2>&1; }
planned() { grep -q 'add-service tcp 11.0.0.1:80' "$T/plan"; }
if ! wait_for 10 up || ! wait_for 10 planned; then
	fail hostile_ipc_daemons_up "$(ctl status 2>&1; tail -n 3 "$T/ipvsd.log")"
	finish
fi
socks="$R/vipd.rep $R/vipd.pub $R/overlayd.rep $R/overlayd.pub $R/ipvsd.rep"

# Never reading: 50 idle connections per socket while the daemons work.
python3 tests/tools/sock_cycle.py hold 4 50 $socks >"$T/hold" 2>&1 &
hold=$!
sleep 1
ok=1
for i in 1 2 3; do
	up || ok=0
	sleep 0.3
done
# vipd's table still reaches ipvsd: a new static VIP (SIGHUP reloads it).
udp='{"protocol":"udp","ip":"11.0.0.2","port":53,"backends":[{"ip":"10.0.0.2","port":5353}]},'
sed -i "s/\"vips\":\\[/&$udp/" "$T/vips.json"
kill -HUP "$vpid"
planned2() { grep -q 'add-service udp 11.0.0.2:53' "$T/plan"; }
if [ "$ok" = 1 ] && wait_for 10 planned2; then
	pass hostile_ipc_idle_connections_change_nothing
else
	fail hostile_ipc_idle_connections_change_nothing \
		"status answered: $ok; $(tail -n 2 "$T/plan")"
fi
wait "$hold"
if grep -q '^ok 250$' "$T/hold"; then pass hostile_ipc_250_idle_connections_held; else
	fail hostile_ipc_250_idle_connections_held "$(cat "$T/hold")"
fi

# Garbage into every socket (raw bytes, not even the nanomsg handshake),
# then a real request still gets its answer.
python3 tests/tools/sock_cycle.py cycle 20 $socks >/dev/null 2>&1
head -c 4096 /dev/urandom >"$T/junk"
for d in vipd overlayd ipvsd; do
	out=$("$B/tests/tools/ipc_peer" raw "ipc://$R/$d.rep" "$T/junk" 2>&1)
	if echo "$out" | grep -q '^reply error' &&
		"$B/tests/tools/status_counter" "$R" "$d" x >/dev/null; then
		pass "hostile_ipc_${d}_garbage_refused_still_answering"
	else
		fail "hostile_ipc_${d}_garbage_refused_still_answering" "$out"
	fi
done

# An unprivileged user can neither list nor connect.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 0755 "$T"
	as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	mode=$(stat -c %a "$R")
	if [ "$mode" = 750 ] && ! $as_nobody "$B/l4lbctl" --run-dir "$R" --timeout 500 status \
		>/dev/null 2>&1; then
		pass "hostile_ipc_nobody_shut_out_by_l4lbctl (run dir $mode)"
	else
		fail hostile_ipc_nobody_shut_out_by_l4lbctl "run dir mode $mode"
	fi
	# a python3 nobody may run (root's may live in its home)
	py=$(command -v /usr/bin/python3 || command -v python3)
	out=$($as_nobody "$py" tests/tools/sock_cycle.py cycle 1 $socks 2>&1)
	if echo "$out" | grep -q 'failed 5 (.*Permission denied'; then
		pass hostile_ipc_nobody_cannot_connect_to_any_socket
	else
		fail hostile_ipc_nobody_cannot_connect_to_any_socket "$out"
	fi
else
	echo "SKIP: hostile_ipc_nobody (needs root and setpriv)"
fi
up && pass hostile_ipc_daemons_up_at_end || fail hostile_ipc_daemons_up_at_end "$(ctl status)"
finish
