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
# control requests), the fake master another (tests/tools/fake_master), and
# commands enter a namespace with nsenter.
#
# Every node is a network namespace on one bridge, running overlayd and ipvsd
# in it, each daemon with the node's own run directory ($VM_TMP/n<i>/run).
# vipd runs in the VM's root namespace (its only network peer is the master,
# and the IPC sockets are files, so that is the same as running on the node):
# the fake master listens on 127.0.0.1 only. Every node runs one backend task
# (e2e_net serve, port 8000, TCP and UDP) registered at the
# master with three VIPs: the named VIP /web:80 (TCP), the IP VIP
# 11.1.1.1:80 (TCP) and the IP VIP 11.2.2.2:53 (UDP).

CL_B=build
CL_N=0
IP_VIP=11.1.1.1
UDP_VIP=11.2.2.2
WEB_VIP=

net() { "$CL_B/tests/tools/e2e_net" "$@"; }

# now_ms: wall clock in ms, as tests/tools/soak_load prints it (soak.sh).
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# up_ms: the uptime in ms (10 ms steps), for the durations the suites print:
# read by the shell, where date is a process start per reading.
up_ms() {
	read -r _ut _ </proc/uptime
	echo $((${_ut%.*}${_ut#*.} * 10))
}
CL_T0=$(up_ms)
# section NAME: a comment line with the seconds since the script started.
section() { echo "# --- $* (at $((($(up_ms) - CL_T0) / 1000)) s)"; }

node_ip() { echo "10.0.0.$1"; }
node_dir() { echo "$VM_TMP/n$1"; }
ctl() { # node l4lbctl-args...
	_i=$1
	shift
	"$CL_B/l4lbctl" --run-dir "$(node_dir "$_i")/run" --timeout "${CL_CTL_MS:-5000}" "$@"
}

# --- the fake master (tests/tools/fake_master) ---
# It holds no cluster state of its own: the state lives here, one file per
# task in $VM_TMP/tasks ("NODE PORT STATE"), and each change sends the master
# the whole new state with the event for its streams.
fm() {
	read -r _mport <"$VM_TMP/master.port"
	net post "$_mport" /ctl "$1" >/dev/null
}
fm_agent() {
	printf '{"agent_info":{"id":{"value":"a%s"},"hostname":"%s"}}' "$1" "$(node_ip "$1")"
}
fm_task() { # name node port [state]: a task with the three VIPs on its port
	printf '{"task_id":{"value":"%s"},"name":"web","framework_id":{"value":"f1"},' "$1"
	printf '"agent_id":{"value":"a%s"},"state":"%s","discovery":{"ports":{"ports":[' \
		"$2" "${4:-TASK_RUNNING}"
	printf '{"number":%s,"protocol":"tcp","labels":{"labels":[' "$3"
	printf '{"key":"VIP_0","value":"/web:80"},{"key":"VIP_1","value":"%s:80"}]}},' "$IP_VIP"
	printf '{"number":%s,"protocol":"udp","labels":{"labels":[' "$3"
	printf '{"key":"VIP_2","value":"%s:53"}]}}]}}}' "$UDP_VIP"
}
# fm_state: the master's get_state object: every node an agent, the tasks
# of $VM_TMP/tasks (a task in a terminal state is no longer listed).
fm_state() {
	_ag= _ts=
	for _i in $CL_NODES; do _ag="$_ag${_ag:+,}$(fm_agent "$_i")"; done
	for _f in "$VM_TMP"/tasks/*; do
		[ -f "$_f" ] || continue
		read -r _node _port _st <"$_f"
		_ts="$_ts${_ts:+,}$(fm_task "${_f##*/}" "$_node" "$_port" "$_st")"
	done
	printf '{"get_tasks":{"tasks":[%s]},"get_agents":{"agents":[%s],"recovered_agents":[]},' \
		"$_ts" "$_ag"
	printf '"get_frameworks":{"frameworks":[{"framework_info":%s}]}}' \
		'{"id":{"value":"f1"},"name":"marathon"}'
}
# ev_add NAME NODE PORT, ev_update NAME STATE: record the change and print
# the control request that makes the master serve the new state and send
# TASK_ADDED / TASK_UPDATED on its streams.
ev_add() {
	mkdir -p "$VM_TMP/tasks"
	echo "$2 $3 TASK_RUNNING" >"$VM_TMP/tasks/$1"
	printf 'state %s\nevent {"type":"TASK_ADDED","task_added":{"task":%s}}' \
		"$(fm_state)" "$(fm_task "$1" "$2" "$3")"
}
ev_update() {
	read -r _node _port _st <"$VM_TMP/tasks/$1"
	case $2 in
	TASK_RUNNING | TASK_STAGING | TASK_STARTING | TASK_KILLING)
		echo "$_node $_port $2" >"$VM_TMP/tasks/$1" ;;
	*) rm -f "$VM_TMP/tasks/$1" ;;
	esac
	printf 'state %s\nevent {"type":"TASK_UPDATED","task_updated":' "$(fm_state)"
	printf '{"framework_id":{"value":"f1"},"state":"%s","status":' "$2"
	printf '{"task_id":{"value":"%s"},"state":"%s","timestamp":%s}}}' "$1" "$2" "$(date +%s)"
}
fm_add() { fm "$(ev_add "$@")"; }
fm_update() { fm "$(ev_update "$@")"; }
master_start() {
	rm -f "$VM_TMP/master.port"
	"$CL_B/tests/tools/fake_master" "$VM_TMP/master.port" 2>>"$VM_TMP/master.log" &
	echo $! >"$VM_TMP/master.pid"
}
# master_wait: until it listens
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
	node_spawn "$@"
	node_wait "$1" "$2"
}
# node_wait I DAEMON...: until each answers on its control socket. First
# the socket must appear (node_kill removes a dead daemon's; a shell test
# per try), then one status request for all, which then rarely has to wait.
node_wait() {
	_i=$1
	shift
	for _d; do
		wait_until "${CL_START_S:-60}" test -S "$(node_dir "$_i")/run/$_d.rep" || return 1
	done
	wait_until "${CL_START_S:-60}" node_answers "$_i" "$@"
}
# node_spawn I DAEMON [ARGS...]: start one daemon of node I in the background.
node_spawn() {
	_i=$1 _d=$2
	shift 2
	_dir=$(node_dir "$_i")
	[ -d "$_dir/state" ] || mkdir -p "$_dir/run" "$_dir/state"
	_common="--run-dir $_dir/run --log-level ${CL_LOG:-info}"
	case $_d in
	vipd)
		# the nodes' vipds share the root namespace: each its own loopback
		# address, in a net of this cluster's (clusters may run side by side).
		# A short backoff: a master outage (test_e2e_failure) shows in a
		# failed request within 100 ms, and the master's return as soon.
		read -r _mport <"$VM_TMP/master.port"
		"$CL_B/vipd" $_common --master "http://127.0.0.1:$_mport" \
			--http-listen "127.$CL_NET.0.$_i:61421" \
			--backoff-min 20 --backoff-max 100 "$@" 2>>"$_dir/vipd.log" &
		;;
	overlayd)
		_seed=1
		[ "$_i" = 1 ] && _seed=2
		# a simple command (not the nx function): $! is then the daemon itself
		nsenter --net="/run/netns/${VM_NS}n$_i" "$CL_B/overlayd" $_common \
			--node-ip "$(node_ip "$_i")" --listen "$(node_ip "$_i"):61420" \
			--seeds "$(node_ip "$_seed"):61420" --state-dir "$_dir/state" "$@" \
			2>>"$_dir/overlayd.log" &
		;;
	ipvsd)
		# Its periodic full pass (a dump and a nat rules check of 14
		# iptables runs, the largest share of the cluster's process starts
		# at the default 30 s) repairs changes made behind its back, which
		# these tests do not make (test_ipvsd_traffic and test_ipvsd_async
		# do): every pass here would be CPU taken from the emulated machine.
		nsenter --net="/run/netns/${VM_NS}n$_i" "$CL_B/ipvsd" $_common \
			--node-ip "$(node_ip "$_i")" --state-dir "$_dir/state" \
			--reconcile-interval "${CL_RECONCILE_S:-300}" "$@" \
			2>>"$_dir/ipvsd.log" &
		;;
	esac
	echo $! >"$_dir/$_d.pid"
}
# node_answers I DAEMON...: each answers on its control socket (one status
# request for all: a process start costs a lot in the VM). A request to a
# daemon that has not bound its socket yet waits for the whole timeout, so
# the timeout is short and the caller retries.
node_answers() {
	_st=$(CL_CTL_MS=1000 ctl "$1" status 2>/dev/null) || true
	shift
	# its lines read by the shell ("DAEMON STATE ..."): a grep per daemon
	# would be a process start per daemon and try
	for _d; do
		_ok=
		while read -r _dn _ds _; do
			if [ "$_dn $_ds" = "$_d up" ]; then _ok=1; fi
		done <<-EOF
			$_st
		EOF
		[ -n "$_ok" ] || { echo "$_d does not answer"; return 1; }
	done
}
# node_kill I DAEMON [SIGNAL]: stop one daemon (default SIGTERM) and wait for it.
# Its control socket goes with it: node_wait then knows the next one's.
node_kill() {
	read -r _p <"$VM_TMP/n$1/$2.pid" # node_dir, without a subshell
	kill -"${3:-TERM}" "$_p" 2>/dev/null || true
	wait "$_p" 2>/dev/null || true
	rm -f "$VM_TMP/n$1/run/$2.rep"
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
	for _n in $CL_NODES; do "$@" "$_n" || return 1; done
}
# has_vip_addrs I: node I holds the three VIPs on ipvsd's interface (ipvsd
# adds them after its first nat rules check).
has_vip_addrs() {
	_a=$(ip -n "${VM_NS}n$1" -o -4 addr show dev minuteman 2>/dev/null)
	for _v in "$IP_VIP" "$UDP_VIP" "$WEB_VIP"; do
		case $_a in *" $_v/"*) ;; *) return 1 ;; esac
	done
}
has_dests_on() { has_dests "$4" "$1" "$2" "$3"; } # VIP:PORT N proto I (for all_nodes)

# dest_gone IP:PORT I: node I's IPVS has no destination IP:PORT in any
# service (one listing; node last, for all_nodes)
dest_gone() { _s=$(nx "n$2" ipvsadm -Sn) && ! vm_has "* -r $1 *" "$_s"; }

# serving I VIP:PORT IP [proto]: node I sends new connections of the service
# to a backend at IP (present with a weight above 0; a withheld TCP backend
# drains at weight 0 before it is deleted).
serving() {
	nx "n$1" ipvsadm -Ln --"${4:-tcp}"-service "$2" 2>/dev/null |
		awk -v ip="$3:" '$1 == "->" && index($2, ip) == 1 && $4 > 0 { f = 1 } END { exit !f }'
}
# kernel_dump I: what l4lb programs in node I's kernel, without counters:
# IPVS, ipsets, nat rules. IPVS and ipsets sorted together, as their lines
# never look alike (-A/-a against create/add), and one sed drops the nat
# table's comments and counters: fewer process starts.
kernel_dump() {
	nx "n$1" sh -c '{ ipvsadm -Sn; ipset save; } | sort;
		iptables-save -t nat | sed -e "/^#/d" -e "s/ \[[0-9]*:[0-9]*\]//"'
}

# ipvs_watch OUT SECONDS PROTO VIP:PORT DEST COND "NODES" [CMD...]: the time
# from CMD's start until each node's IPVS meets COND (tests/tools/ipvs_watch.c,
# sampling every 20 ms); OUT gets "start MONO_MS", "trigger MS" and one
# "n<i> MS" or "n<i> timeout" line per node. Fails unless every node met COND
# in time.
ipvs_watch() {
	_o=$1 _t=$2 _p=$3 _v=$4 _d=$5 _c=$6 _w=
	for _i in $7; do _w="$_w /run/netns/${VM_NS}n$_i"; done
	shift 7
	"$CL_B/tests/tools/ipvs_watch" -t $((_t * 1000)) "$_p" "$_v" "$_d" "$_c" $_w \
		${1:+--} "$@" >"$_o"
}
# watch_event OUT SECONDS PROTO VIP:PORT DEST COND "NODES" BODY: ipvs_watch
# with the master's control request BODY (ev_add, ev_update) as the trigger.
watch_event() {
	_body=$8
	set -- "$1" "$2" "$3" "$4" "$5" "$6" "$7"
	read -r _mport <"$VM_TMP/master.port"
	ipvs_watch "$@" "$CL_B/tests/tools/e2e_net" post "$_mport" /ctl "$_body"
}
# lat OUT NAME: NAME's milliseconds in ipvs_watch's output OUT.
lat() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }
# lat_line OUT: "n1 123 ms, n2 140 ms" from ipvs_watch's output OUT.
lat_line() {
	awk '$1 != "trigger" && $1 != "start" {
		printf "%s%s %s%s", s, $1, $2, ($2 ~ /^[0-9]+$/ ? " ms" : ""); s = ", "
	} END { print "" }' "$1"
}

# seen OUT I IP reachable|unreachable: ms from the start of the ipvs_watch that
# wrote OUT until node I's overlayd logged IP's new state (its log lines carry
# the same monotonic clock), or "?".
seen() {
	sed -n "s/.*node $3 $4 at mono_us=\([0-9]*\).*/\1/p" "$(node_dir "$2")/overlayd.log" |
		awk -v s="$(lat "$1" start)" '$1 / 1000 >= s { t = int($1 / 1000 - s); exit }
			END { print (t == "" ? "?" : t) }'
}

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
	nsenter --net="/run/netns/${VM_NS}n$1" "$CL_B/tests/tools/e2e_net" serve "$2" "$3" &
	echo $! >"$VM_TMP/backend-$2.pid"
}

# named_vip: the address vipd gave /web:80 (from node 1's published table).
named_vip() {
	"$CL_B/vipd" --run-dir "$(node_dir 1)/run" --show 2>/dev/null | tr '{' '\n' |
		sed -n 's/^"protocol":"tcp","ip":"\([0-9.]*\)",.*"name":"web.marathon".*/\1/p' |
		head -n 1
}

# cluster_net: the namespaces "lan", holding the bridge br0, and
# n1..n$CL_N, each on br0 through a veth pair ("n<i>" on the bridge's side,
# "lan" on the node's, with the node's address). Fails when any step fails.
cluster_net() {
	bridge_new lan || return 1
	for _i in $CL_NODES; do
		ns_new "n$_i" && ns_link lan "n$_i" "$(node_ip "$_i")/24" || return 1
	done
}

# cluster_up BUILD N: the whole cluster, returns once every node has every
# backend of every VIP in its kernel.
cluster_up() {
	CL_B=$1 CL_N=$2
	# the node numbers, listed once (seq is a process start; the list is
	# walked in wait loops)
	CL_NODES=$(seq "$CL_N")
	CL_NET=1
	until mkdir "/tmp/l4lb-cluster-$CL_NET" 2>/dev/null; do CL_NET=$((CL_NET + 1)); done
	echo "/tmp/l4lb-cluster-$CL_NET" >"$VM_TMP/cluster.net"
	master_start
	# cluster_up runs as a condition (cluster_up_checked), where set -e is
	# off: a failed set-up step must stop it here, not in a 60 s wait later
	cluster_net || { echo "cluster_net failed"; return 1; }
	mkdir -p "$VM_TMP/tasks"
	for _i in $CL_NODES; do
		backend_start "$_i" "web-$_i" 8000
		echo "$_i 8000 TASK_RUNNING" >"$VM_TMP/tasks/web-$_i"
	done
	master_wait
	_t1=$(up_ms)
	fm "$(printf 'heartbeat 1\nstate %s' "$(fm_state)")"
	# every daemon at once: starts are slow in the VM, waiting in turn adds up
	for _i in $CL_NODES; do
		for _d in overlayd vipd ipvsd; do node_spawn "$_i" "$_d"; done
	done
	for _i in $CL_NODES; do
		node_wait "$_i" overlayd vipd ipvsd || return 1
	done
	_t2=$(up_ms)
	# every node's backend in every node's IPVS, watched by one sampling
	# process per backend: polls of ipvsadm per node and try took CPU from
	# the daemons being waited for. Then the exact counts, usually at once.
	# Every 100 ms: no latency is measured here.
	# One deadline for all the watches, run one after the other (each
	# its own full timeout would allow N times CL_UP_S).
	_ns=
	for _i in $CL_NODES; do _ns="$_ns /run/netns/${VM_NS}n$_i"; done
	_cl_end=$((_t2 + ${CL_UP_S:-150} * 1000))
	for _i in $CL_NODES; do
		_left=$((_cl_end - $(up_ms)))
		[ "$_left" -gt 0 ] || return 1
		"$CL_B/tests/tools/ipvs_watch" -t "$_left" -i 100 tcp \
			"$IP_VIP:80" "$(node_ip "$_i"):8000" up $_ns >/dev/null || return 1
	done
	wait_until 10 all_nodes has_dests_on "$IP_VIP:80" "$CL_N" tcp &&
		wait_until 10 all_nodes has_dests_on "$UDP_VIP:53" "$CL_N" udp &&
		WEB_VIP=$(named_vip) && [ -n "$WEB_VIP" ] &&
		wait_until 10 all_nodes has_dests_on "$WEB_VIP:80" "$CL_N" tcp &&
		wait_until 10 all_nodes has_vip_addrs || return 1
	echo "INFO: cluster_up: namespaces, backends and master $((_t1 - CL_T0)) ms," \
		"daemons answering $((_t2 - _t1)) ms," \
		"every kernel programmed $(($(up_ms) - _t2)) ms"
}

# cluster_up_checked BUILD N: cluster_up as the check "cluster_up"; when it
# fails, node 1's backends and the daemons' logs are shown and the script ends.
cluster_up_checked() {
	if cluster_up "$@"; then
		pass cluster_up
		return 0
	fi
	fail cluster_up "$(dests 1 "$IP_VIP:80")"
	cluster_logs
	vm_done
}

# cluster_stop: stop what runs outside the namespaces (vipd, the master);
# vm_cleanup stops the rest with the namespaces.
cluster_stop() {
	for _f in "$VM_TMP"/n*/vipd.pid "$VM_TMP/master.pid"; do
		[ -f "$_f" ] && kill "$(cat "$_f")" 2>/dev/null
	done
	[ -f "$VM_TMP/cluster.net" ] && rmdir "$(cat "$VM_TMP/cluster.net")"
	return 0
}
# cluster_exit: the EXIT trap. Cleaning up is best effort: under set -e a
# failing step there (a process still writing into \$VM_TMP) would replace the
# test's exit status, so set -e is off and the status is kept.
cluster_exit() {
	_crc=$?
	set +e
	cluster_stop
	(exit "$_crc") || vm_cleanup
	[ "$_crc" = 0 ] && vm_cleanup
	exit "$_crc"
}
trap cluster_exit EXIT

# cluster_logs: the daemons' last log lines (after a failure).
cluster_logs() {
	for _f in "$VM_TMP"/n*/*.log; do
		echo "# --- $_f"
		tail -n "${1:-15}" "$_f" | sed 's/^/# /'
	done
}
