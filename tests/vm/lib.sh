# SPDX-License-Identifier: Apache-2.0
# Helpers for test scripts that run inside the test VM (tests/vm/run.sh), in the
# style of WireGuard's netns.sh: namespaces with $$ in their names, one-word
# helpers to run commands in them, plain assertions, cleanup on exit.
#
#	. "$(dirname "$0")/lib.sh"
#	bridge_new lan                      # a namespace "lan" holding bridge br0
#	ns_new node b1
#	ns_link lan node 10.0.0.1/24 fd00::1/64   # node's interface "lan"
#	ns_link lan b1 10.0.0.11/24 fd00::11/64
#	serve_http b1 8080 b1               # answers "b1"
#	n() { nx node "$@"; }
#	check "ipvs service" n ipvsadm -A -t 11.0.0.1:80 -s wlc
#	vm_done                             # exit 1 if any check failed
#
# The project's test runner counts the lines starting with "PASS: ", "FAIL: "
# and "SKIP: ". Works with sh (dash) and bash; needs iproute2, busybox (httpd)
# and curl from the host's root, and the build's tests/tools/e2e_net (UDP).

set -eu

# State lives in the namespace names and in files, not in shell variables, so
# that helpers called in subshells ($(...), pipelines) count too.
VM_NS=l4lb$$-
VM_TMP=$(mktemp -d)
VM_DONE=

# vm_require CMD PACKAGE: stop with a FAIL naming the Debian package (listed
# in tests/vm/packages.txt) that the host lacks.
vm_require() {
	command -v "$1" >/dev/null 2>&1 && return
	echo "FAIL: $1 not found: install the Debian package $2 (tests/vm/packages.txt)"
	exit 1
}

# vm_only BUILD_DIR [CMD[:PACKAGE]...]: the preamble of a test script. Outside
# the VM it says how to run the script and exits 2; inside it sets B to the
# build directory (absolute; default build) and stops with a FAIL if a
# command is missing (PACKAGE defaults to CMD).
vm_only() {
	if [ "${L4LB_VM:-}" != 1 ]; then
		echo "run it in the VM: tests/vm/run.sh $0 [BUILD_DIR]" >&2
		VM_DONE=1
		exit 2
	fi
	B=$(cd "${1:-build}" 2>/dev/null && pwd) || B=${1:-build}
	shift
	vm_require nsenter util-linux
	for _r; do
		case $_r in
		*:*) vm_require "${_r%%:*}" "${_r#*:}" ;;
		*) vm_require "$_r" "$_r" ;;
		esac
	done
}

# L4LB_VM_TIMES=1: each result line is preceded by "# at S s", the seconds
# since lib.sh was loaded (from /proc/uptime, no process started), to see
# where a suite spends its time.
# vm_cs: /proc/uptime in centiseconds (it always has two decimals).
vm_cs() {
	read -r _t _ </proc/uptime
	echo "${_t%.*}${_t#*.}"
}
VM_T0=$(vm_cs)
vm_at() {
	[ "${L4LB_VM_TIMES:-0}" = 1 ] || return 0
	_t=$(($(vm_cs) - VM_T0))
	echo "# at $((_t / 100)).$((_t % 100 / 10)) s"
}
pass() { vm_at; echo "PASS: $1"; }
fail() {
	vm_at
	echo "FAIL: $1${2:+ ($2)}"
	echo "$1" >>"$VM_TMP/failed"
}
skip() { vm_at; echo "SKIP: $1${2:+ ($2)}"; }

# check NAME CMD...: PASS if CMD succeeds, else FAIL with its last output line.
# CMD runs as a condition, where the shell ignores set -e: a function given as
# CMD must chain its steps with && itself. Set-up steps that must not fail are
# better run bare: set -e stops the script, and vm_cleanup reports a FAIL.
check() {
	_name=$1
	shift
	if _out=$("$@" 2>&1); then
		pass "$_name"
	else
		_rc=$?
		_why=$(printf '%s\n' "$_out" | tail -n 1)
		fail "$_name" "${_why:-$* exited with $_rc}"
	fi
}

# check_eq NAME WANT GOT
check_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "want '$2', got '$3'"
	fi
}

# wait_until SECONDS CMD...: retry CMD until it succeeds; fail after SECONDS.
# Tests wait for a condition this way, never with a bare sleep.
# The clock is read from /proc/uptime by the shell itself: a process start
# costs tens of milliseconds in the emulated VM, more under load.
wait_until() {
	read -r _up _ </proc/uptime
	_end=$((${_up%.*} + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		read -r _up _ </proc/uptime
		[ "${_up%.*}" -lt "$_end" ] || return 1
		sleep 0.1
	done
}

# ns_new NAME...: new network namespaces, loopback up.
ns_new() {
	for _n; do
		ip netns add "$VM_NS$_n"
		ip -n "$VM_NS$_n" link set lo up
	done
}

# nx NAME CMD...: run CMD in namespace NAME (a test defines one-letter
# wrappers, n1() { nx n1 "$@"; }, as netns.sh does). nsenter rather than
# `ip netns exec`, which also remounts /sys: nothing here reads the
# namespace's /sys, and every process start counts under TCG.
nx() {
	_n=$1
	shift
	nsenter --net="/run/netns/$VM_NS$_n" "$@"
}

# bridge_new NAME: a namespace NAME holding the bridge br0, the shared segment
# that ns_link connects namespaces to.
bridge_new() {
	ns_new "$1"
	ip -n "$VM_NS$1" link add br0 type bridge
	ip -n "$VM_NS$1" link set br0 up
}

# ns_link BRIDGE NS ADDR/PREFIX...: a veth pair from BRIDGE's br0 (the end
# there is named NS) to NS (the end there is named BRIDGE), with addresses.
# IPv6 addresses skip duplicate address detection so they work at once.
ns_link() {
	_br=$1 _ns=$2
	shift 2
	ip -n "$VM_NS$_br" link add name "$_ns" type veth peer name "$_br" netns "$VM_NS$_ns"
	ip -n "$VM_NS$_br" link set dev "$_ns" master br0 up
	for _a; do
		case $_a in
		*:*) ip -n "$VM_NS$_ns" addr add "$_a" dev "$_br" nodad ;;
		*) ip -n "$VM_NS$_ns" addr add "$_a" dev "$_br" ;;
		esac
	done
	ip -n "$VM_NS$_ns" link set dev "$_br" up
}

# listening NS tcp|udp PORT: something in NS listens on PORT.
listening() {
	nx "$1" ss -Hln --"$2" "sport = :$3" | grep -q .
}

# serve_http NS PORT TEXT: an HTTP server in NS on PORT (IPv4 and IPv6)
# answering GET / with TEXT. Returns once it listens.
serve_http() {
	_d=$VM_TMP/http-$1-$2
	mkdir -p "$_d"
	echo "$3" >"$_d/index.html"
	# ip netns exec, not nx: a function would run in a subshell that reports
	# "Terminated" when vm_cleanup stops the server.
	ip netns exec "$VM_NS$1" busybox httpd -f -p "$2" -h "$_d" &
	wait_until 10 listening "$1" tcp "$2"
}

# serve_udp NS PORT TEXT: a UDP server in NS on PORT (IPv4 and IPv6) answering
# every datagram with TEXT. Returns once it listens.
serve_udp() {
	ip netns exec "$VM_NS$1" "$B/tests/tools/e2e_net" udpserve "$3" "$2" &
	wait_until 10 listening "$1" udp "$2"
}

# http_get NS URL [N]: GET URL N times (default 1) from NS, each on a new
# connection (so IPVS schedules each afresh), in one process; print the
# bodies (2 s timeout each).
http_get() {
	_ns=$1 _u=$2 _n=${3:-1}
	set --
	while [ "$_n" -gt 0 ]; do
		set -- "$@" "$_u"
		_n=$((_n - 1))
	done
	nx "$_ns" curl -fsS -g --max-time 2 -H 'Connection: close' "$@"
}

# udp_ask NS HOST PORT [N]: send N datagrams (default 1) from NS, each from a
# new socket (a new flow for IPVS), in one process; print the answers (2 s
# timeout each), stop at the first unanswered one.
udp_ask() {
	E2E_TIMEOUT_MS=2000 ip netns exec "$VM_NS$1" "$B/tests/tools/e2e_net" udpeach "$2" "$3" \
		"${4:-1}"
}

# vm_cleanup: on exit, stop every process in our namespaces and delete them.
# A script that stops before vm_done (set -e) gets a FAIL line saying so.
vm_cleanup() {
	_rc=$?
	if [ -z "$VM_DONE" ] && [ "$_rc" -ne 0 ]; then
		echo "FAIL: $(basename "$0") stopped early (exit status $_rc)"
	fi
	for _n in $(ip netns list | awk -v p="$VM_NS" 'index($1, p) == 1 { print $1 }'); do
		ip netns pids "$_n" | xargs -r kill 2>/dev/null || true
		ip netns del "$_n"
	done
	rm -rf "$VM_TMP"
}
trap vm_cleanup EXIT

# vm_done: end of a test script; exit status 1 if any check failed.
vm_done() {
	VM_DONE=1
	if [ -s "$VM_TMP/failed" ]; then
		echo "# $(wc -l <"$VM_TMP/failed") check(s) failed"
		exit 1
	fi
	exit 0
}
