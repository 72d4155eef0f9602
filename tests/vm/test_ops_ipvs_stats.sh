#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ipvsd's /metrics on a real kernel (tests/vm/run.sh tests/vm/test_ops_ipvs_stats.sh
# BUILD_DIR): one VIP with one backend; requests through the VIP raise the
# kernel's own counters for that VIP and that backend as ipvsd exports them,
# and the exposition stays well formed with those series in it; at 2,000
# services one scrape reads a bounded slice of the backends (the cache); the
# scrapes read on ipvsd's one IPVS socket (one generic netlink socket in all).
set -eu
. "$(dirname "$0")/lib.sh"
vm_only "${1:-build}" ipvsadm busybox python3

VIP=11.0.0.1
RUN=$VM_TMP/run
URL=http://127.0.0.1:61423/metrics
mkdir -p "$RUN"

bridge_new lan
ns_new node b1
ns_link lan node 10.0.0.1/24
ns_link lan b1 10.0.0.11/24
serve_http b1 8080 b1
n() { nx node "$@"; }

cat >"$VM_TMP/spec" <<SPEC
vip tcp $VIP 80 10.0.0.11:8080@10.0.0.11
reach 10.0.0.11
SPEC
"$B/tests/tools/ipvsd_feed" "$RUN" "$VM_TMP/spec" >"$VM_TMP/feed.log" 2>&1 &
ip netns exec "${VM_NS}node" "$B/ipvsd" --run-dir "$RUN" >"$VM_TMP/ipvsd.log" 2>&1 &
IPVSD=$!

# scrape: /metrics into $VM_TMP/metrics; fails on an HTTP error, or after
# 5 s. busybox wget, not curl: curl is not what is tested, and its start
# costs ~0.12 s under TCG (a busybox applet ~6 ms). timeout(1) rather than
# wget's -T, with which Debian 12's busybox wget crashes.
scrape() { n timeout 5 busybox wget -q -O "$VM_TMP/metrics" "$URL"; }
# value METRIC-PREFIX: the value of the first sample line holding it (one awk)
# (empty when there is no scrape yet, as before: the checks say what failed)
value() {
	awk -v m="$1" '!/^#/ && index($0, m) { print $NF; exit }' "$VM_TMP/metrics" 2>/dev/null ||
		true
}
VIPCONN="l4lb_ipvsd_vip_connections_total{vip=\"$VIP:80\",protocol=\"tcp\"}"
BECONN="l4lb_ipvsd_backend_connections_total{vip=\"$VIP:80\",protocol=\"tcp\",backend=\"10.0.0.11:8080\"}"
# (the VIP address comes once ipvsd's first nat rules check has finished)
programmed() { # (the address first: it comes last)
	_a=$(ip -n "${VM_NS}node" addr show dev minuteman 2>/dev/null) &&
		case $_a in *" $VIP/"*) ;; *) false ;; esac &&
		scrape && [ "$(value 'l4lb_ipvsd_backends ')" = 1 ] &&
		[ -n "$(value "$VIPCONN")" ]
}
if wait_until 60 programmed; then
	pass "metrics: ipvsd serves /metrics with the VIP's kernel counters"
else
	fail "metrics: ipvsd serves /metrics with the VIP's kernel counters" \
		"$(tail -n 2 "$VM_TMP/ipvsd.log" | tr '\n' ' ')"
fi
v0=$(value "$VIPCONN")
b0=$(value "$BECONN")
# five new connections, one client process (tests/tools/e2e_net, 2 s per
# connect and per answer): it prints "b1 5" when all five answered b1
ok=$(E2E_TIMEOUT_MS=2000 n "$B/tests/tools/e2e_net" get $VIP 80 5 2>/dev/null) || true
check_eq "metrics: five requests through the VIP answered" "b1 5" "$ok"
# the counters are cached for 2 s: wait for the next dump
moved() { scrape && [ "$(value "$VIPCONN")" -ge $((${v0:-0} + 5)) ] &&
	[ "$(value "$BECONN")" -ge $((${b0:-0} + 5)) ]; }
if wait_until 20 moved; then
	pass "metrics: VIP and backend connection counters rose by the requests"
else
	fail "metrics: VIP and backend connection counters rose by the requests" \
		"vip $v0 -> $(value "$VIPCONN"), backend $b0 -> $(value "$BECONN")"
fi
check "metrics: packets and bytes counted for the VIP" sh -c \
	"grep -q '^l4lb_ipvsd_vip_in_bytes_total{vip=\"$VIP:80\",protocol=\"tcp\"} [1-9]' $VM_TMP/metrics"
check "metrics: active/inactive connection gauges per backend" sh -c \
	"grep -q '^l4lb_ipvsd_backend_inactive_connections{vip=\"$VIP:80\"' $VM_TMP/metrics"
check "metrics: exposition well formed" python3 tests/tools/prom_check.py "$VM_TMP/metrics" \
	--need-histogram

# --- a scrape at scale reads the destinations of a bounded slice of the
# services (IPVS_STATS_SLICE, 128), not all of them: 2,000 foreign services ---
# (written by one awk: a shell loop of 2,000 rounds is slow under TCG)
awk 'BEGIN { for (i = 0; i < 2000; i++) {
	a = sprintf("192.168.%d.%d:80", int(i / 250), i % 250 + 1)
	print "-A -t " a " -s rr"
	print "-a -t " a " -r 10.0.0.99:80 -m -w 1"
} }' | n ipvsadm -R
dumps() { "$B/tests/tools/status_counter" "$RUN" ipvsd ipvs_stats_dest_dumps || echo 0; }
foreign() { grep -c '^l4lb_ipvsd_backend_connections_total{vip="192\.168\.' "$VM_TMP/metrics"; }
d0=$(dumps)
read_again() { scrape && [ "$(dumps)" -gt "$d0" ]; }
wait_until 20 read_again || true
d1=$(dumps) f1=$(foreign || true)
check "metrics: one scrape of 2,001 services reads at most 128 services' backends" \
	test $((d1 - d0)) -ge 1 -a $((d1 - d0)) -le 128
read_more() { scrape && [ "$(dumps)" -gt "$d1" ]; }
# (the socket check below needs a scrape that read the counters afresh)
fresh=
wait_until 20 read_more || fresh="no scrape read afresh: "
f2=$(foreign || true) d2=$(dumps)
# more than before, and no more than the services read since: the rest came
# from the cache (not f1 + 128: under load the refresh due every 2 s can
# read one more slice between two scrapes); and more than were read since,
# else none came from the cache (a scrape serving only what it read itself
# could still serve more than the first: 128 after 127)
since=$((d2 - d1))
check "metrics: the next scrape serves more of them from the cache ($f1 then $f2, $since read)" \
	test "${f2:-0}" -gt "${f1:-0}" -a "${f2:-0}" -gt "$since" \
	-a "${f2:-0}" -le $((${f1:-0} + since))
# genl_sockets PID: how many generic netlink (protocol 16) sockets PID holds
# (PID's /proc/PID/net/netlink, its namespace's table: the last column is
# the inode that PID's socket fds name, "socket:[INODE]" in `ls -l`: two
# processes, not a readlink per fd)
genl_sockets() {
	ls -l /proc/"$1"/fd 2>/dev/null | awk 'NR == FNR { if ($2 == 16) genl[$NF] = 1; next }
		$NF ~ /^socket:\[[0-9]+\]$/ { i = $NF; gsub(/[^0-9]/, "", i); if (genl[i]) c++ }
		END { print c + 0 }' /proc/"$1"/net/netlink -
}
# three samples, each right after a scrape: the first right after
# read_more's last, which read the counters afresh (they are read again
# every 2 s: no need to wait for that again), the next two after scrapes
# served from the cache. A second socket of the scrapes' own would be open
# then (it was closed only after a failed read, and opened at the next).
counts="$fresh$(genl_sockets "$IPVSD") "
for _i in 2 3; do
	scrape || true
	counts="$counts$(genl_sockets "$IPVSD") "
done
check_eq "metrics: while scraped ipvsd holds one generic netlink socket (IPVS's)" "1 1 1 " \
	"$counts"
vm_done
