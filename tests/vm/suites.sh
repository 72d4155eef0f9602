#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Usage (in the VM): tests/vm/suites.sh OUT_DIR BUILD_DIR TIMEOUT SCRIPT...
#	tests/vm/run.sh tests/vm/suites.sh "$PWD/out" build 600 tests/vm/test_*.sh
#
# Runs several VM test scripts in one boot (tests/run.sh runs every
# tests/vm/test_*.sh this way: a boot costs 7-13 s under TCG), side by side:
# each works in network namespaces of its own (named after its PID) and a
# temporary directory of its own, so none sees another's kernel state, and
# its waits (for daemons, timers) leave CPU time to another. A script
# holding the line
#	# vm-suite: alone
# (one that changes what the others could see: the root namespace's
# rules, sysctls, modules) runs by itself once the others are done; one
# holding "# vm-suite: heavy" never beside another heavy one.
# L4LB_VM_JOBS bounds how many run at once (default 2, as the guest has two
# CPUs and is busy most of the time with one script already: more at once
# only slowed every script down; 1: one after the other), in the order
# given. For each SCRIPT, OUT_DIR/NAME.log gets its output and
# OUT_DIR/NAME.status its exit status; a script still running after TIMEOUT
# seconds is killed with its process group (status 124).
#
# After each group (the scripts run side by side, or one run alone) every
# process left over is killed, every named network namespace deleted and
# whatever was added to /tmp removed. Then the root namespace's state
# (namespaces, links, addresses, routes, IPVS, ipsets, iptables and nft
# rules, net.* sysctls) must be what it was before the first script: a
# difference is a FAIL line in the log of every script of the group (the
# differing lines say what was left), and the state is put back. If it
# cannot be, the remaining scripts are not run and each gets a FAIL line
# saying why.
set -u
if [ "${L4LB_VM:-}" != 1 ] || [ $# -lt 4 ]; then
	echo "usage (in the VM): tests/vm/run.sh $0 OUT_DIR BUILD_DIR TIMEOUT SCRIPT..." >&2
	exit 2
fi
out=$1 build=$2 limit=$3
shift 3
mkdir -p "$out"
work=$out/.suites
rm -rf "$work"
mkdir "$work"

now() { date +%s%N; }
secs() { echo "$1 $2" | awk '{ printf "%.1f", ($2 - $1) / 1e9 }'; }
# forks: processes started since boot (what costs time under TCG, whatever
# the host's load); cpu: the guest CPUs' busy and total jiffies.
forks() { awk '$1 == "processes" { print $2 }' /proc/stat; }
cpu() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' \
	/proc/stat; }

# A cgroup per script, for the CPU time it and its processes used
# (cpu.stat): with scripts side by side, no other figure is its own.
CG=/sys/fs/cgroup
grep -q "^[^ ]* $CG cgroup2 " /proc/mounts || mount -t cgroup2 cgroup2 "$CG" 2>/dev/null ||
	CG=
cg_cpu() { # NAME: CPU seconds used in NAME's cgroup, "?" without one
	awk '$1 == "usage_usec" { printf "%.1f", $2 / 1e6; f = 1 } END { if (!f) print "?" }' \
		"$CG/l4lb-$1/cpu.stat" 2>/dev/null || echo "?"
}
# state_net, state_rules: what a script could leave in the root namespace for the next one to
# see, without counters. Link and address lines lose their index, which a
# deleted and re-created link changes without changing anything that counts;
# the fallback devices a tunnel module creates in every namespace when it is
# loaded on demand (and that cannot be deleted) are left out.
FALLBACK='^[0-9]*: (sit0|tunl0|ip6tnl0|gre0|gretap0|erspan0|ip_vti0|ip6_vti0|ip6gre0'
FALLBACK="$FALLBACK|ip6erspan0)[:@]"
state_net() {
	echo "## namespaces"
	ip netns list
	echo "## links"
	ip -o link show | grep -Ev "$FALLBACK" | sed 's/^[0-9]*: //'
	echo "## addresses"
	ip -o addr show | grep -Ev "$FALLBACK" | sed 's/^[0-9]*: //'
	echo "## routes and rules"
	ip route show table all
	ip -6 route show table all
	ip rule show
	ip -6 rule show
	echo "## ipvs"
	ipvsadm -Sn
	echo "## ipsets"
	ipset save
}
state_rules() {
	# Rules, user chains and policies other than ACCEPT: a built-in chain
	# that iptables-nft creates empty on first use is no state that counts.
	for _t in iptables-nft ip6tables-nft iptables-legacy ip6tables-legacy; do
		echo "## $_t"
		"$_t-save" 2>/dev/null | awk '/^\*/ { t = $0 }
			/^:[^ ]+ (DROP|-) / { print t, $1, $2 } /^-A / { print t, $0 }'
	done
	echo "## nft rules"
	nft list ruleset 2>/dev/null | awk '$1 == "table" { t = $2 " " $3 } $1 == "chain" { c = $2 }
		$1 == "table" || $1 == "chain" || $1 == "}" || NF == 0 { next }
		$1 == "type" && !/policy drop/ { next }
		{ sub(/counter packets [0-9]+ bytes [0-9]+/, "counter"); print t, c, $0 }'
	echo "## sysctl"
	sysctls
}
# state: both halves at once, one per guest CPU (each takes about a second
# under TCG, at the start and after every group).
state() {
	state_rules >"$work/state.rules" &
	state_net
	wait $!
	cat "$work/state.rules"
}

# sysctls: the net.* sysctls, after the first call only those that existed
# then (a module loaded on demand adds its own).
sysctls() {
	sysctl -a 2>/dev/null | grep '^net\.' |
		grep -v -e '\.nf_conntrack_count ' -e '\.stable_secret ' >"$work/sysctl.now"
	if [ -f "$work/sysctl.keys" ]; then
		awk 'NR == FNR { k[$1] = 1; next } $1 in k' "$work/sysctl.keys" "$work/sysctl.now"
	else
		cut -d' ' -f1 "$work/sysctl.now" >"$work/sysctl.keys"
		cat "$work/sysctl.now"
	fi
}

# The runner and its ancestors survive the sweep; so do kernel threads (no exe).
keep=" 1 "
p=$$
while [ "$p" -gt 1 ]; do
	keep="$keep$p "
	p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status")
done

# sweep: kill every other process (a few rounds: one may fork while we look),
# delete every named namespace, remove what was added to /tmp and /dev/shm
# (never a mount point or what holds one: OUT_DIR or the checkout may be
# bound there). Prints what it found.
sweep() {
	for _round in 1 2 3; do
		_found=
		for _d in /proc/[0-9]*; do
			_p=${_d#/proc/}
			case $keep in *" $_p "*) continue ;; esac
			[ -e "$_d/exe" ] || continue
			read -r _comm <"$_d/comm" 2>/dev/null || _comm=?
			_found="$_found $_p($_comm)"
			kill -KILL "$_p" 2>/dev/null
		done
		[ -n "$_found" ] || break
		echo "killed processes:$_found"
		sleep 0.2
	done
	for _n in $(ip netns list | cut -d' ' -f1); do
		echo "deleted namespace $_n"
		ip netns del "$_n"
	done
	for _dir in /tmp /dev/shm; do
		ls -A "$_dir" | while read -r _f; do
			grep -qxF "$_dir/$_f" "$work/files" && continue
			grep -q " $_dir/$_f[/ ]" /proc/mounts && continue
			echo "removed $_dir/$_f"
			rm -rf "${_dir:?}/$_f"
		done
	done
}

# reset: put back the state of $work/state.0 after a script left something:
# IPVS, ipsets and rules were empty before the first script (policies
# ACCEPT), links that appeared go, changed sysctls get their old value.
# Addresses and routes on the links that were there are not put back: such a
# leak stops the run (see the top).
reset() {
	ipvsadm -C
	for _t in iptables-nft ip6tables-nft iptables-legacy ip6tables-legacy; do
		for _tab in filter nat mangle raw; do
			"$_t" -w -t "$_tab" -F 2>/dev/null
			"$_t" -w -t "$_tab" -X 2>/dev/null
		done
		for _c in INPUT FORWARD OUTPUT; do "$_t" -w -P "$_c" ACCEPT 2>/dev/null; done
	done
	nft flush ruleset 2>/dev/null
	ipset destroy 2>/dev/null
	ip -o link show | grep -Ev "$FALLBACK" | sed 's/^[0-9]*: \([^:@]*\).*/\1/' |
		while read -r _l; do
			grep -qxF "$_l" "$work/links.0" || ip link del dev "$_l"
		done
	sed -n '/^## sysctl$/,$p' "$work/state.0" | grep ' = ' >"$work/sysctl.0"
	sysctl -a 2>/dev/null | grep '^net\.' | grep -vxF -f "$work/sysctl.0" |
		while read -r _k _eq _v; do
			_was=$(grep "^$_k = " "$work/sysctl.0" | sed 's/^[^=]*= //')
			[ -n "$_was" ] && sysctl -q -w "$_k=$_was"
		done
	return 0
}

# (a FIFO cannot live on the 9p share that OUT_DIR is)
fifo=$(mktemp -u /dev/shm/l4lb-suites.XXXXXX)
mkfifo "$fifo"
exec 3<>"$fifo"
for _dir in /tmp /dev/shm; do ls -A "$_dir" | sed "s|^|$_dir/|"; done >"$work/files"
state >"$work/state.0"
ip -o link show | sed 's/^[0-9]*: \([^:@]*\).*/\1/' >"$work/links.0"

# job SCRIPT: runs one script, in the background; writes its exit status
# and time into $work, then its name to fd 3 (the runner reads there which
# one finished).
job() {
	_n=$(basename "$1" .sh)
	_t0=$(now)
	_procs=/dev/null
	if [ -n "$CG" ] && mkdir -p "$CG/l4lb-$_n" 2>/dev/null; then
		_procs=$CG/l4lb-$_n/cgroup.procs
	fi
	_sh=sh
	[ -x "$1" ] && _sh=
	# the inner shell joins the cgroup, then becomes the timeout, which runs
	# the script in a process group of its own and signals the whole group:
	# the daemons a hung script started stop with it.
	sh -c 'echo $$ >"$1" 2>/dev/null; shift; exec "$@"' sh "$_procs" \
		timeout -k 10 "$limit" $_sh "$1" "$build" >"$out/$_n.log" 2>&1 </dev/null 3>&-
	_rc=$?
	if [ "$_rc" = 124 ] || [ "$_rc" = 137 ]; then
		echo "FAIL: $_n timed out after $limit s (L4LB_VM_TIMEOUT) and was killed" \
			>>"$out/$_n.log"
		_rc=124
	fi
	echo "$_rc" >"$work/$_n.rc"
	echo "$(secs "$_t0" "$(now)") s, cpu $(cg_cpu "$_n") s" >"$work/$_n.time"
	echo "$_n" >&3
}

# heavy SCRIPT: it holds the line "# vm-suite: heavy" (a whole cluster of
# daemons: two at once starved the emulated CPUs, each start took three
# times as long; or a suite timed too finely to share them with one), so it
# never runs beside another heavy one.
heavy() { grep -q '^# vm-suite: heavy$' "$1"; }

# group SCRIPT...: runs the scripts, at most $jobs at once, each as soon as
# it may in the order given, then sweeps and checks the state for all of
# them.
group() {
	_g0=$(now) _f0=$(forks) _c0=$(cpu)
	_names= _running=0 _heavy= _todo=" $* "
	for _t; do _names="$_names $(basename "$_t" .sh)"; done
	while [ -n "${_todo# }" ] || [ "$_running" -gt 0 ]; do
		for _t in $_todo; do
			[ "$_running" -lt "$jobs" ] || break
			if heavy "$_t"; then
				[ -z "$_heavy" ] || continue
				_heavy=$(basename "$_t" .sh)
			fi
			job "$_t" &
			_running=$((_running + 1))
			_todo="${_todo%%" $_t "*} ${_todo#*" $_t "}"
		done
		read -r _done <&3
		_running=$((_running - 1))
		[ "$_done" != "$_heavy" ] || _heavy=
	done
	wait
	_g1=$(now) _f1=$(forks) _c1=$(cpu)
	sweep >"$work/swept"
	state >"$work/state"
	_leak=
	if ! diff "$work/state.0" "$work/state" >"$work/diff"; then
		_leak="left state behind for the next script (< before, > after)"
		[ "$#" = 1 ] || _leak="$_leak, by one of the scripts run together:$_names"
		reset
		state >"$work/state"
		diff "$work/state.0" "$work/state" >"$work/diff2" ||
			broken="the VM's state after$_names could not be put back"
	fi
	for _n in $_names; do
		_log=$out/$_n.log _rc=$(cat "$work/$_n.rc")
		if [ -n "$_leak" ]; then
			echo "FAIL: $_n $_leak:" >>"$_log"
			grep '^[<>]' "$work/diff" | head -n 20 | sed 's/^/#   /' >>"$_log"
			[ -z "$broken" ] || grep '^[<>]' "$work/diff2" | head -n 20 |
				sed 's/^/#   not put back: /' >>"$_log"
			[ "$_rc" != 0 ] || _rc=1
		fi
		sed "s/^/# suites.sh: after$_names: /" "$work/swept" >>"$_log"
		echo "$_rc" >"$out/$_n.status"
		echo "# $_n: exit $_rc in $(cat "$work/$_n.time")" | tee -a "$_log"
	done
	echo "# group$_names: $(secs "$_g0" "$_g1") s, $((_f1 - _f0)) processes started," \
		"guest CPUs $(echo "$_c0 $_c1" | awk '{ printf "%d", 100 * ($3 - $1) / ($4 - $2 + 1) }') %" \
		"busy (clean-up and state check $(secs "$_g1" "$(now)") s)"
	for _n in $_names; do rmdir "$CG/l4lb-$_n" 2>/dev/null; done
	return 0
}

jobs=${L4LB_VM_JOBS:-2}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
together= alone=
for t; do
	if grep -q '^# vm-suite: alone$' "$t"; then alone="$alone $t"; else together="$together $t"; fi
done
echo "# suites.sh: $# scripts, at most $jobs at once, timeout $limit s each"
broken=
for g in "$together" $alone; do
	[ -n "$g" ] || continue
	if [ -n "$broken" ]; then
		for t in $g; do
			n=$(basename "$t" .sh)
			echo "FAIL: $n not run: $broken" >"$out/$n.log"
			echo 1 >"$out/$n.status"
			echo "# $n: not run"
		done
		continue
	fi
	group $g
done
exec 3>&-
rm -rf "$work" "$fifo"
exit 0
