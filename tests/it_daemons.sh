#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The three daemons run together as a normal user with a shared run
# directory; l4lbctl status shows them up, shows a killed one down and the
# restarted one up again; --help/--version/--check-config work everywhere.
. tests/lib.sh
scratch_dir
R=$T/run

# As root, drop to nobody: the daemons need no privilege for this.
as_user=""
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 0755 "$T"
	chown nobody "$T"
	as_user="setpriv --reuid=nobody --regid=nogroup --clear-groups"
fi
start() { # daemon [args]
	d=$1
	shift
	spawn $as_user "$B/$d" --run-dir "$R" --log-level warn "$@"
	eval "PID_$d=\$LAST_PID"
}
ctl() { $as_user "$B/l4lbctl" --run-dir "$R" --timeout 500 "$@"; }
status_is() { # expected JSON up-flags, e.g. "true true false"
	out=$(ctl status --json)
	got=$(echo "$out" | sed 's/"up":/\n/g' | sed -n 's/^\(true\|false\).*/\1/p' | tr '\n' ' ')
	[ "$got" = "$1 " ]
}

for d in vipd overlayd ipvsd l4lbctl; do
	check "$d --version" sh -c "$B/$d --version | grep -q '^$d (l4lb) '"
	check "$d --help" sh -c "$B/$d --help | grep -q 'Usage: $d'"
done
# each daemon's --help shows its own HTTP default (common/daemon.h)
for dp in vipd:61421 overlayd:61422 ipvsd:61423; do
	d=${dp%:*}
	check "$d --help shows its HTTP default 127.0.0.1:${dp#*:}" sh -c "$B/$d --help |
		grep -- '--http-listen' | grep -q '(default 127.0.0.1:${dp#*:})\$'"
done
printf '[vipd]\nno-such-option = 1\n' >"$T/bad.conf"
out=$("$B/vipd" --config "$T/bad.conf" --check-config 2>&1)
rc=$?
check "--check-config names file:line of a bad key (rc=$rc: $out)" \
	sh -c "[ $rc = 2 ] && echo '$out' | grep -q 'bad.conf:2: unknown option'"

# overlayd on a loopback port of its own, so parallel runs do not collide.
OVL_ARGS="--listen 127.0.0.1:$((20000 + $$ % 20000)) --state-dir $T"
start vipd
start overlayd $OVL_ARGS
start ipvsd --dry-run
if wait_for 10 status_is "true true true"; then
	pass "l4lbctl status: all three up"
else
	fail "l4lbctl status: all three up" "$(ctl status)"
fi
out=$(ctl status --json)
check "status --json has the documented shape" sh -c "echo '$out' | grep -Eq \
'^\{\"daemons\":\[\{\"name\":\"vipd\",\"up\":true,\"version\":\"[^\"]+\",\"uptime_seconds\":[0-9]+\},\{\"name\":\"overlayd\",.*\]\}$'"
ctl status >/dev/null
check "exit status 0 when all are up" test $? = 0
check "run directory is not open to others" sh -c "stat -c %a '$R' | grep -q '^750$'"

i=0
for d in vipd overlayd ipvsd; do
	eval "pid=\$PID_$d"
	sig=TERM
	[ "$d" = overlayd ] && sig=KILL # a crash leaves its socket file behind
	kill -s $sig "$pid"
	wait "$pid" 2>/dev/null
	want="true true true"
	want=$(echo "$want" | awk -v i=$((i + 1)) '{$i="false"; print}')
	if wait_for 10 status_is "$want"; then
		pass "$d killed (SIG$sig): status shows it down"
	else
		fail "$d killed (SIG$sig): status shows it down" "$(ctl status --json)"
	fi
	ctl status >/dev/null
	check "exit status 1 while $d is down" test $? = 1
	case $d in
	ipvsd) start ipvsd --dry-run ;;
	overlayd) start overlayd $OVL_ARGS ;;
	*) start "$d" ;;
	esac
	if wait_for 10 status_is "true true true"; then
		pass "$d restarted: status shows it up again"
	else
		fail "$d restarted: status shows it up again" "$(ctl status --json)"
	fi
	i=$((i + 1))
done
# systemd readiness: READY=1 arrives on NOTIFY_SOCKET; SIGHUP keeps it running.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(10)
open(sys.argv[1] + ".ready", "w").close()
print(s.recv(256).decode(), flush=True)
' "$T/notify" >"$T/notify.out" 2>&1 &
PIDS="$PIDS $!"
wait_for 5 test -e "$T/notify.ready"
printf '[common]\nlog-level = info\n[vipd]\npoll-interval = 2000\n' >"$T/hup.conf"
NOTIFY_SOCKET=$T/notify "$B/vipd" --run-dir "$T/run2" --config "$T/hup.conf" --http-listen off \
	2>"$T/vipd2.log" &
PIDS="$PIDS $!"
VIPD2=$!
check "vipd tells systemd READY=1" wait_for 10 grep -q "READY=1" "$T/notify.out"
printf '[common]\nlog-level = debug\n[vipd]\npoll-interval = 3000\n' >"$T/hup.conf"
# said LINE: vipd2 has logged LINE and still runs (a wait for the line, not a
# fixed pause that a slow host outlasts; a crash later still fails stop_clean)
said() { grep -q "$1" "$T/vipd2.log" && kill -0 "$VIPD2"; }
kill -HUP "$VIPD2"
check "SIGHUP reloads and the daemon keeps running" wait_for 5 said 'reloading configuration'
check "SIGHUP applies log-level live" wait_for 5 grep -q "log-level is now debug" "$T/vipd2.log"
check "SIGHUP names a setting that needs a restart" \
	wait_for 5 grep -q "poll-interval changed in $T/hup.conf: takes effect when vipd restarts" \
	"$T/vipd2.log"
printf '[vipd]\npoll-interval 3000\n' >"$T/hup.conf"
kill -HUP "$VIPD2"
check "SIGHUP with a broken file keeps running and says where" wait_for 5 said 'hup.conf:2'
stop_clean "SIGTERM exits cleanly (status 0)" "$VIPD2"

out=$(ctl status 2>&1)
check "human output lists every daemon" sh -c "echo '$out' | grep -q '^vipd *up' && echo '$out' | grep -q '^ipvsd *up'"
"$B/l4lbctl" --run-dir "$T/nowhere" status >"$T/down.out" 2>&1
check "a missing daemon is named with its socket path" \
	grep -q "vipd is not running: no socket at $T/nowhere/vipd.rep" "$T/down.out"
"$B/l4lbctl" frobnicate >/dev/null 2>&1
check "unknown command exits 2" test $? = 2
finish
