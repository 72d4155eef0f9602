#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# l4lbctl vips shows exactly the table vipd publishes (here from a static
# --vips-file), as text and as JSON, and fails clearly when vipd is down.
set -u
B=${1:-build}
. tests/lib.sh
T=$(mktemp -d)
R=$T/run
trap 'kill_all; rm -rf "$T"' EXIT

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
kill_all
ctl vips >/dev/null 2>"$T/err"
check "vips exits 1 with a clear message when vipd is down" \
	sh -c "[ $? = 1 ] && grep -q 'vipd is not running' '$T/err'"
finish
