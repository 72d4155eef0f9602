#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The HTTP endpoint of each real daemon (--http-listen 127.0.0.1:0, the port
# read from its log): /healthz, /metrics well formed (tests/tools/prom_check.py,
# promtool when installed) with values that follow the daemon's state, /v1/vips
# (vipd, dcos-net shape) and /v1/nodes (overlayd). A port that cannot be bound
# leaves the daemon running without the endpoint; a bad address is refused.
. tests/lib.sh
scratch_dir

need_cmd curl "http endpoints"
# port_of LOG: the port a daemon logged "http: serving on ... (port N)" with
port_of() { sed -n 's/.*http: serving on .* (port \([0-9]*\)).*/\1/p' "$1" | head -n 1; }
has_port() { [ -n "$(port_of "$1")" ]; }
get() { curl -fsS --max-time 5 "http://127.0.0.1:$1$2"; }
# metric PORT NAME: the value of the sample line starting with NAME
metric() { get "$1" /metrics | grep -v '^#' | grep -F "$2 " | head -n 1 | awk '{ print $NF }'; }
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
prom_ok() { # NAME PORT
	get "$2" /metrics >"$T/m-$1" &&
		python3 tests/tools/prom_check.py "$T/m-$1" >"$T/c-$1" 2>&1 &&
		{ ! command -v promtool >/dev/null 2>&1 || promtool check metrics <"$T/m-$1" >/dev/null 2>&1; }
}

# --- vipd ---
cp tests/fixtures/vipd/static.json "$T/vips.json"
R=$T/v
spawn "$B/vipd" --run-dir "$R" --vips-file "$T/vips.json" --http-listen 127.0.0.1:0 2>"$T/vipd.log"
wait_for 10 has_port "$T/vipd.log"
VP=$(port_of "$T/vipd.log")
check "vipd /healthz answers ok" sh -c "[ \"\$(curl -fsS --max-time 5 http://127.0.0.1:$VP/healthz)\" = ok ]"
wait_for 10 metric_is "$VP" l4lb_vipd_vips 2
if prom_ok vipd "$VP"; then pass "vipd /metrics well formed"; else fail "vipd /metrics well formed" "$(head -n 3 "$T/c-vipd")"; fi
check "vipd /metrics: VIPs and backends of the table" sh -c \
	"grep -qx 'l4lb_vipd_vips 2' '$T/m-vipd' && grep -qx 'l4lb_vipd_backends 3' '$T/m-vipd'"
get "$VP" /v1/vips >"$T/v1vips.json"
check "vipd /v1/vips: dcos-net shape, every VIP and backend of the file" python3 -c '
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))["vips"]
def vip(v):
    return ("[%s]:%d" if ":" in v["ip"] else "%s:%d") % (v["ip"], v["port"])
w = sorted((vip(v), v["protocol"], sorted((b["ip"], b["port"]) for b in v["backends"])) for v in want)
g = sorted((v["vip"], v["protocol"], sorted((b["ip"], b["port"]) for b in v["backend"])) for v in got)
assert g == w, (g, w)
named = [v for v in got if v["name"] == "dns.static"]
assert named and named[0]["backend"][0]["agent_ip"] == "10.0.0.1", got
' "$T/v1vips.json" "$T/vips.json"
# a VIP added to the file and SIGHUP: the gauge follows
python3 - "$T/vips.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["vips"].append({"protocol": "tcp", "ip": "10.10.0.9", "port": 443,
                  "backends": [{"ip": "127.0.0.9", "port": 8443}]})
json.dump(d, open(sys.argv[1], "w"))
PY
kill -HUP "$LAST_PID"
if wait_for 10 metric_is "$VP" l4lb_vipd_vips 3; then
	pass "vipd /metrics: a VIP added -> l4lb_vipd_vips 2 -> 3"
else
	fail "vipd /metrics: a VIP added -> l4lb_vipd_vips 2 -> 3" "got $(metric "$VP" l4lb_vipd_vips)"
fi
# /v1/vips is cached per table generation: the new table replaces it
nvips() { get "$VP" /v1/vips | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }
check "vipd /v1/vips: the added VIP is served (not the cached table)" test "$(nvips)" = 3
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$VP/v1/nodes")
check "vipd: /v1/nodes is overlayd's (404 here)" test "$code" = 404

# The same port again: a second vipd keeps running without the endpoint.
spawn "$B/vipd" --run-dir "$T/v2" --vips-file "$T/vips.json" --http-listen "127.0.0.1:$VP" \
	2>"$T/vipd2.log"
v2up() { "$B/l4lbctl" --run-dir "$T/v2" --timeout 500 vips >/dev/null 2>&1; }
if wait_for 10 v2up && grep -q 'endpoint disabled' "$T/vipd2.log"; then
	pass "port in use: logged, the daemon runs without the endpoint"
else
	fail "port in use: logged, the daemon runs without the endpoint" "$(tail -n 2 "$T/vipd2.log")"
fi
"$B/vipd" --run-dir "$T/v3" --http-listen 0.0.0.0 --check-config 2>"$T/err"
check "bad --http-listen: exit 2 naming the expected form" \
	sh -c "[ $? = 2 ] && grep -q 'expected IP:PORT' '$T/err'"
printf '[vipd]\nhttp-listen = off\n' >"$T/off.conf"
spawn "$B/vipd" --run-dir "$T/v4" --config "$T/off.conf" --vips-file "$T/vips.json" 2>"$T/vipd4.log"
v4up() { "$B/l4lbctl" --run-dir "$T/v4" --timeout 500 vips >/dev/null 2>&1; }
if wait_for 10 v4up && ! grep -q 'http: serving' "$T/vipd4.log"; then
	pass "http-listen = off in the config file: no endpoint"
else
	fail "http-listen = off in the config file: no endpoint" "$(cat "$T/vipd4.log")"
fi

# --- overlayd: two nodes on loopback ---
A=127.0.$((80 + $$ % 40)).$((1 + $$ % 200))
Bn=127.0.$((80 + $$ % 40)).$((2 + $$ % 200))
for i in 1 2; do
	ip=$A
	[ $i = 2 ] && ip=$Bn
	mkdir -p "$T/o$i"
	spawn "$B/overlayd" --run-dir "$T/o$i" --state-dir "$T/o$i" --listen "$ip:61420" \
		--seeds "$A,$Bn" --http-listen 127.0.0.1:0 2>"$T/o$i.log"
	eval "OPID$i=\$LAST_PID"
done
wait_for 10 has_port "$T/o1.log"
OP=$(port_of "$T/o1.log")
both() { get "$OP" /v1/nodes | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["self"] == sys.argv[1], d
r = {n["ip"]: n["reachable"] for n in d["nodes"]}
assert r == {sys.argv[1]: True, sys.argv[2]: True}, r
assert [l["ip"] for l in d["active"]] == [sys.argv[2]], d
' "$A" "$Bn"; }
if wait_for 20 both; then pass "overlayd /v1/nodes: both nodes reachable, the link active"; else fail "overlayd /v1/nodes: both nodes reachable, the link active" "$(get "$OP" /v1/nodes)"; fi
rtt() { get "$OP" /metrics | grep -q "^l4lb_overlayd_link_rtt_seconds{peer=\"$Bn\"} 0\.[0-9]"; }
check "overlayd /metrics: per-link RTT" wait_for 10 rtt
if prom_ok overlayd "$OP"; then pass "overlayd /metrics well formed"; else fail "overlayd /metrics well formed" "$(head -n 3 "$T/c-overlayd")"; fi
check "overlayd /metrics: no unreachable node yet" metric_is "$OP" l4lb_overlayd_unreachable_nodes 0
kill -9 "$OPID2"
{ wait "$OPID2"; } 2>/dev/null
if wait_for 20 metric_is "$OP" l4lb_overlayd_unreachable_nodes 1; then
	pass "overlayd /metrics: node killed -> l4lb_overlayd_unreachable_nodes 0 -> 1"
else
	fail "overlayd /metrics: node killed -> l4lb_overlayd_unreachable_nodes 0 -> 1" \
		"got $(metric "$OP" l4lb_overlayd_unreachable_nodes)"
fi

# --- ipvsd (dry run, no IPVS here) in a namespace with its own loopback ---
if unshare -n true 2>/dev/null; then
	cat >"$T/spec" <<'SPEC'
vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.1.1 10.0.0.12:8080@10.0.1.2
reach 10.0.1.1 10.0.1.2
SPEC
	spawn "$B/tests/tools/ipvsd_feed" "$T/i" "$T/spec" >/dev/null 2>&1
	cat >"$T/ipvsd.sh" <<EOF2
ip link set lo up
"$B/ipvsd" --run-dir "$T/i" --dry-run --http-listen 127.0.0.1:61423 >/dev/null 2>"$T/ipvsd.log" &
P=\$!
m() { curl -fsS --max-time 5 http://127.0.0.1:61423/metrics; }
val() { m | grep -v '^#' | grep -F "\$1 " | awk '{ print \$NF }'; }
i=0
until [ "\$(val l4lb_ipvsd_backends)" = 2 ] || [ \$i = 100 ]; do sleep 0.1; i=\$((i + 1)); done
m >"$T/m-ipvsd"
sed -i 's/10.0.1.1 10.0.1.2/10.0.1.1/' "$T/spec"
i=0
until [ "\$(val l4lb_ipvsd_withheld_backends)" = 1 ] || [ \$i = 100 ]; do sleep 0.1; i=\$((i + 1)); done
m >"$T/m-ipvsd2"
kill \$P
wait \$P
EOF2
	timeout 40 unshare -n sh "$T/ipvsd.sh"
	check "ipvsd /metrics: services and backends it wants" sh -c \
		"grep -qx 'l4lb_ipvsd_services 1' '$T/m-ipvsd' && grep -qx 'l4lb_ipvsd_backends 2' '$T/m-ipvsd'"
	check "ipvsd /metrics: reconcile histogram and kernel writes by kind" sh -c \
		"grep -q '^l4lb_ipvsd_reconcile_duration_seconds_count [1-9]' '$T/m-ipvsd' &&
		 grep -q '^l4lb_ipvsd_kernel_writes_total{kind=\"ipvs\"} ' '$T/m-ipvsd'"
	check "ipvsd /metrics well formed" python3 tests/tools/prom_check.py "$T/m-ipvsd" --need-histogram
	check "ipvsd /metrics: a node unreachable -> withheld_backends 0 -> 1" sh -c \
		"grep -qx 'l4lb_ipvsd_withheld_backends 0' '$T/m-ipvsd' &&
		 grep -qx 'l4lb_ipvsd_withheld_backends 1' '$T/m-ipvsd2'"
else
	echo "SKIP: ipvsd /metrics (cannot create a network namespace)"
fi
finish
