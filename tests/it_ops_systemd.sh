#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The systemd units: `make install` into a scratch prefix (so the units'
# ExecStart= paths exist), then `systemd-analyze verify` must print nothing
# about them, and the properties operators rely on are checked one by one.
. tests/lib.sh

need_cmd systemd-analyze "systemd_verify"
scratch_dir
prefix=$T/usr
units=$prefix/lib/systemd/system

if make -s --no-print-directory install B="$B" PREFIX="$prefix" >"$T/install.log" 2>&1; then
	pass systemd_install
else
	fail systemd_install "make install: $(tail -n 3 "$T/install.log" | tr '\n' ' ')"
	finish
fi

ok=1
for u in l4lb.target l4lb-vipd.service l4lb-overlayd.service l4lb-ipvsd.service; do
	[ -f "$units/$u" ] || { ok=0; fail "systemd_installed_$u" "missing $units/$u"; }
done
[ $ok = 1 ] && pass systemd_installed_units
check systemd_sysusers_installed grep -q '^u l4lb ' "$prefix/lib/sysusers.d/l4lb.conf"

# The installed units point to the installed binaries, and nothing is left
# unsubstituted.
ok=1
for d in vipd overlayd ipvsd; do
	grep -Eqx "ExecStart=$prefix/sbin/$d( .*)?" "$units/l4lb-$d.service" || ok=0
done
grep -q @SBINDIR@ "$units"/*.service && ok=0
if [ $ok = 1 ]; then pass systemd_execstart_sbindir; else fail systemd_execstart_sbindir \
	"ExecStart= does not point to $prefix/sbin"; fi

# verify prints warnings on stderr; any line at all is a failure (they all
# concern the units given, or their dependencies). It also runs man(1) on
# each Documentation=man: entry: our pages are installed in the prefix, so
# point MANPATH there (without man-db installed, that check is skipped).
manopt=--man=yes
command -v man >/dev/null 2>&1 || manopt=--man=no
(cd "$units" && MANPATH=$prefix/share/man systemd-analyze verify $manopt l4lb.target l4lb-vipd.service l4lb-overlayd.service \
	l4lb-ipvsd.service) >"$T/verify.log" 2>&1
rc=$?
if [ $rc = 0 ] && [ ! -s "$T/verify.log" ]; then
	pass systemd_analyze_verify
else
	fail systemd_analyze_verify "rc $rc: $(head -n 5 "$T/verify.log" | tr '\n' ' ')"
fi

# key=value present in a unit (exact line).
has() { grep -qx "$2" "$units/$1"; }
for d in vipd overlayd ipvsd; do
	u=l4lb-$d.service
	ok=1 why=""
	for kv in Type=notify Restart=always RuntimeDirectory=l4lb RuntimeDirectoryPreserve=yes \
		RuntimeDirectoryMode=0770 StateDirectory=l4lb NoNewPrivileges=yes \
		ProtectSystem=strict ProtectHome=yes PrivateTmp=yes User=l4lb Group=l4lb; do
		has "$u" "$kv" || { ok=0; why="$why $kv"; }
	done
	# Restarting one daemon must never stop or restart another one.
	if grep -E '^(Requires|BindsTo|Requisite|PartOf|After|Before)=.*l4lb-' "$units/$u" \
		>/dev/null; then
		ok=0
		why="$why dependency-on-another-daemon"
	fi
	if [ $ok = 1 ]; then pass "systemd_${d}_settings"; else fail "systemd_${d}_settings" \
		"missing:$why"; fi
done
for d in vipd overlayd; do
	u=l4lb-$d.service
	if has "$u" CapabilityBoundingSet= && has "$u" AmbientCapabilities=; then
		pass "systemd_${d}_no_capabilities"
	else
		fail "systemd_${d}_no_capabilities" "capabilities not emptied"
	fi
done
if has l4lb-ipvsd.service "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW" &&
	has l4lb-ipvsd.service "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW"; then
	pass systemd_ipvsd_capabilities
else
	fail systemd_ipvsd_capabilities "expected exactly CAP_NET_ADMIN CAP_NET_RAW"
fi
ok=1
for m in ip_vs ip_vs_wlc dummy; do
	has l4lb-ipvsd.service "ExecStartPre=-+/sbin/modprobe $m" || ok=0
done
if [ $ok = 1 ]; then pass systemd_ipvsd_modprobe; else fail systemd_ipvsd_modprobe \
	"ExecStartPre=-+/sbin/modprobe ip_vs/ip_vs_wlc/dummy missing"; fi
ok=1
for d in vipd overlayd ipvsd; do
	grep -q "^Wants=.*l4lb-$d.service" "$units/l4lb.target" || ok=0
done
if [ $ok = 1 ]; then pass systemd_target_groups_daemons; else fail \
	systemd_target_groups_daemons "l4lb.target does not want all three"; fi

# systemd's own exposure score of the sandboxing (0 best, 10 worst): the
# units stay at 2.5 or below. --offline reads the files, no systemd needed.
for d in vipd overlayd ipvsd; do
	if (cd "$units" && systemd-analyze security --offline=true --threshold=25 \
		"l4lb-$d.service") >"$T/sec-$d" 2>&1; then
		pass "systemd_security_exposure_$d ($(sed -n 's/.*exposure level for .*: \([0-9.]*\).*/\1/p' "$T/sec-$d"))"
	elif grep -q 'unrecognized option\|Unknown option' "$T/sec-$d"; then
		echo "SKIP: systemd_security_exposure_$d (systemd-analyze without --offline)"
	else
		fail "systemd_security_exposure_$d" "$(tail -n 1 "$T/sec-$d")"
	fi
done

# A broken unit must be caught: proves verify is not silent regardless.
sed 's|^ExecStart=.*|ExecStart=relative/path|' "$units/l4lb-vipd.service" \
	>"$T/l4lb-broken.service"
if (cd "$T" && systemd-analyze verify l4lb-broken.service) >"$T/broken.log" 2>&1 &&
	[ ! -s "$T/broken.log" ]; then
	fail systemd_verify_catches_errors "a relative ExecStart= passed verify"
else
	pass systemd_verify_catches_errors
fi

if make -s --no-print-directory uninstall B="$B" PREFIX="$prefix" >/dev/null 2>&1 &&
	[ -z "$(find "$units" "$prefix/lib/sysusers.d" -type f)" ]; then
	pass systemd_uninstall
else
	fail systemd_uninstall "files left: $(find "$units" -type f | head -n 3 | tr '\n' ' ')"
fi
finish
