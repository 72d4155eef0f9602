#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The demo of `make demo` (tests/demo.sh runs it, inside the VM harness when
# the host kernel has no IPVS): a 3-node cluster, then the five steps of
# issue 6, each ending in a PASS or FAIL line. Exit status 0 only if every
# step behaved. SHELL_AFTER=1 then leaves the cluster up and starts a shell
# (when stdin is a terminal), and stops the cluster when the shell exits.
B=${1:-build}
. tests/vm/lib.sh
. tests/vm/cluster/cluster.sh
vm_require ipvsadm ipvsadm
vm_require curl curl
vm_require nsenter util-linux
vm_require iptables iptables

say() { printf '\n== %s\n' "$*"; }
ms_since() { echo $(($(now_ms) - $1)); }

say "starting 3 nodes (network namespaces n1..n3 on one bridge, 10.0.0.1-3)," \
	"each running vipd, overlayd and ipvsd; a fake Mesos master; one backend task per node"
t0=$(now_ms)
if ! cluster_up "$B" 3; then
	fail "cluster up" "not every node programmed every backend"
	cluster_logs
	vm_done
fi
echo "cluster up in $(ms_since "$t0") ms"

say "1. the VIP table and the nodes, as node n1 sees them"
echo "\$ l4lbctl status"
ctl 1 status || true
echo "\$ l4lbctl vips"
ctl 1 vips || true
echo "\$ l4lbctl nodes"
ctl 1 nodes || true
echo "\$ ipvsadm -Ln   (what ipvsd programmed in n1's kernel)"
nx n1 ipvsadm -Ln || true
[ "$(ctl 1 nodes | grep -c '10\.0\.0\.')" -ge 3 ] && pass "1. VIP table and 3 reachable nodes" ||
	fail "1. VIP table and 3 reachable nodes"

say "2. 30 requests from n1 to each VIP: which backend answered"
balance() { # label get|udp VIP PORT
	_l=$1
	shift
	_out=$(cl_count 1 "$@" 30 | sort | tr '\n' ' ')
	printf '  %-26s %s\n' "$_l" "$_out"
	echo "$_out" | grep -q FAILED && return 1
	[ "$(echo "$_out" | grep -o 'web-[0-9]' | wc -l)" = 3 ]
}
ok=1
balance "web.marathon $WEB_VIP:80" get "$WEB_VIP" 80 || ok=
balance "$IP_VIP:80 tcp" get "$IP_VIP" 80 || ok=
balance "$UDP_VIP:53 udp" udp "$UDP_VIP" 53 || ok=
[ -n "$ok" ] && pass "2. every VIP balanced over the 3 backends" ||
	fail "2. every VIP balanced over the 3 backends"

say "3. node n3's traffic dropped (iptables DROP in n3): n3's backend is withheld everywhere"
# ipvs_watch samples each node's IPVS every 20 ms from the moment of the drop
if ipvs_watch "$VM_TMP/w" 30 tcp "$IP_VIP:80" 10.0.0.3 out "1 2" \
	nsenter --net="/run/netns/${VM_NS}n3" sh -c \
	'iptables -I INPUT -i lan -j DROP && iptables -I OUTPUT -o lan -j DROP'; then
	echo "n3's backend withheld after: $(lat_line "$VM_TMP/w") (overlayd on n1 declared" \
		"n3 unreachable after $(seen "$VM_TMP/w" 1 10.0.0.3 unreachable) ms)"
	a=$(cl_count 1 get "$IP_VIP" 80 30 | tr '\n' ' ')
	b=$(cl_count 2 get "$WEB_VIP" 80 30 | tr '\n' ' ')
	echo "then 30 requests from n1 to $IP_VIP:80: $a"
	echo "     30 requests from n2 to $WEB_VIP:80: $b"
	bad=$(echo "$a $b" | grep -c FAILED || true)
	[ "$bad" = 0 ] && pass "3. n3 withheld on n1 and n2, requests succeed" ||
		fail "3. n3 withheld on n1 and n2, requests succeed" "$bad failed"
else
	fail "3. n3 withheld on n1 and n2" "$(lat_line "$VM_TMP/w")"
fi
if ipvs_watch "$VM_TMP/w" 30 tcp "$IP_VIP:80" 10.0.0.3 up "1 2" \
	nsenter --net="/run/netns/${VM_NS}n3" sh -c \
	'iptables -D INPUT -i lan -j DROP && iptables -D OUTPUT -o lan -j DROP'; then
	echo "drop lifted: n3's backend used again after: $(lat_line "$VM_TMP/w")"
else
	fail "3. n3 returns" "$(lat_line "$VM_TMP/w")"
fi

say "4. a /stream connection from n1 through $IP_VIP:80 while n1's ipvsd, vipd," \
	"overlayd are killed (SIGKILL) and restarted one after the other"
nx n1 curl -sS -N "http://$IP_VIP/stream" >"$VM_TMP/stream" 2>"$VM_TMP/stream.err" &
spid=$!
grows() { # the stream got new lines since the last call
	_l=$(wc -l <"$VM_TMP/stream")
	sleep 0.3
	[ "$(wc -l <"$VM_TMP/stream")" -gt "$_l" ]
}
wait_until 5 grows
echo "stream from $(head -n 1 "$VM_TMP/stream" | cut -d' ' -f1)"
ok=1
for d in ipvsd vipd overlayd; do
	node_kill 1 "$d" KILL
	node_start 1 "$d" || ok=
	if kill -0 "$spid" 2>/dev/null && grows; then
		echo "  $d restarted: stream alive, $(wc -l <"$VM_TMP/stream") lines so far"
	else
		echo "  $d restarted: the stream broke: $(cat "$VM_TMP/stream.err")"
		ok=
	fi
done
kill "$spid" 2>/dev/null || true
[ -n "$ok" ] && pass "4. the stream survived restarts of all three daemons" ||
	fail "4. the stream survived restarts of all three daemons"

say "5. a new task web-4 (on n2, port 8001) added at the master"
backend_start 2 web-4 8001
wait_until 10 listening n2 tcp 8001
if watch_event "$VM_TMP/w" 20 tcp "$IP_VIP:80" 10.0.0.2:8001 up "1 2 3" \
	"$(ev_add web-4 2 8001)"; then
	echo "web-4 in each node's kernel after the master's event: $(lat_line "$VM_TMP/w")"
	got=$(cl_count 3 get "$IP_VIP" 80 40 | sed -n 's/^web-4 //p')
	got=${got:-0}
	echo "web-4 answered $got of 40 requests from n3"
	[ "$got" -gt 0 ] && pass "5. new task receives traffic" ||
		fail "5. new task receives traffic"
else
	fail "5. new task on every node" "$(lat_line "$VM_TMP/w")"
fi

if [ -s "$VM_TMP/failed" ]; then
	say "demo: some steps FAILED"
	cluster_logs 10
else
	say "demo: every step behaved"
fi
# explore: a shell with the cluster up, commands n1..n3 to enter a node.
explore() {
	_bin=$VM_TMP/bin _b=$(cd "$B" && pwd)
	mkdir -p "$_bin"
	for _i in 1 2 3; do
		mkdir -p "$_bin/n$_i.d"
		printf '#!/bin/sh\nexec %s --run-dir %s "$@"\n' "$_b/l4lbctl" \
			"$(node_dir "$_i")/run" >"$_bin/n$_i.d/l4lbctl"
		printf '#!/bin/sh\nPATH=%s:$PATH PS1="n%s# "; export PATH PS1\n' "$_bin/n$_i.d" \
			"$_i" >"$_bin/n$_i"
		printf '[ $# = 0 ] && set -- sh -i\nexec nsenter --net=%s "$@"\n' \
			"/run/netns/${VM_NS}n$_i" >>"$_bin/n$_i"
		chmod +x "$_bin/n$_i" "$_bin/n$_i.d/l4lbctl"
	done
	say "the cluster stays up: explore it, then type exit (or Ctrl-D) to stop it"
	cat <<-EOF
	  n1 l4lbctl status           the daemons of node n1 (n2 and n3 likewise)
	  n1 l4lbctl vips             its VIP table; also: l4lbctl nodes, l4lbctl ipvs
	  n1 ipvsadm -Ln              what ipvsd programmed in n1's kernel
	  n1 e2e_net get $IP_VIP 80 9  9 requests through a VIP, answers counted per backend
	  n1 curl -s http://$WEB_VIP/  one request to the named VIP /web:80
	  n3 iptables -I INPUT -i lan -j DROP   cut n3 off, then: n1 ipvsadm -Ln
	  n1                          a shell inside node n1's network namespace
	  the namespaces are ${VM_NS}n1..3 (ip netns); daemon logs: $VM_TMP/n1/*.log
	EOF
	# Ctrl-C in the shell stops its command, not this script (a handler, not
	# an ignored signal: the shell's commands get the default back)
	trap : INT
	PATH=$_bin:$_b/tests/tools:$PATH PS1='l4lb-demo# ' sh -i || true
	trap - INT
}
if [ "${SHELL_AFTER:-0}" = 1 ]; then
	if [ -t 0 ]; then
		explore
	else
		echo "SHELL_AFTER=1: no terminal on stdin, not starting a shell"
	fi
fi
vm_done
