#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The units' SystemCallFilter=@system-service, checked without systemd: each
# daemon runs under strace -f through what it does in service (IPC, HTTP
# scrape, SIGHUP, SIGTERM; ipvsd as a dry run in a namespace, with the
# programs it starts), and every system call it made must be in the set
# systemd-analyze expands @system-service to. vipd and overlayd run with
# ProcSubset=pid: they must read nothing in /proc outside /proc/<pid>.
. tests/lib.sh
scratch_dir

for t in strace systemd-analyze curl; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "SKIP: seccomp (no $t)"
		exit 0
	fi
done
# A sanitizer runtime makes calls of its own (LeakSanitizer even ptraces the
# process at exit, which fails under strace): only a plain build says what
# the daemons need.
if ldd "$B/vipd" 2>/dev/null | grep -q 'lib[a-z]*san'; then
	echo "SKIP: seccomp (sanitizer build)"
	exit 0
fi
if ! strace -f -qq -o /dev/null true 2>/dev/null; then
	echo "SKIP: seccomp (strace cannot trace here)"
	exit 0
fi

# @system-service with its groups expanded, one name per line.
expand() {
	systemd-analyze syscall-filter "$1" | sed -n 's/^    \([@a-z0-9_-]*\)$/\1/p' |
		while read -r n; do
			case $n in
			@*) expand "$n" </dev/null ;;
			*) echo "$n" ;;
			esac
		done
}
expand @system-service | sort -u >"$T/allowed"
check "seccomp: @system-service expands to a set" test "$(wc -l <"$T/allowed")" -gt 200

# calls TRACE: the system calls a trace holds (strace -f -o: "PID name(...")
calls() { sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$1" | sort -u; }
verdict() { # NAME TRACE
	calls "$2" >"$T/used-$1"
	comm -23 "$T/used-$1" "$T/allowed" >"$T/extra-$1"
	if [ ! -s "$T/used-$1" ]; then
		fail "seccomp: $1 calls only @system-service" "empty trace"
	elif [ -s "$T/extra-$1" ]; then
		fail "seccomp: $1 calls only @system-service" "outside: $(tr '\n' ' ' <"$T/extra-$1")"
	else
		pass "seccomp: $1 calls only @system-service ($(wc -l <"$T/used-$1") distinct calls)"
	fi
}
proc_ok() { # NAME TRACE: no path in /proc but /proc/self and /proc/<pid>
	bad=$(grep -o '"/proc/[^"]*"' "$2" | grep -Ev '"/proc/(self|thread-self|[0-9]+)(/|")' | sort -u)
	if [ -z "$bad" ]; then pass "ProcSubset=pid: $1 reads no other /proc file"; else
		fail "ProcSubset=pid: $1 reads no other /proc file" "$(echo "$bad" | tr '\n' ' ')"; fi
}
port_of() { sed -n 's/.*http: serving on .* (port \([0-9]*\)).*/\1/p' "$1" | head -n 1; }
has_port() { [ -n "$(port_of "$1")" ]; }
# stop STRACE-PID: SIGHUP, then SIGTERM to the traced daemon (strace's child:
# signals to strace itself would only detach it), and wait for strace (the
# clean exit is part of the trace)
stop() {
	_d=$(ps --ppid "$1" -o pid= | tr -d ' ')
	[ -n "$_d" ] && kill -HUP "$_d" && sleep 0.3 && kill -TERM "$_d"
	wait "$1" 2>/dev/null
}

# vipd from a file, scraped and asked over IPC
spawn strace -f -qq -o "$T/vipd.tr" "$B/vipd" --run-dir "$T/v" --http-listen 127.0.0.1:0 \
	--vips-file tests/fixtures/vipd/static.json 2>"$T/vipd.log"
VP=$LAST_PID
wait_for 20 has_port "$T/vipd.log"
wait_for 10 "$B/l4lbctl" --run-dir "$T/v" --timeout 1000 vips >/dev/null
for u in /metrics /v1/vips /healthz; do
	curl -fsS --max-time 5 "http://127.0.0.1:$(port_of "$T/vipd.log")$u" >/dev/null
done
stop "$VP"
verdict vipd "$T/vipd.tr"
proc_ok vipd "$T/vipd.tr"

# overlayd: two nodes, the traced one joining, pinging and being scraped
A=127.0.$((80 + $$ % 40)).$((1 + $$ % 200))
Bn=127.0.$((80 + $$ % 40)).$((2 + $$ % 200))
mkdir -p "$T/o1" "$T/o2"
spawn "$B/overlayd" --run-dir "$T/o2" --state-dir "$T/o2" --listen "$Bn:61420" --seeds "$A" \
	--http-listen off 2>"$T/o2.log"
spawn strace -f -qq -o "$T/overlayd.tr" "$B/overlayd" --run-dir "$T/o1" --state-dir "$T/o1" \
	--listen "$A:61420" --seeds "$Bn" --http-listen 127.0.0.1:0 2>"$T/o1.log"
OP=$LAST_PID
wait_for 20 has_port "$T/o1.log"
reach2() { "$B/l4lbctl" --run-dir "$T/o1" --timeout 1000 nodes --json 2>/dev/null |
	grep -q "\"$Bn\".*\"reachable\":true\|\"reachable\":true.*\"$Bn\""; }
wait_for 20 reach2
for u in /metrics /v1/nodes; do
	curl -fsS --max-time 5 "http://127.0.0.1:$(port_of "$T/o1.log")$u" >/dev/null
done
stop "$OP"
verdict overlayd "$T/overlayd.tr"
proc_ok overlayd "$T/overlayd.tr"

# ipvsd: dry run in a namespace of its own, fed a table, then a change
if unshare -n true 2>/dev/null; then
	printf 'vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.1.1\nreach 10.0.1.1\n' >"$T/spec"
	spawn "$B/tests/tools/ipvsd_feed" "$T/i" "$T/spec" >/dev/null 2>&1
	cat >"$T/ipvsd.sh" <<EOF2
ip link set lo up
strace -f -qq -o "$T/ipvsd.tr" "$B/ipvsd" --run-dir "$T/i" --dry-run \
	--http-listen 127.0.0.1:61423 >/dev/null 2>"$T/ipvsd.log" &
P=\$!
i=0
until curl -fsS --max-time 2 http://127.0.0.1:61423/metrics 2>/dev/null |
	grep -q '^l4lb_ipvsd_backends 1' || [ \$i = 100 ]; do sleep 0.2; i=\$((i + 1)); done
echo 'vip tcp 11.0.0.2 80 10.0.0.12:8080@10.0.1.1' >>"$T/spec"
i=0
until curl -fsS --max-time 2 http://127.0.0.1:61423/metrics 2>/dev/null |
	grep -q '^l4lb_ipvsd_backends 2' || [ \$i = 100 ]; do sleep 0.2; i=\$((i + 1)); done
"$B/l4lbctl" --run-dir "$T/i" ipvs >/dev/null
D=\$(ps --ppid \$P -o pid= | tr -d ' ')
kill -HUP \$D
sleep 0.3
kill -TERM \$D
wait \$P
EOF2
	timeout 60 unshare -n sh "$T/ipvsd.sh"
	verdict ipvsd "$T/ipvsd.tr"
else
	echo "SKIP: seccomp: ipvsd (cannot create a network namespace)"
fi

# The check must catch a call outside the set.
echo "99 reboot(LINUX_REBOOT_MAGIC1) = -1 EPERM" >"$T/bad.tr"
calls "$T/bad.tr" | comm -23 - "$T/allowed" | grep -qx reboot &&
	pass "seccomp: a call outside @system-service is caught" ||
	fail "seccomp: a call outside @system-service is caught" "reboot passed"
finish
