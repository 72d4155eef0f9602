#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# l4lbctl ipvs, cleanup and diag with real daemons: ipvs says which backends
# are withheld and why; cleanup refuses while ipvsd
# answers (naming the systemctl command), runs `ipvsd --cleanup` with the same
# --run-dir/--config once it is stopped (also after a kill -9 left its socket
# behind) and passes on ipvsd's exit status; cleanup --json says the same
# (refused and why, what was removed, ipvsd's problems) with the same exit
# codes; diag writes a tar.gz with the
# daemons' views and the kernel's, and notes what it could not collect.
. tests/lib.sh
scratch_dir
R=$T/run
ctl() { "$B/l4lbctl" --run-dir "$R" --timeout 500 "$@"; }

need_netns "l4lbctl cleanup/diag"

# A stand-in for ipvsd --cleanup that records how it was called.
cat >"$T/fake-ipvsd" <<EOF2
#!/bin/sh
echo "\$@" >"$T/fake-args"
exit 3
EOF2
chmod +x "$T/fake-ipvsd"

# ipvsd (dry run: no IPVS here) in a namespace of its own; its socket is a
# file. Its input comes from ipvsd_feed: one agent of two unreachable.
printf 'vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.1.1 10.0.0.12:8080@10.0.1.2\nreach 10.0.1.1\n' \
	>"$T/spec"
dry_ipvsd "$R" "$T/plan" "$T/ipvsd.log" --http-listen off
IPVSD=$LAST_PID
ipvsd_up() { ctl status 2>/dev/null | grep -q '^ipvsd *up'; }
wait_for 10 ipvsd_up
withheld() { ctl ipvs | grep -q -- '-> 10.0.0.12:8080 *withheld: agent 10.0.1.2 unreachable'; }
check "ipvs shows a withheld backend and why" wait_for 10 withheld
check "ipvs --json: withheld reason per destination, null when programmed" sh -c \
	"$B/l4lbctl --run-dir $R ipvs --json | python3 -c '
import json, sys
d = json.load(sys.stdin)[\"desired\"][0][\"dests\"]
w = {x[\"ip\"]: x[\"withheld\"] for x in d}
assert w == {\"10.0.0.11\": None, \"10.0.0.12\": \"agent 10.0.1.2 unreachable\"}, w'"
ctl cleanup --ipvsd "$T/fake-ipvsd" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc = 1 ] && grep -q 'systemctl stop l4lb-ipvsd' "$T/err" && [ ! -e "$T/fake-args" ]; then
	pass "cleanup refuses while ipvsd runs, naming systemctl stop l4lb-ipvsd"
else
	fail "cleanup refuses while ipvsd runs, naming systemctl stop l4lb-ipvsd" \
		"rc=$rc $(cat "$T/err")"
fi
# json_check NAME EXPECTED_RC PYTHON_ASSERTION: the last cleanup --json run
# ($rc, $T/out) exited EXPECTED_RC and printed one JSON object d for which
# the assertion holds.
json_check() {
	if [ "$rc" = "$2" ] && python3 -c "
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert ($3), d" "$T/out" 2>"$T/pyerr"; then
		pass "$1"
	else
		fail "$1" "rc=$rc out=$(cat "$T/out") $(tail -1 "$T/pyerr")"
	fi
}
ctl cleanup --json --ipvsd "$T/fake-ipvsd" >"$T/out" 2>"$T/err"
rc=$?
json_check "cleanup --json while ipvsd runs: refused, ipvsd's pid and why, exit 1" 1 \
	"d['result'] == 'refused' and d['pid'] == $IPVSD and d['exit_status'] == 1 and
	 'systemctl stop l4lb-ipvsd' in d['reason']"
check "... and ipvsd --cleanup was not run" test ! -e "$T/fake-args"

kill -9 "$IPVSD" 2>/dev/null
{ wait "$IPVSD"; } 2>/dev/null
check "ipvsd killed -9 leaves its socket behind" test -S "$R/ipvsd.rep"
ctl cleanup --config /etc/l4lb/other.conf --ipvsd "$T/fake-ipvsd" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc = 3 ] &&
	[ "$(cat "$T/fake-args")" = "--cleanup --run-dir $R --config /etc/l4lb/other.conf" ]; then
	pass "cleanup runs ipvsd --cleanup with the same --run-dir/--config, passes on its status"
else
	fail "cleanup runs ipvsd --cleanup with the same --run-dir/--config, passes on its status" \
		"rc=$rc args=$(cat "$T/fake-args" 2>/dev/null) $(cat "$T/err")"
fi
ctl cleanup --json --ipvsd "$T/fake-ipvsd" >"$T/out" 2>"$T/err"
rc=$?
json_check "cleanup --json passes on ipvsd's status; no summary from it: failed" 3 \
	"d['result'] == 'failed' and d['exit_status'] == 3 and 'removed' not in d and
	 open('$T/fake-args').read().split() == '--cleanup --run-dir $R --log-level info'.split()"
# Without --ipvsd it runs the ipvsd installed next to l4lbctl (here: the
# build), in a namespace of its own: no IPVS here, so nothing to remove.
unshare -n "$B/l4lbctl" --run-dir "$R" cleanup >"$T/out" 2>"$T/err"
rc=$?
if [ $rc = 0 ] && grep -q 'ipvsd.*cleanup: done' "$T/err"; then
	pass "cleanup runs the real ipvsd --cleanup next to l4lbctl (exit 0)"
else
	fail "cleanup runs the real ipvsd --cleanup next to l4lbctl (exit 0)" \
		"rc=$rc $(cat "$T/err")"
fi
unshare -n "$B/l4lbctl" --run-dir "$R" cleanup --json >"$T/out" 2>"$T/err"
rc=$?
json_check "cleanup --json on a host without IPVS: done, nothing removed, ipvs false" 0 \
	"d['result'] == 'done' and d['ipvs'] is False and d['removed'] ==
	 {'services': 0, 'vip_addresses': 0, 'interface': None} and
	 any('no IPVS' in p['message'] for p in d['problems'])"
check "... ipvsd's log still on stderr" grep -q 'ipvsd.*cleanup: done' "$T/err"
"$B/l4lbctl" --run-dir "$R" cleanup --ipvsd "$T/does-not-exist" 2>"$T/err"
rc=$?
check "cleanup with a missing ipvsd: exit 1 and the reason" \
	sh -c "[ $rc = 1 ] && grep -q 'cannot run' '$T/err'"
"$B/l4lbctl" --run-dir "$R" cleanup --json --ipvsd "$T/does-not-exist" >"$T/out" 2>"$T/err"
rc=$?
json_check "cleanup --json with a missing ipvsd: failed, the reason, exit 1" 1 \
	"d['result'] == 'failed' and d['reason'].startswith('cannot run ')"

# diag with vipd up and the others down (the feed stood in for vipd).
kill "$FEED"
{ wait "$FEED"; } 2>/dev/null
spawn "$B/vipd" --run-dir "$R" --log-level warn --http-listen off \
	--vips-file tests/fixtures/vipd/static.json
wait_for 10 ctl vips >/dev/null
ctl diag -o "$T/d.tar.gz" 2>"$T/err"
rc=$?
mkdir "$T/x"
if [ $rc = 0 ] && tar -xzf "$T/d.tar.gz" -C "$T/x"; then
	pass "diag -o writes a tar.gz (exit 0)"
else
	fail "diag -o writes a tar.gz (exit 0)" "rc=$rc $(cat "$T/err")"
fi
D=$T/x/l4lb-diag
check "diag: the VIP table as vipd publishes it" python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
assert len(v["vips"]) == 2, v' "$D/vips.json"
check "diag: status names the daemons that are down" sh -c \
	"grep -q '\"name\":\"vipd\",\"up\":true' '$D/status.json' &&
	 grep -q '\"name\":\"ipvsd\",\"up\":false' '$D/status.json'"
check "diag: every file is in the manifest with its command and result" sh -c "
	for f in \$(ls '$D' | grep -v MANIFEST.txt); do grep -q \"^\$f: \" '$D/MANIFEST.txt' || exit 1; done
	grep -q '^nodes.json: .*nodes --json: failed: exit status 1' '$D/MANIFEST.txt'"
check "diag: sysctls of the Linux caveats" grep -q '^net/ipv4/ip_local_port_range = ' "$D/sysctl.txt"

# Tools missing: still an archive, the manifest says what is missing.
mkdir "$T/bin"
for t in tar gzip rm sh; do ln -s "$(command -v $t)" "$T/bin/$t"; done
PATH=$T/bin "$B/l4lbctl" --run-dir "$R" --timeout 500 diag >"$T/d2.tar.gz" 2>"$T/err"
rc=$?
if [ $rc = 0 ] && tar -xzf "$T/d2.tar.gz" -O l4lb-diag/MANIFEST.txt >"$T/m2" 2>/dev/null &&
	grep -q '^ipvsadm.txt: .*not collected: ipvsadm is not installed' "$T/m2"; then
	pass "diag without ipvsadm etc.: archive on stdout, manifest names what is missing"
else
	fail "diag without ipvsadm etc.: archive on stdout, manifest names what is missing" \
		"rc=$rc $(cat "$T/err") $(head -c 300 "$T/m2" 2>/dev/null)"
fi
finish
