#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# overlayd identities beyond plain IPv4, open mode (no cluster key), in a
# network namespace of its own (IPv6 addresses on its loopback and on
# the two ends of a veth pair):
# - two IPv6 nodes form a cluster;
# - a node given --node-ip ::ffff:a.b.c.d is the IPv4 node a.b.c.d: an
#   IPv4 peer accepts it (it compared a 16-byte id with a 4-byte source);
# - an IPv6 node joining through an IPv4 seed is refused by it, counted as
#   overlay_identity_refused and logged as the other address family, and
#   the IPv6 node warns (a node's identity is one address);
# - two link-local IPv6 nodes (fe80::, one on each end of the veth pair)
#   form a cluster (their sockets got no scope, so they could neither
#   listen nor connect).
# Needs root.
set -u
B=${1:-build}
. tests/lib.sh
NS=ovlfam$$
T=$(mktemp -d)
cleanup() {
	kill_all
	ip netns del "$NS" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "logs kept in $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

if [ "$(id -u)" != 0 ] || ! ip netns add "$NS" 2>/dev/null; then
	echo "SKIP: overlayd_family (needs root and network namespaces)"
	exit 0
fi
ip -n "$NS" link set lo up
ip -n "$NS" addr add fd00::1/128 dev lo
ip -n "$NS" addr add fd00::2/128 dev lo
ip -n "$NS" addr add fd00::5/128 dev lo
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up
ip -n "$NS" addr add fe80::a/64 dev v0 nodad
ip -n "$NS" addr add fe80::b/64 dev v1 nodad

start() { # name listen seed [options]
	mkdir -p "$T/$1"
	name=$1 listen=$2 seed=$3
	shift 3
	spawn ip netns exec "$NS" "$B/overlayd" --run-dir "$T/$name" --state-dir "$T/$name" \
		--http-listen off --listen "$listen" --seeds "$seed" "$@" 2>>"$T/$name/log"
}
sees() { # NAME IP: NAME reports IP reachable
	"$B/l4lbctl" --run-dir "$T/$1" --timeout 500 nodes --json 2>/dev/null |
		grep -q "\"ip\":\"$2\",\"reachable\":true"
}
both() { sees "$1" "$2" && sees "$3" "$4"; }
counter() { "$B/tests/tools/status_counter" "$T/$1" overlayd "$2"; }

start a "[fd00::1]:61420" "[fd00::2]"
start b "[fd00::2]:61420" "[fd00::1]"
start c 127.0.81.3:61420 127.0.81.4 --node-ip ::ffff:127.0.81.3
start d 127.0.81.4:61420 127.0.81.3
start f "[fe80::a]:61420" "[fe80::b]"
start g "[fe80::b]:61420" "[fe80::a]"

if wait_for 15 both a fd00::2 b fd00::1; then pass overlayd_family_ipv6_forms; else
	fail overlayd_family_ipv6_forms "$(tail -3 "$T/a/log")"
fi

if wait_for 15 both c 127.0.81.4 d 127.0.81.3 &&
	"$B/l4lbctl" --run-dir "$T/c" nodes --json | grep -q '"self":"127.0.81.3"' &&
	[ "$(counter d overlay_identity_refused)" = 0 ]; then
	pass overlayd_family_mapped_node_ip_is_ipv4
else
	fail overlayd_family_mapped_node_ip_is_ipv4 \
		"refused $(counter d overlay_identity_refused); $(tail -2 "$T/d/log")"
fi

if wait_for 15 both f fe80::b g fe80::a; then pass overlayd_family_link_local_forms; else
	fail overlayd_family_link_local_forms "$(tail -3 "$T/f/log")"
fi

# an IPv6 identity joining through an IPv4 seed: refused there, explained
start e "[fd00::5]:61420" 127.0.81.4
refused() {
	[ "$(counter d overlay_identity_refused)" -gt 0 ] &&
		grep -q "claims to be \[fd00::5\].*other address family" "$T/d/log" &&
		grep -q "refuse an identity of the other family" "$T/e/log"
}
if wait_for 10 refused && ! sees d fd00::5; then pass overlayd_family_mixed_refused_explained
else
	fail overlayd_family_mixed_refused_explained \
		"refused $(counter d overlay_identity_refused); $(tail -2 "$T/d/log"); $(tail -2 "$T/e/log")"
fi
finish
