#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Usage (in the VM): tests/vm/suites.sh OUT_DIR BUILD_DIR TIMEOUT SCRIPT...
#	tests/vm/run.sh tests/vm/suites.sh "$PWD/out" build 600 tests/vm/test_*.sh
#
# Runs several VM test scripts in one boot, one after the other, each as if
# it had the VM to itself (tests/run.sh runs every tests/vm/test_*.sh this
# way: a boot costs 7-13 s under TCG). For each SCRIPT, OUT_DIR/NAME.log gets
# its output and OUT_DIR/NAME.status its exit status; a script still running
# after TIMEOUT seconds is killed with its process group (status 124).
#
# Between two scripts every process left over is killed, every named network
# namespace deleted and whatever was added to /tmp removed. Then the root
# namespace's state (namespaces, links, addresses, routes, IPVS, ipsets,
# iptables and nft rules, net.* sysctls) must be what it was before the first
# script: a difference is a FAIL line in the log of the script that left it,
# and the state is put back. If it cannot be, the remaining scripts are not
# run and each gets a FAIL line saying why.
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
# pids: the last process ID the kernel handed out, so that the difference
# counts the processes a script started (what costs time under TCG, whatever
# the host's load).
pids() { read -r _ _ _ _ _p </proc/loadavg && echo "$_p"; }
secs() { echo "$1 $2" | awk '{ printf "%.1f", ($2 - $1) / 1e9 }'; }

# state: what a script could leave in the root namespace for the next one to
# see, without counters. Link and address lines lose their index, which a
# deleted and re-created link changes without changing anything that counts;
# the fallback devices a tunnel module creates in every namespace when it is
# loaded on demand (and that cannot be deleted) are left out.
FALLBACK='^[0-9]*: (sit0|tunl0|ip6tnl0|gre0|gretap0|erspan0|ip_vti0|ip6_vti0|ip6gre0'
FALLBACK="$FALLBACK|ip6erspan0)[:@]"
state() {
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
			_found="$_found $_p"
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

for _dir in /tmp /dev/shm; do ls -A "$_dir" | sed "s|^|$_dir/|"; done >"$work/files"
state >"$work/state.0"
ip -o link show | sed 's/^[0-9]*: \([^:@]*\).*/\1/' >"$work/links.0"
echo "# suites.sh: $# scripts, timeout $limit s each"

broken=
for t; do
	n=$(basename "$t" .sh)
	log=$out/$n.log
	if [ -n "$broken" ]; then
		echo "FAIL: $n not run: $broken" >"$log"
		echo 1 >"$out/$n.status"
		echo "# $n: not run"
		continue
	fi
	t0=$(now) p0=$(pids)
	# timeout runs the script in a process group of its own and signals the
	# whole group: the daemons a hung script started stop with it.
	if [ -x "$t" ]; then
		timeout -k 10 "$limit" "$t" "$build" >"$log" 2>&1 </dev/null
	else
		timeout -k 10 "$limit" sh "$t" "$build" >"$log" 2>&1 </dev/null
	fi
	rc=$?
	t1=$(now) p1=$(pids)
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "FAIL: $n timed out after $limit s (L4LB_VM_TIMEOUT) and was killed" >>"$log"
		rc=124
	fi
	sweep >"$work/swept"
	state >"$work/state"
	if ! diff "$work/state.0" "$work/state" >"$work/diff"; then
		echo "FAIL: $n left state behind for the next script (< before, > after):" >>"$log"
		grep '^[<>]' "$work/diff" | head -n 20 | sed 's/^/#   /' >>"$log"
		[ "$rc" != 0 ] || rc=1
		reset
		state >"$work/state"
		if ! diff "$work/state.0" "$work/state" >"$work/diff"; then
			broken="the VM's state after $n could not be put back"
			grep '^[<>]' "$work/diff" | head -n 20 | sed 's/^/#   /' >>"$log"
		fi
	fi
	sed "s/^/# suites.sh: after $n: /" "$work/swept" >>"$log"
	echo "$rc" >"$out/$n.status"
	np=$((p1 - p0))
	[ "$np" -ge 0 ] || np=$((np + $(cat /proc/sys/kernel/pid_max)))
	echo "# $n: exit $rc in $(secs "$t0" "$t1") s, $np processes started" \
		"(clean-up and state check $(secs "$t1" "$(now)") s)" | tee -a "$log"
done
rm -rf "$work"
exit 0
