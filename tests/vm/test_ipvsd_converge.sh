#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ipvsd's restart convergence on a real kernel (tests/vm/run.sh
# tests/vm/test_ipvsd_converge.sh BUILD_DIR):
# - ipvsd programs a table; `ipvsadm -Sn`, `ipset save` and the VIP
#   interface's addresses equal EXACTLY a listing built from the spec
#   (services, destinations with weight and forwarding method, members);
# - kill -9, the spec changes meanwhile (a backend added, one removed, a
#   weight changed, a VIP on a new address and one on an old address added),
#   restart: the log's "initial reconcile done: N changes" has the N this
#   change needs, and the kernel equals the new listing exactly;
# - a set member, a VIP address and a weight edited behind ipvsd's back are
#   repaired at the next full pass;
# - a restart with nothing changed: 0 changes, 0 IPVS writes, listing as it was;
# - a restart with --scheduler rr gives every service rr; a scheduler,
#   persistence (with a netmask) and the one-packet flag set behind ipvsd's
#   back are put back at the next full pass (ipvsd owns the whole definition).
set -eu
. "$(dirname "$0")/lib.sh"
vm_only "${1:-build}" ipvsadm ipset

RUN=$VM_TMP/run
SPEC=$VM_TMP/spec
IFACE=l4lbconv
mkdir -p "$RUN"
ns_new node
n() { nx node "$@"; }

start_ipvsd() { # [IPVSD_ARGS...]
	# after kill -9: the new ipvsd cannot bind ipvsd.rep while the old one
	# still listens there
	[ ! -f "$VM_TMP/ipvsd.pid" ] || wait_until 10 vm_dead "$(cat "$VM_TMP/ipvsd.pid")"
	# the log emptied here, not by the background job's redirection: that
	# runs whenever the job gets the CPU, and `started` could meanwhile find
	# the last run's "initial reconcile done" (seen once: the next look at
	# the log then read it empty)
	: >"$VM_TMP/ipvsd.log"
	ip netns exec "${VM_NS}node" "$B/ipvsd" --run-dir "$RUN" --state-dir "$VM_TMP/state" \
		--interface "$IFACE" --reconcile-interval 2 --http-listen off "$@" \
		>>"$VM_TMP/ipvsd.log" 2>&1 &
	echo $! >"$VM_TMP/ipvsd.pid"
}

# expected: what the kernel must hold for $SPEC (every agent reachable, so
# nothing withheld): the ipvsadm -Sn lines, the ipset members, the addresses.
# $SCHED: the scheduler (default wlc).
expected() {
	awk -v sched="${SCHED:-wlc}" '
	function hostport(a, p) { return (a ~ /:/ ? "[" a "]" : a) ":" p }
	$1 == "vip" {
		f = $2 == "udp" ? "-u" : "-t"
		s = hostport($3, $4)
		print "-A " f " " s " -s " sched
		for (i = 5; i <= NF; i++) {
			b = $i; w = 1
			if (b ~ /#/) { w = b; sub(/.*#/, "", w); sub(/#.*/, "", b) }
			sub(/@.*/, "", b)
			print "-a " f " " s " -r " b " -m -w " w
		}
		print "add " ($3 ~ /:/ ? "l4lb-vips6" : "l4lb-vips4") " " $3 "," $2 ":" $4
		print "addr " $3 ($3 ~ /:/ ? "/128" : "/32")
	}' "$SPEC" | sort -u
}
actual() {
	{
		n ipvsadm -Sn
		n ipset save | grep '^add l4lb-'
		n ip -o addr show dev "$IFACE" | awk '$4 !~ /^fe80:/ { print "addr " $4 }'
	} | sort -u
}
# matches: the kernel holds exactly the lines of $VM_TMP/want (written by
# expected before a wait: the spec does not change during one). The three
# listings go straight into one awk, which keeps what actual keeps and
# compares the sets of lines: what sort -u and cmp did, in fewer processes.
matches() {
	{
		n ipvsadm -Sn
		n ipset save
		n ip -o addr show dev "$IFACE"
	} | awk 'FNR == NR { want[$0] = 1; nwant++; next }
		/^-[Aa] / { l = $0 }
		/^add l4lb-/ { l = $0 }
		$1 ~ /^[0-9]+:$/ && $3 ~ /^inet6?$/ { if ($4 ~ /^fe80:/) next; l = "addr " $4 }
		l == "" { next }
		!(l in got) { got[l] = 1; ngot++; if (!(l in want)) bad = 1 }
		{ l = "" }
		END { exit bad || ngot != nwant }' "$VM_TMP/want" -
}
# the difference, for a failure's reason (one line)
differs() {
	actual >"$VM_TMP/got"
	diff "$VM_TMP/want" "$VM_TMP/got" | grep '^[<>]' | tr '\n' ' '
}
edited() { ! matches; }
check_matches() { # NAME SECONDS
	expected >"$VM_TMP/want"
	if wait_until "$2" matches; then
		pass "$1"
	else
		fail "$1" "$(differs)"
	fi
}
# started: wait for the restarted ipvsd's first pass; if it does not come,
# the log's last lines say why (as comments)
started() {
	wait_until 30 grep -q "initial reconcile done" "$VM_TMP/ipvsd.log" ||
		tail -n 3 "$VM_TMP/ipvsd.log" | sed 's/^/# ipvsd.log: /'
}
# initial: N and W of the restart's "initial reconcile done: N changes, W
# IPVS writes" line, as "N W"
initial() {
	sed -n 's/.*initial reconcile done: \([0-9]*\) changes, \([0-9]*\) IPVS writes.*/\1 \2/p' \
		"$VM_TMP/ipvsd.log" | head -n 1
}

cat >"$SPEC" <<SPEC
vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.0.11 10.0.0.12:8080@10.0.0.12#2
vip udp 11.0.0.1 53 10.0.0.11:5353@10.0.0.11 10.0.0.12:5353@10.0.0.12
vip tcp fd01:c::1 80 [fd00::11]:8080@10.0.0.11 [fd00::12]:8080@10.0.0.12#3
vip tcp 11.0.0.3 443 10.0.0.13:8443@10.0.0.13
reach 10.0.0.11 10.0.0.12 10.0.0.13
SPEC
"$B/tests/tools/ipvsd_feed" "$RUN" "$SPEC" >"$VM_TMP/feed.log" 2>&1 &
start_ipvsd
check_matches "ipvsd programs exactly the spec (services, weights, Masq, members, addresses)" 60

# --- kill -9, the spec changes meanwhile, restart ---
kill -9 "$(cat "$VM_TMP/ipvsd.pid")"
cat >"$SPEC" <<SPEC
vip tcp 11.0.0.1 80 10.0.0.11:8080@10.0.0.11 10.0.0.12:8080@10.0.0.12#2 10.0.0.13:8080@10.0.0.13
vip udp 11.0.0.1 53 10.0.0.11:5353@10.0.0.11
vip tcp fd01:c::1 80 [fd00::11]:8080@10.0.0.11 [fd00::12]:8080@10.0.0.12#5
vip tcp 11.0.0.3 443 10.0.0.13:8443@10.0.0.13
vip tcp 11.0.0.1 8080 10.0.0.12:9090@10.0.0.12#4
vip udp 11.0.0.4 53 10.0.0.13:5353@10.0.0.13
reach 10.0.0.11 10.0.0.12 10.0.0.13
SPEC
wait_until 10 grep -q "vips=6" "$VM_TMP/feed.log"
start_ipvsd
started
# add-dest (80), del-dest (UDP 53: at once), set-dest (weight 3 -> 5),
# 11.0.0.1:8080: add-service, add-dest, add-member; 11.0.0.4:53: add-service,
# add-dest, add-member, add-address
check_eq "restart after a change: initial reconcile done with 10 changes" 10 \
	"$(initial | cut -d' ' -f1)"
check_matches "... and the kernel equals the changed spec exactly" 20

# --- edits behind ipvsd's back, repaired at the next full pass ---
n ipset del l4lb-vips4 11.0.0.1,udp:53
n ip addr del 11.0.0.4/32 dev "$IFACE"
n ip addr del fd01:c::1/128 dev "$IFACE"
n ipvsadm -e -t 11.0.0.1:80 -r 10.0.0.13:8080 -m -w 9
check_matches "a deleted set member, VIP addresses and a changed weight are repaired" 15

# --- restart with nothing changed ---
n ipvsadm -Sn | sort >"$VM_TMP/before"
kill -9 "$(cat "$VM_TMP/ipvsd.pid")"
start_ipvsd
started
check_eq "restart with nothing changed: 0 changes, 0 IPVS writes" "0 0" "$(initial)"
n ipvsadm -Sn | sort >"$VM_TMP/after"
check "... IPVS exactly as before" cmp -s "$VM_TMP/before" "$VM_TMP/after"
check_matches "... and everything still equals the spec" 5

# --- another scheduler; the services' definition edited behind ipvsd's back ---
kill -9 "$(cat "$VM_TMP/ipvsd.pid")"
SCHED=rr
start_ipvsd --scheduler rr
started
check_eq "restart with --scheduler rr: one change per service (6)" 6 "$(initial | cut -d' ' -f1)"
check_matches "... and every service has scheduler rr" 10
# (ipvsd stopped meanwhile: its pass every 2 s would repair them mid-way)
kill -STOP "$(cat "$VM_TMP/ipvsd.pid")"
n ipvsadm -E -t 11.0.0.1:80 -s wlc
n ipvsadm -E -t 11.0.0.3:443 -s rr -p 300
n ipvsadm -E -t "[fd01:c::1]:80" -s rr -p 60 -M 64
n ipvsadm -E -u 11.0.0.4:53 -s rr -o
check "the edits show in ipvsadm -Sn" edited
kill -CONT "$(cat "$VM_TMP/ipvsd.pid")"
check_matches "a scheduler, persistence, a netmask and a flag set by hand are repaired" 15

kill "$(cat "$VM_TMP/ipvsd.pid")" 2>/dev/null || true
vm_done
