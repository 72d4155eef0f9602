#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# `vipd --from-file FILE --print` on every master fixture, and its errors:
# unreadable file, not a master response, truncated input, bad --vips-file.
. tests/lib.sh
scratch_dir
F=tests/fixtures/mesos

out=$("$B/vipd" --from-file $F/hello-overlay.json --print 2>"$T/err")
rc=$?
n=$(echo "$out" | grep -o '"name":"' | wc -l)
if [ $rc = 0 ] && [ "$n" = 3 ]; then pass print_hello_overlay_three_named_vips
else fail print_hello_overlay_three_named_vips "exit $rc, $n names: $out"; fi

out=$("$B/vipd" --from-file $F/tcp-and-udp.json --print)
if echo "$out" | grep -q '"protocol":"tcp","ip":"11.171.172.93","port":80' &&
	echo "$out" | grep -q '"protocol":"udp","ip":"11.171.172.93","port":80'; then
	pass print_tcp_and_udp_same_vip
else fail print_tcp_and_udp_same_vip "$out"; fi

for f in hello-world operator-api; do
	out=$("$B/vipd" --from-file $F/$f.json --print)
	if [ "$out" = '{"vips":[]}' ]; then pass "print_${f}_empty"
	else fail "print_${f}_empty" "$out"; fi
done

# The same stream RecordIO-framed (as SUBSCRIBE sends it): the same table.
want=$("$B/vipd" --from-file $F/hello-overlay.json --print)
while IFS= read -r line; do
	printf '%s\n%s' "$(printf '%s' "$line" | wc -c)" "$line"
done <$F/hello-overlay.json >"$T/stream.recordio"
out=$("$B/vipd" --from-file "$T/stream.recordio" --print)
rc=$?
if [ $rc = 0 ] && [ "$out" = "$want" ]; then pass print_recordio_same_table
else fail print_recordio_same_table "exit $rc: $out"; fi

# A legacy state.json (GET /state of older masters).
printf '%s' '{"slaves":[{"id":"a1","hostname":"10.0.0.1"}],"frameworks":[{"id":"f1",' \
	'"name":"marathon","tasks":[{"id":"t1","framework_id":"f1","slave_id":"a1",' \
	'"state":"TASK_RUNNING","discovery":{"ports":{"ports":[{"number":31001,' \
	'"protocol":"tcp","labels":{"labels":[{"key":"VIP_0","value":"/web:80"}]}}]}}}]}]}' \
	>"$T/state.json"
out=$("$B/vipd" --from-file "$T/state.json" --print)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q '"name":"web.marathon"' &&
	echo "$out" | grep -q '"backends":\[{"ip":"10.0.0.1","port":31001,'; then
	pass print_legacy_state_json
else fail print_legacy_state_json "exit $rc: $out"; fi

# stdin, with static VIPs added
out=$("$B/vipd" --from-file - --print --vips-file tests/fixtures/vipd/static.json \
	<$F/tcp-and-udp.json)
if echo "$out" | grep -q '"ip":"10.10.0.1"' && echo "$out" | grep -q app.marathon; then
	pass print_stdin_with_static_vips
else fail print_stdin_with_static_vips "$out"; fi

expect_error() { # name pattern args...
	name=$1 pat=$2
	shift 2
	if "$B/vipd" "$@" >"$T/out" 2>"$T/err"; then
		fail "$name" "exit status 0"
	elif ! grep -q "$pat" "$T/err"; then
		fail "$name" "message: $(cat "$T/err")"
	elif [ -s "$T/out" ]; then
		fail "$name" "printed a table"
	else pass "$name"; fi
}
expect_error error_missing_file "No such file" --from-file "$T/nope.json" --print
expect_error error_not_master "not a Mesos master response" \
	--from-file tests/fixtures/mesos/README.md --print
printf '{"foo":1}' >"$T/foo.json"
expect_error error_json_not_master "not a Mesos master response: no state or event" \
	--from-file "$T/foo.json" --print
head -c 3000 $F/tcp-and-udp.json >"$T/trunc.json"
expect_error error_truncated "middle of a JSON document" --from-file "$T/trunc.json" --print
printf '{"type":"GET_STATE","get_state":{]}' >"$T/bad.json"
expect_error error_malformed "malformed JSON" --from-file "$T/bad.json" --print
expect_error error_bad_vips_file "bad-port.json: vips\[0\].backends\[0\].port" \
	--vips-file tests/fixtures/vipd/bad-port.json --check-config
expect_error error_print_alone "needs --from-file" --print
# a bad --vips-file is a configuration error: status 2, as vipd.8 says
"$B/vipd" --vips-file tests/fixtures/vipd/bad-port.json --check-config 2>/dev/null
rc=$?
if [ $rc = 2 ]; then pass check_config_bad_vips_file_exit_2
else fail check_config_bad_vips_file_exit_2 "exit $rc"; fi

# The daemon with static VIPs only: published; SIGHUP re-reads the file and
# a bad file keeps the VIPs in use.
show() { "$B/vipd" --run-dir "$T/run" --show 2>/dev/null; }
cp tests/fixtures/vipd/static.json "$T/vips.json"
spawn "$B/vipd" --run-dir "$T/run" --vips-file "$T/vips.json" --log-level warn
if wait_for 10 sh -c "'$B/vipd' --run-dir '$T/run' --show 2>/dev/null | grep -q 10.10.0.1"; then
	pass static_vips_published
else fail static_vips_published "$(show)"; fi
printf '{"vips":[{"protocol":"tcp","ip":"10.20.0.1","port":80,"backends":[]}]}' >"$T/vips.json"
kill -HUP "$LAST_PID"
if wait_for 10 sh -c "'$B/vipd' --run-dir '$T/run' --show 2>/dev/null | grep -q 10.20.0.1"; then
	pass sighup_reloads_vips_file
else fail sighup_reloads_vips_file "$(show)"; fi
printf '{"vips":[{"protocol":"tcp","ip":"bad"}]}' >"$T/vips.json"
kill -HUP "$LAST_PID"
# vipd has read the bad file once it counted it (report_bad_input's kind
# vips_file): a fixed pause let a slow vipd be looked at before it had
bad_file_counted() { [ "$("$B/tests/tools/status_counter" "$T/run" vipd vips_file)" -ge 1 ]; }
wait_for 10 bad_file_counted
if show | grep -q '"generation":2,' && show | grep -q 10.20.0.1; then pass sighup_bad_file_keeps_vips
else fail sighup_bad_file_keeps_vips "$(show)"; fi
finish
