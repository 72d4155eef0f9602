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
# and "SKIP: ". Works with sh (dash) and bash; needs iproute2 from the host's
# root and the build's tests/tools/e2e_net (the servers and clients).
#
# Every process start costs 10-40 ms in the emulated VM (more under load), so
# the helpers start as few as they can: one `ip -batch` per namespace touched,
# servers that return once they listen, one client process for N requests.

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
	vm_ticker
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

# vm_count GLOB TEXT: sets VM_N to the number of lines of TEXT that match
# the shell pattern GLOB (a `grep -c` without its process start: read a
# command's output once into a variable, then count or look in it). A "["
# in GLOB starts a bracket expression: "\[" matches a "[" (IPv6 in ipvsadm).
vm_count() {
	VM_N=0
	while IFS= read -r _l; do
		case $_l in $1) VM_N=$((VM_N + 1)) ;; esac
	done <<-EOF
	$2
	EOF
}

# vm_has GLOB TEXT: some line of TEXT matches the shell pattern GLOB.
vm_has() {
	while IFS= read -r _l; do
		case $_l in $1) return 0 ;; esac
	done <<-EOF
	$2
	EOF
	return 1
}

# vm_ticker (from vm_only): the pause between wait_until's tries without a
# `sleep` process per try. tests/tools/e2e_net ticker answers each byte
# written to fd 8 with a line on fd 9 0.1 s later. Both FIFOs are opened
# read-write, which never blocks, before the ticker opens them. Then fd 9 is
# opened again read-only (the read-write one, a writer, keeps that open from
# blocking): the ticker is its only writer, so a read sees an end of file
# once the ticker is gone (killed, or dead and not yet reaped, which kill -0
# does not tell) instead of waiting forever; wait_until then runs sleep.
# VM_TICK: its PID, empty if it could not start.
VM_TICK=
vm_ticker() {
	[ -x "$B/tests/tools/e2e_net" ] && mkfifo "$VM_TMP/tick.req" "$VM_TMP/tick.ans" || return 0
	exec 8<>"$VM_TMP/tick.req" 9<>"$VM_TMP/tick.ans"
	"$B/tests/tools/e2e_net" ticker 100 <"$VM_TMP/tick.req" >"$VM_TMP/tick.ans" &
	VM_TICK=$!
	exec 9<"$VM_TMP/tick.ans"
}
# vm_pause: 0.1 s, from the ticker while it runs (kill -0 is a builtin). An
# end of file before the ticker has opened its end only makes one pause a
# sleep (and a later one short: its answer waits in the FIFO).
vm_pause() {
	if [ -n "$VM_TICK" ] && kill -0 "$VM_TICK" 2>/dev/null; then
		echo >&8
		read -r _ <&9 || sleep 0.1
	else
		sleep 0.1
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
		vm_pause
	done
}

# vm_dead PID: PID has exited: no such process, or a zombie (whose files,
# its listening sockets too, are closed). After kill -9, before starting a
# daemon again on the same socket paths: the signal is delivered at once,
# the exit can take a while on a loaded VM.
vm_dead() {
	read -r _s 2>/dev/null <"/proc/$1/stat" || return 0
	case ${_s##*) } in Z* | X*) return 0 ;; esac
	return 1
}

# Each set-up helper returns non-zero at its first failed step, so that it
# also stops a caller run as a condition, where set -e is off.
#
# ns_new NAME...: new network namespaces, loopback up (all added by one
# process; `ip -n` switches namespace once, at its start, hence one per name).
# The batches are here-documents built in the shell: a pipeline would fork.
ns_new() {
	_cmds=
	for _n; do _cmds="${_cmds}netns add $VM_NS$_n
"; done
	ip -batch - <<-EOF || return 1
	$_cmds
	EOF
	for _n; do ip -n "$VM_NS$_n" link set lo up || return 1; done
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
	ns_new "$1" || return 1
	ip -n "$VM_NS$1" -batch - <<-EOF
	link add br0 type bridge
	link set br0 up
	EOF
}

# ns_link BRIDGE NS ADDR/PREFIX...: a veth pair from BRIDGE's br0 (the end
# there is named NS) to NS (the end there is named BRIDGE), with addresses.
# IPv6 addresses skip duplicate address detection so they work at once.
# Two processes: one batch in each namespace.
ns_link() {
	_br=$1 _ns=$2
	shift 2
	ip -n "$VM_NS$_br" -batch - <<-EOF || return 1
	link add name $_ns type veth peer name $_br netns $VM_NS$_ns
	link set dev $_ns master br0 up
	EOF
	_cmds=
	for _a; do
		case $_a in
		*:*) _cmds="${_cmds}addr add $_a dev $_br nodad
" ;;
		*) _cmds="${_cmds}addr add $_a dev $_br
" ;;
		esac
	done
	ip -n "$VM_NS$_ns" -batch - <<-EOF
	${_cmds}link set dev $_br up
	EOF
}

# listening NS tcp|udp PORT: something in NS listens on PORT (ss enters
# the namespace itself and prints nothing when nothing listens: one process).
listening() {
	_l=$(ss -N "$VM_NS$1" -Hln --"$2" "sport = :$3") && [ -n "$_l" ]
}

# vm_serve NS MODE NAME PORT: tests/tools/e2e_net MODE in NS, in the background
# once it listens (E2E_DETACH): no polling for it. vm_cleanup stops it with
# everything else in NS.
vm_serve() {
	E2E_DETACH=1 nsenter --net="/run/netns/$VM_NS$1" "$B/tests/tools/e2e_net" "$2" "$3" "$4"
}

# serve_http NS PORT TEXT: an HTTP server in NS on PORT (IPv4 and IPv6)
# answering GET / with TEXT. Returns once it listens.
serve_http() {
	vm_serve "$1" httpserve "$3" "$2"
}

# serve_udp NS PORT TEXT: a UDP server in NS on PORT (IPv4 and IPv6) answering
# every datagram with TEXT. Returns once it listens.
serve_udp() {
	vm_serve "$1" udpserve "$3" "$2"
}

# http_get NS URL [N]: GET URL (http://IP[:PORT]/PATH, IPv6 in brackets) N
# times (default 1) from NS, each on a new connection (so IPVS schedules each
# afresh), in one process (tests/tools/e2e_net, not curl: curl's start alone
# takes over 100 ms in the VM); print the first line of each body (2 s
# timeout each), why a request failed on stderr; exit 1 if one did.
http_get() {
	E2E_TIMEOUT_MS=2000 nsenter --net="/run/netns/$VM_NS$1" "$B/tests/tools/e2e_net" \
		geteach "$2" "${3:-1}"
}

# udp_ask NS HOST PORT [N]: send N datagrams (default 1) from NS, each from a
# new socket (a new flow for IPVS), in one process; print the answers (2 s
# timeout each), stop at the first unanswered one.
udp_ask() {
	E2E_TIMEOUT_MS=2000 nsenter --net="/run/netns/$VM_NS$1" "$B/tests/tools/e2e_net" \
		udpeach "$2" "$3" "${4:-1}"
}

# vm_cleanup: on exit, stop every process in our namespaces and delete them.
# A script that stops before vm_done (set -e) gets a FAIL line saying so.
vm_cleanup() {
	_rc=$?
	if [ -z "$VM_DONE" ] && [ "$_rc" -ne 0 ]; then
		echo "FAIL: $(basename "$0") stopped early (exit status $_rc)"
	fi
	# what the script started in the root namespace (ipvsd_feed, the
	# wait_until ticker) is in none of ours: its children (their parent is
	# this shell) are stopped too
	_kids=
	for _f in /proc/[0-9]*/stat; do
		read -r _s 2>/dev/null <"$_f" || continue
		set -- ${_s##*) }
		[ "$2" != "$$" ] || _kids="$_kids ${_s%% *}"
	done
	[ -z "$_kids" ] || kill $_kids 2>/dev/null || true
	# our namespaces are the files /run/netns/$VM_NS*: a glob, no process;
	# their processes listed, then the namespaces deleted, by one batch each
	_pids= _dels=
	for _f in /run/netns/"$VM_NS"*; do
		[ -e "$_f" ] || continue
		_pids="${_pids}netns pids ${_f#/run/netns/}
"
		_dels="${_dels}netns del ${_f#/run/netns/}
"
	done
	if [ -n "$_dels" ]; then
		_pids=$(ip -force -batch - 2>/dev/null <<-EOF
		$_pids
		EOF
		) || true
		kill $_pids 2>/dev/null || true
		# a daemon a script stopped (kill -STOP, e.g. portmap's pause) and
		# left so when set -e ended it: TERM stays pending until CONT
		kill -CONT $_pids 2>/dev/null || true
		ip -force -batch - <<-EOF
		$_dels
		EOF
	fi
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
