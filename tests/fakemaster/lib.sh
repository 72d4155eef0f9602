# SPDX-License-Identifier: Apache-2.0
#
# Helpers for the it_vipd_master*.sh tests (sourced after tests/lib.sh and
# its scratch_dir): fake masters, vipds with their own run dirs, their
# published tables and status facts, master JSON builders.
fm_start() { # name: starts a fake master, sets PORT_<name> (its pid: LAST_PID)
	rm -f "$T/$1.port"
	fakemaster "fakemaster_$1" "$T/$1.port"
	eval "PORT_$1=$(cat "$T/$1.port")"
}
ctl() { python3 "$FM" ctl "$1" "$2" >/dev/null; } # port json
stat() { python3 "$FM" stats "$1" "$2"; }           # port key
vipd() { # name args...: a vipd with its own run dir
	n=$1
	shift
	mkdir -p "$T/$n"
	spawn "$B/vipd" --run-dir "$T/$n" --log-level debug --backoff-min 200 --backoff-max 800 \
		"$@" 2>"$T/$n.log"
}
show() { "$B/vipd" --run-dir "$T/$1" --show 2>/dev/null; }
fact() { "$B/tests/tools/status_counter" "$T/$1" vipd "$2"; } # name key: a status fact
has() { show "$1" | grep -q "$2"; }     # name pattern
hasnt() { ! show "$1" | grep -q "$2"; } # name pattern
gen() { show "$1" | sed -n 's/^{"generation":\([0-9]*\),.*/\1/p'; }

agent() { printf '{"id":{"value":"%s"},"hostname":"%s"}' "$1" "$2"; }
task() { # id agent port label [state]
	printf '{"task_id":{"value":"%s"},"framework_id":{"value":"f1"},' "$1"
	printf '"agent_id":{"value":"%s"},"state":"%s",' "$2" "${5:-TASK_RUNNING}"
	printf '"discovery":{"ports":{"ports":[{"number":%s,"protocol":"tcp",' "$3"
	printf '"labels":{"labels":[{"key":"VIP_0","value":"%s"}]}}]}}}' "$4"
}
FW='[{"id":{"value":"f1"},"name":"marathon"}]'
state() { # agents tasks [recovered]
	printf '{"op":"set","state":{"agents":[%s],"frameworks":%s,"tasks":[%s],"recovered":[%s]}}' \
		"$1" "$FW" "$2" "${3:-}"
}
ev_task() { printf '{"op":"event","event":{"type":"TASK_ADDED","task_added":{"task":%s}}}' "$1"; }
ev_upd() { # id state
	printf '{"op":"event","event":{"type":"TASK_UPDATED","task_updated":'
	printf '{"framework_id":{"value":"f1"},'
	printf '"state":"%s","status":{"task_id":{"value":"%s"},"state":"%s","timestamp":%s}}}}' \
		"$2" "$1" "$2" "$(date +%s)"
}
