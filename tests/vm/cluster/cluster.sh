# SPDX-License-Identifier: Apache-2.0
# A simulated l4lb cluster inside the test VM (sourced after tests/vm/lib.sh).
#
#	. tests/vm/lib.sh; . tests/vm/cluster/cluster.sh
#	cluster_up build 3        # nodes n1..n3 (10.0.0.1..3), master, backends, daemons
#	cl_get 1 "http://$WEB_VIP/"   # a request from node 1 through a VIP
#	node_kill 2 ipvsd; node_start 2 ipvsd
#
# Process starts are slow in the emulated VM (python3 takes seconds, curl and
# `ip netns exec` over a second), so the traffic side is one small C program
# (tests/tools/e2e_net: backends, request batches, request loop, the master's
# control requests) and commands enter a namespace with nsenter.
#
# Every node is a network namespace on one bridge, running overlayd and ipvsd
# in it, each daemon with the node's own run directory ($VM_TMP/n<i>/run).
# vipd runs in the VM's root namespace (its only network peer is the master,
# and the IPC sockets are files, so that is the same as running on the node):
# the fake master listens on 127.0.0.1 only. Every node runs one backend task
# (e2e_net serve, port 8000, TCP and UDP) registered at the
# master with three VIPs: the named VIP /web:80 (TCP), the IP VIP
# 11.1.1.1:80 (TCP) and the IP VIP 11.2.2.2:53 (UDP).

CL_FM=$(pwd)/tests/fakemaster/fakemaster.py
CL_B=build
CL_N=0
IP_VIP=11.1.1.1
UDP_VIP=11.2.2.2
WEB_VIP=

# nx NAME CMD...: lib.sh's helper, with nsenter (no /sys remount: faster).
nx() {
	_n=$1
	shift
	nsenter --net="/run/netns/$VM_NS$_n" "$@"
}
net() { "$CL_B/tests/tools/e2e_net" "$@"; }

# now_ms: monotonic enough for latencies of a few seconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

node_ip() { echo "10.0.0.$1"; }
node_dir() { echo "$VM_TMP/n$1"; }
ctl() { # node l4lbctl-args...
	_i=$1
	shift
	"$CL_B/l4lbctl" --run-dir "$(node_dir "$_i")/run" --timeout "${CL_CTL_MS:-5000}" "$@"
}

# --- the fake master ---
fm() { net post "$(cat "$VM_TMP/master.port")" /ctl "$1" >/dev/null; }
fm_agent() { printf '{"id":{"value":"a%s"},"hostname":"%s"}' "$1" "$(node_ip "$1")"; }
fm_task() { # name node port [state]: a task with the three VIPs on its port
	printf '{"task_id":{"value":"%s"},"name":"web","framework_id":{"value":"f1"},' "$1"
	printf '"agent_id":{"value":"a%s"},"state":"%s","discovery":{"ports":{"ports":[' \
		"$2" "${4:-TASK_RUNNING}"
	printf '{"number":%s,"protocol":"tcp","labels":{"labels":[' "$3"
	printf '{"key":"VIP_0","value":"/web:80"},{"key":"VIP_1","value":"%s:80"}]}},' "$IP_VIP"
	printf '{"number":%s,"protocol":"udp","labels":{"labels":[' "$3"
	printf '{"key":"VIP_2","value":"%s:53"}]}}]}}}' "$UDP_VIP"
}
fm_add() { # name node port: TASK_ADDED event
	fm "$(printf '{"op":"event","event":{"type":"TASK_ADDED","task_added":{"task":%s}}}' \
		"$(fm_task "$1" "$2" "$3")")"
}
fm_update() { # name state: TASK_UPDATED event
	printf '{"op":"event","event":{"type":"TASK_UPDATED","task_updated":' >"$VM_TMP/ev"
	printf '{"framework_id":{"value":"f1"},"state":"%s","status":' "$2" >>"$VM_TMP/ev"
	printf '{"task_id":{"value":"%s"},"state":"%s","timestamp":%s}}}}' \
		"$1" "$2" "$(date +%s)" >>"$VM_TMP/ev"
	fm "$(cat "$VM_TMP/ev")"
}
master_start() {
	rm -f "$VM_TMP/master.port"
	python3 "$CL_FM" "$VM_TMP/master.port" 2>>"$VM_TMP/master.log" &
	echo $! >"$VM_TMP/master.pid"
}
# master_wait: until it listens (python3 starts slowly: start it first)
master_wait() {
	wait_until 60 test -s "$VM_TMP/master.port"
}
master_stop() {
	kill "$(cat "$VM_TMP/master.pid")" 2>/dev/null || true
	wait "$(cat "$VM_TMP/master.pid")" 2>/dev/null || true
}

# --- daemons ---
# node_start I DAEMON [ARGS...]: start one daemon of node I, wait until it answers.
node_start() {
	_i=$1 _d=$2
	shift 2
	_dir=$(node_dir "$_i")
	mkdir -p "$_dir/run" "$_dir/state"
	_common="--run-dir $_dir/run --log-level ${CL_LOG:-info}"
	case $_d in
	vipd)
		"$CL_B/vipd" $_common --master "http://127.0.0.1:$(cat "$VM_TMP/master.port")" \
			--backoff-min 200 --backoff-max 800 "$@" 2>>"$_dir/vipd.log" &
		;;
	overlayd)
		_seed=1
		[ "$_i" = 1 ] && _seed=2
		# a simple command (not the nx function): $! is then the daemon itself
		nsenter --net="/run/netns/$VM_NS"n"$_i" "$CL_B/overlayd" $_common \
			--node-ip "$(node_ip "$_i")" --listen "$(node_ip "$_i"):61420" \
			--seeds "$(node_ip "$_seed"):61420" --state-dir "$_dir/state" "$@" \
			2>>"$_dir/overlayd.log" &
		;;
	ipvsd)
		nsenter --net="/run/netns/$VM_NS"n"$_i" "$CL_B/ipvsd" $_common --node-ip "$(node_ip "$_i")" \
			--reconcile-interval 5 "$@" 2>>"$_dir/ipvsd.log" &
		;;
	esac
	echo $! >"$_dir/$_d.pid"
	wait_until "${CL_START_S:-60}" node_answers "$_i" "$_d"
}
node_answers() { ctl "$1" status 2>/dev/null | grep -q "^$2 *up"; }
# node_kill I DAEMON [SIGNAL]: stop one daemon (default SIGTERM) and wait for it.
node_kill() {
	_p=$(cat "$(node_dir "$1")/$2.pid")
	kill -"${3:-TERM}" "$_p" 2>/dev/null || true
	wait "$_p" 2>/dev/null || true
}

# --- the kernel view ---
# ipvs_dump I: node I's IPVS table, sorted, without the counters.
ipvs_dump() { nx "n$1" ipvsadm -Sn | sort; }
# dests I VIP:PORT [tcp|udp]: the backend addresses of one service on node I.
dests() {
	nx "n$1" ipvsadm -Ln --"${3:-tcp}"-service "$2" 2>/dev/null |
		awk '$1 == "->" && $2 != "RemoteAddress:Port" { print $2 }' | sort | tr '\n' ' '
}
# has_dests I VIP:PORT N [proto]: node I's service has exactly N backends.
has_dests() { [ "$(dests "$1" "$2" "${4:-tcp}" | wc -w)" = "$3" ]; }
# all_nodes CMD ARGS...: CMD with each node number prepended succeeds on every node.
all_nodes() {
	for _n in $(seq "$CL_N"); do "$@" "$_n" || return 1; done
}
has_dests_on() { has_dests "$4" "$1" "$2" "$3"; } # VIP:PORT N proto I (for all_nodes)
lacks_dest_on() { ! dests "$3" "$1" | grep -q "$2"; } # VIP:PORT IP I
has_dest_on() { dests "$3" "$1" | grep -q "$2"; }   # VIP:PORT IP I

# cl_get I IP [PORT]: one HTTP request from node I, prints the answer (1 s timeout).
cl_get() { nx "n$1" "$CL_B/tests/tools/e2e_net" get "$2" "${3:-80}" 1 | sed 's/ 1$//'; }
# cl_count I get|udp IP PORT N: N requests from node I, "<answer> <count>" lines.
cl_count() {
	_i=$1
	shift
	nx "n$_i" "$CL_B/tests/tools/e2e_net" "$@"
}
# backend_start I NAME PORT: a backend task's server on node I.
backend_start() {
	nsenter --net="/run/netns/$VM_NS"n"$1" "$CL_B/tests/tools/e2e_net" serve "$2" "$3" &
	echo $! >"$VM_TMP/backend-$2.pid"
}

# named_vip: the address vipd gave /web:80 (from node 1's published table).
named_vip() {
	"$CL_B/vipd" --run-dir "$(node_dir 1)/run" --show 2>/dev/null | tr '{' '\n' |
		sed -n 's/^"protocol":"tcp","ip":"\([0-9.]*\)",.*"name":"web.marathon".*/\1/p' |
		head -n 1
}

# cluster_up BUILD N: the whole cluster, returns once every node has every
# backend of every VIP in its kernel.
cluster_up() {
	CL_B=$1 CL_N=$2
	master_start
	bridge_new lan
	_agents= _tasks=
	for _i in $(seq "$CL_N"); do
		ns_new "n$_i"
		ns_link lan "n$_i" "$(node_ip "$_i")/24"
		backend_start "$_i" "web-$_i" 8000
		_agents="$_agents${_agents:+,}$(fm_agent "$_i")"
		_tasks="$_tasks${_tasks:+,}$(fm_task "web-$_i" "$_i" 8000)"
	done
	master_wait
	fm '{"op":"heartbeat","seconds":1}'
	fm "$(printf '{"op":"set","state":{"agents":[%s],"frameworks":[%s],"tasks":[%s]}}' \
		"$_agents" '{"id":{"value":"f1"},"name":"marathon"}' "$_tasks")"
	for _i in $(seq "$CL_N"); do
		node_start "$_i" overlayd
		node_start "$_i" vipd
		node_start "$_i" ipvsd
	done
	wait_until "${CL_UP_S:-150}" all_nodes has_dests_on "$IP_VIP:80" "$CL_N" tcp &&
		wait_until 10 all_nodes has_dests_on "$UDP_VIP:53" "$CL_N" udp &&
		WEB_VIP=$(named_vip) && [ -n "$WEB_VIP" ] &&
		wait_until 10 all_nodes has_dests_on "$WEB_VIP:80" "$CL_N" tcp
}

# cluster_stop: stop what runs outside the namespaces (vipd, the master);
# vm_cleanup stops the rest with the namespaces.
cluster_stop() {
	for _f in "$VM_TMP"/n*/vipd.pid "$VM_TMP/master.pid"; do
		[ -f "$_f" ] && kill "$(cat "$_f")" 2>/dev/null
	done
	return 0
}
cluster_exit() {
	_crc=$?
	cluster_stop
	(exit "$_crc") || vm_cleanup
	[ "$_crc" = 0 ] && vm_cleanup
}
trap cluster_exit EXIT

# cluster_logs: the daemons' last log lines (after a failure).
cluster_logs() {
	for _f in "$VM_TMP"/n*/*.log; do
		echo "# --- $_f"
		tail -n "${1:-15}" "$_f" | sed 's/^/# /'
	done
}
