#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# ipvsd --cleanup's nat part with the real iptables-nft on this machine, in a
# network namespace of its own (no IPVS needed: the IPVS part says there is
# none): ipvsd's chains and jumps (IPv4 and IPv6, a jump twice) go in one
# transaction per family and the other rules stay; a jump to ipvsd's chain
# that ipvsd did not make fails the transaction as a whole, leaving the
# table as it was; a second cleanup finds nothing. The legacy backend, and
# cleanup against a running ipvsd's rules, are tested in the VM
# (tests/vm/test_ipvsd_portmap.sh, test_ipvsd_cleanup.sh).
. tests/lib.sh
scratch_dir

need_netns "ipvsd cleanup nat"
need_cmd iptables-nft "ipvsd cleanup nat"

cat >"$T/run.sh" <<'RUN'
set -u
B=$1 T=$2
nat() { iptables-nft -w -t nat "$@" && ip6tables-nft -w -t nat "$@"; }
nat -N L4LB-VIPS && nat -N L4LB-MASQ || { echo "no nf_tables"; exit 3; }
nat -A OUTPUT -j L4LB-VIPS; nat -A OUTPUT -j L4LB-VIPS; nat -A PREROUTING -j L4LB-VIPS
nat -A POSTROUTING -j L4LB-MASQ
iptables-nft -w -t nat -A OUTPUT -p tcp --dport 80 -j DNAT --to-destination 10.1.1.1:80
nat -A POSTROUTING -p tcp -j L4LB-MASQ
tables() { iptables-nft-save -t nat; ip6tables-nft-save -t nat; }
tables | grep -v '^#' >"$T/before"
"$B/ipvsd" --cleanup --run-dir "$T" --state-dir "$T" >"$T/c1.log" 2>&1
echo "$?" >"$T/c1.rc"
tables | grep -v '^#' >"$T/after1"
nat -D POSTROUTING -p tcp -j L4LB-MASQ
"$B/ipvsd" --cleanup --run-dir "$T" --state-dir "$T" >"$T/c2.log" 2>&1
echo "$?" >"$T/c2.rc"
tables | grep -v '^#' >"$T/after2"
"$B/ipvsd" --cleanup --run-dir "$T" --state-dir "$T" >"$T/c3.log" 2>&1
echo "$?" >"$T/c3.rc"
RUN
unshare -n sh "$T/run.sh" "$B" "$T" >"$T/run.out" 2>&1
rc=$?
if [ "$rc" = 3 ]; then
	echo "SKIP: ipvsd cleanup nat (no nf_tables here: $(tail -n 1 "$T/run.out"))"
	exit 0
fi

rc1=$(cat "$T/c1.rc") rc2=$(cat "$T/c2.rc") rc3=$(cat "$T/c3.rc")
if [ "$rc1" = 1 ] && cmp -s "$T/before" "$T/after1" &&
	grep -q 'error: cleanup: iptables[a-z-]*-restore -w --noflush (2 chains, 4 jumps): .*failed' \
		"$T/c1.log"; then
	pass "cleanup nat: a foreign jump to ipvsd's chain: exit 1, logged, table unchanged"
else
	fail "cleanup nat: a foreign jump to ipvsd's chain: exit 1, logged, table unchanged" \
		"exit $rc1: $(diff "$T/before" "$T/after1" | head -n 3 | tr '\n' ' ')$(tail -n 3 \
		"$T/c1.log" | tr '\n' ' ')"
fi
removed='cleanup: ip6*tables[a-z-]*: removed 2 nat chains and 4 jumps'
if [ "$rc2" = 0 ] && ! grep -q L4LB "$T/after2" &&
	grep -q 'DNAT --to-destination 10.1.1.1:80' "$T/after2" &&
	[ "$(grep -c "$removed" "$T/c2.log")" = 2 ]; then
	pass "cleanup nat: ipvsd's chains and jumps gone (IPv4 and IPv6), the rest stays"
else
	fail "cleanup nat: ipvsd's chains and jumps gone (IPv4 and IPv6), the rest stays" \
		"exit $rc2: $(grep L4LB "$T/after2" | head -n 2 | tr '\n' ' ')$(tail -n 3 \
		"$T/c2.log" | tr '\n' ' ')"
fi
if [ "$rc3" = 0 ] && ! grep -q 'removed' "$T/c3.log" && grep -q 'cleanup: done' "$T/c3.log"; then
	pass "cleanup nat: a second cleanup finds nothing and exits 0"
else
	fail "cleanup nat: a second cleanup finds nothing and exits 0" \
		"exit $rc3: $(tail -n 3 "$T/c3.log" | tr '\n' ' ')"
fi
finish
