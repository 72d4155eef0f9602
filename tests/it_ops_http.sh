#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The HTTP endpoint (common/http.c) in a real process on 127.0.0.1 with an
# ephemeral port, scraped with curl: /healthz, /metrics in the Prometheus
# text format (checked line by line here, and with promtool when installed),
# registered routes, 404/405, HEAD, oversized and garbage requests, and the
# idle-connection timeout.
. tests/lib.sh

scratch_dir
srv=$B/tests/tools/http_serve
if [ ! -x "$srv" ]; then
	fail http_tool "$srv not built (make tests)"
	finish
fi
need_cmd curl "http"

spawn "$srv" 127.0.0.1:0 2 >"$T/out" 2>"$T/err"
if wait_for 10 grep -q '^port=' "$T/out"; then
	port=$(sed -n 's/^port=//p' "$T/out")
	pass http_listens_ephemeral_port
else
	fail http_listens_ephemeral_port "no port=: $(cat "$T/err")"
	finish
fi
url=http://127.0.0.1:$port

# status URL: the HTTP status code of a GET (curl's own options after URL)
status() {
	u=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$u"
}

if [ "$(curl -s --max-time 5 "$url/healthz")" = ok ] && [ "$(status "$url/healthz")" = 200 ]; then
	pass http_healthz
else
	fail http_healthz "no 200 ok"
fi

curl -s --max-time 5 -D "$T/mh" -o "$T/metrics" "$url/metrics"
if grep -qi '^content-type: text/plain; version=0.0.4' "$T/mh"; then
	pass http_metrics_content_type
else
	fail http_metrics_content_type "$(grep -i content-type "$T/mh")"
fi

# The text format, line by line: HELP/TYPE once per family and before its
# samples, valid names, label syntax with escapes, numeric values,
# histograms with cumulative buckets ending in +Inf equal to _count.
if python3 tests/tools/prom_check.py "$T/metrics" --need-histogram >"$T/check.out" 2>&1; then
	pass http_metrics_format
else
	fail http_metrics_format "$(head -n 3 "$T/check.out" | tr '\n' ' ')"
fi
# The checker itself must catch a broken exposition.
printf '# TYPE x counter\nx 1\nx{a="b} 2\n' >"$T/bad"
if python3 tests/tools/prom_check.py "$T/bad" >/dev/null 2>&1; then
	fail http_metrics_checker_catches_errors "accepted a broken exposition"
else
	pass http_metrics_checker_catches_errors
fi
if command -v promtool >/dev/null 2>&1; then
	if promtool check metrics <"$T/metrics" >"$T/promtool.out" 2>&1; then
		pass http_metrics_promtool
	else
		fail http_metrics_promtool "$(head -n 3 "$T/promtool.out" | tr '\n' ' ')"
	fi
else
	echo "SKIP: http_metrics_promtool (promtool not installed)"
fi
ok=1
for l in 'l4lb_test_ipc_rx_total 7' \
	'l4lb_test_backends{vip="10.0.0.1:80",protocol="tcp"} 3' \
	'l4lb_test_backends{vip="odd \"name\"\\\n",protocol="udp"} 0' \
	'l4lb_test_sync_duration_seconds_bucket{le="+Inf"} 2' \
	'l4lb_test_sync_duration_seconds_count 2'; do
	grep -qxF "$l" "$T/metrics" || { ok=0; echo "missing: $l"; }
done
if [ $ok = 1 ]; then pass http_metrics_values; else fail http_metrics_values "lines missing"; fi

if curl -s --max-time 5 "$url/v1/vips" |
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[0]["vip"]=="10.0.0.1:80"'; then
	pass http_registered_route
else
	fail http_registered_route "/v1/vips is not the registered JSON"
fi
check http_query_ignored test "$(status "$url/healthz?x=1")" = 200
check http_404 test "$(status "$url/nope")" = 404
check http_405_post test "$(status "$url/metrics" -X POST -d x=1)" = 405
check http_405_delete test "$(status "$url/healthz" -X DELETE)" = 405
# HEAD: the headers of a GET (with its Content-Length) and no body.
r=$(curl -s -I -o /dev/null -w '%{http_code} %{size_download}' --max-time 5 "$url/metrics")
if [ "$r" = "200 0" ]; then
	pass http_head
else
	fail http_head "status and body size: $r"
fi
check http_405_allow_header sh -c "curl -s -D - -o /dev/null -X PUT --max-time 5 '$url/metrics' |
	grep -qi '^allow: GET, HEAD'" 
big=$(head -c 20000 /dev/zero | tr '\0' a)
code=$(status "$url/healthz" -H "X-Big: $big")
case $code in
4*) pass http_oversized_headers_refused ;;
*) fail http_oversized_headers_refused "answered $code" ;;
esac

# Garbage and idle connections: answered or closed, the server lives on.
python3 - "$port" >"$T/raw.out" 2>&1 <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.create_connection(('127.0.0.1', port), timeout=10)
s.sendall(b'\x00\xffGARBAGE \r\n\r\n')
print('garbage:', s.recv(100).split(b'\r\n')[0].decode(errors='replace'))
s.close()
s = socket.create_connection(('127.0.0.1', port), timeout=10)
t = time.time()
s.sendall(b'GET /healthz HTTP/1.1\r\n')  # never finished
data = s.recv(100)
print('idle: closed after %.1f s' % (time.time() - t), repr(data[:20]))
PY
if grep -q '^garbage: HTTP/1.1 400' "$T/raw.out"; then
	pass http_garbage_400
else
	fail http_garbage_400 "$(head -n 1 "$T/raw.out")"
fi
t=$(sed -n 's/^idle: closed after \([0-9.]*\) s.*/\1/p' "$T/raw.out")
if [ -n "$t" ] && python3 -c "import sys; sys.exit(0 if 1 <= $t <= 6 else 1)"; then
	pass "http_idle_timeout (closed after ${t} s, timeout 2 s)"
else
	fail http_idle_timeout "$(cat "$T/raw.out" | tr '\n' ' ')"
fi
check http_alive_after_abuse test "$(status "$url/healthz")" = 200

# Nothing but the bound address: the same port is not served on another
# local address.
check http_bound_to_loopback_only sh -c "ss -ltnH 'sport = :$port' | grep -q '127.0.0.1:$port'"
finish
