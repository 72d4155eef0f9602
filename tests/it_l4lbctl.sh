#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# l4lbctl vips shows exactly the table vipd publishes (here from a static
# --vips-file), as text and as JSON, and fails clearly when vipd is down.
. tests/lib.sh
scratch_dir
R=$T/run

spawn "$B/vipd" --run-dir "$R" --log-level warn --vips-file tests/fixtures/vipd/static.json
ctl() { "$B/l4lbctl" --run-dir "$R" --timeout 500 "$@"; }
wait_for 10 ctl vips >/dev/null
ctl vips --json >"$T/vips.json"
check "vips --json exits 0" test $? = 0
check "vips --json matches the --vips-file" python3 -c '
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
assert got["generation"] >= 1 and got["source"] == "file", got
strip = lambda vs: [{k: v for k, v in x.items() if k != "labels"} for x in vs]
key = lambda v: (v["protocol"], v["ip"], v["port"])
g = sorted(strip(got["vips"]), key=key)
w = sorted(strip(want["vips"]), key=key)
for v in w:  # the file may leave out the defaults: agent = the backend, weight 1
    for b in v["backends"]:
        b.setdefault("agent_ip", b["ip"])
        b.setdefault("weight", 1)
assert g == w, (g, w)
' "$T/vips.json" tests/fixtures/vipd/static.json
ctl vips >"$T/vips.txt"
check "vips text lists every VIP and backend" sh -c \
	"grep -q '^tcp 10.10.0.1:80' '$T/vips.txt' && grep -q -- '-> \[fd02::1\]:5353 *weight 1' '$T/vips.txt'"
check "vips says when reachability is unknown (no overlayd)" \
	grep -q "reachability unknown, nothing withheld" "$T/vips.txt"

# With overlayd (alone: only its own node 127.0.91.1 is reachable): a backend
# on another agent is withheld when its VIP has a reachable one, and kept
# (fail open, as ipvsd does) when none of its VIP's backends is reachable.
cat >"$T/mixed.json" <<'EOF'
{"vips":[{"protocol":"tcp","ip":"10.10.0.5","port":80,"backends":[
  {"ip":"127.0.91.1","port":8081,"agent_ip":"127.0.91.1"},
  {"ip":"10.9.9.9","port":8082,"agent_ip":"10.9.9.9"}]},
 {"protocol":"tcp","ip":"10.10.0.6","port":80,"backends":[
  {"ip":"10.9.9.8","port":8083,"agent_ip":"10.9.9.8"}]}]}
EOF
kill_all
R=$T/run2
mkdir -p "$T/ostate"
spawn "$B/vipd" --run-dir "$R" --log-level warn --http-listen off --vips-file "$T/mixed.json"
spawn "$B/overlayd" --run-dir "$R" --log-level warn --http-listen off --node-ip 127.0.91.1 \
	--listen 127.0.91.1:61420 --state-dir "$T/ostate"
known() { ctl vips --json | grep -q '"reachability_known":true'; }
if wait_for 15 known; then
	ctl vips --json >"$T/mixed.out"
	ctl vips >"$T/mixed.txt"
	check "vips marks a backend on an unreachable agent withheld, and why" python3 -c '
import json, sys
v = {x["ip"]: x["backends"] for x in json.load(open(sys.argv[1]))["vips"]}
b = {x["ip"]: x for x in v["10.10.0.5"]}
assert b["127.0.91.1"]["reachable"] is True and "withheld" not in b["127.0.91.1"], b
assert b["10.9.9.9"]["reachable"] is False, b
assert b["10.9.9.9"]["withheld"] == "agent 10.9.9.9 unreachable", b
lone = v["10.10.0.6"][0]
assert lone["reachable"] is False and "withheld" not in lone, lone
' "$T/mixed.out"
	check "vips text shows the withheld backend" \
		grep -q "10.9.9.9:8082 .*WITHHELD: agent unreachable" "$T/mixed.txt"
else
	fail "vips marks a backend on an unreachable agent withheld, and why" \
		"overlayd published no reachability"
fi
kill_all
ctl vips >/dev/null 2>"$T/err"
check "vips exits 1 with a clear message when vipd is down" \
	sh -c "[ $? = 1 ] && grep -q 'vipd is not running' '$T/err'"
finish
