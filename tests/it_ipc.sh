#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# IPC between real processes over real ipc:// sockets: the last snapshot
# always arrives, whichever side starts or restarts first; a snapshot of
# 100,000 backends crosses intact; malformed and oversize requests are
# refused and the receiver keeps working.
. tests/lib.sh
PEER=$B/tests/tools/ipc_peer
scratch_dir

published() { sed -n 's/^published \(gen=.*\) bytes=.*/\1/p' "$1" | tail -n 1; }
got() { grep -q "^received $(published "$1")\$" "$2"; }
# delivered NAME PUB SUB: PASS NAME once SUB has received PUB's last snapshot.
delivered() {
	if wait_for 10 got "$2" "$3"; then pass "$1"; else fail "$1" "$(cat "$3")"; fi
}

# 1. Publisher first, then subscriber; 100,000 backends.
spawn "$PEER" pub "$T" 100000 7 >"$T/pub1" 2>&1
wait_for 10 grep -q published "$T/pub1"
spawn "$PEER" sub "$T" >"$T/sub1" 2>&1
SUB=$LAST_PID
delivered "late subscriber gets the 100,000-backend snapshot intact" "$T/pub1" "$T/sub1"

# 2. Publisher restarts with new content: the running subscriber gets it.
PUB1=$(echo $PIDS | awk '{print $1}')
kill "$PUB1"
wait "$PUB1" 2>/dev/null
spawn "$PEER" pub "$T" 500 1 >"$T/pub2" 2>&1
wait_for 10 grep -q published "$T/pub2"
if wait_for 10 got "$T/pub2" "$T/sub1"; then
	pass "subscriber gets the snapshot of a restarted publisher (generation reset)"
else
	fail "subscriber gets the snapshot of a restarted publisher" "$(cat "$T/sub1")"
fi

# 3. Subscriber restarts: the new one gets the current snapshot.
kill "$SUB"
wait "$SUB" 2>/dev/null # its control socket is free once it has exited
spawn "$PEER" sub "$T" >"$T/sub2" 2>&1
delivered "restarted subscriber gets the current snapshot" "$T/pub2" "$T/sub2"
kill_all

# 4. Subscriber first, publisher later.
rm -rf "$T/run"
spawn "$PEER" sub "$T/run" >"$T/sub3" 2>&1
# its control socket (bound just before it subscribes) says it runs: a fixed
# pause let a slow host start the publisher first, the case tested above
wait_for 10 test -S "$T/run/ipcsub.rep"
spawn "$PEER" pub "$T/run" 1000 3 >"$T/pub3" 2>&1
wait_for 10 grep -q published "$T/pub3"
delivered "subscriber started before the publisher gets the snapshot" "$T/pub3" "$T/sub3"

# 5. Malformed and oversize requests are refused; the server keeps working.
URL=ipc://$T/run/ipcpeer.rep
head -c 200 /dev/urandom >"$T/garbage"
printf '\010\077' >"$T/badtype"   # field 1 (type) = 63: no such type
head -c 34000000 /dev/zero >"$T/oversize"
for f in garbage badtype oversize; do
	out=$("$PEER" raw "$URL" "$T/$f")
	case "$out" in
	"reply error:"*) pass "$f request refused with an error reply ($out)" ;;
	*) fail "$f request refused with an error reply" "$out" ;;
	esac
done
printf '\010\001\122\000' >"$T/status"   # STATUS_REQUEST with its empty body
out=$("$PEER" raw "$URL" "$T/status")
check "server still answers a valid status request" test "$out" = "reply status_reply"
kill_all
finish
