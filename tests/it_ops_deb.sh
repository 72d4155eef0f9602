#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The Debian package: contrib/debian/build-deb.sh builds it, dpkg-deb
# checks its control data, `dpkg -x` unpacks it into a scratch root (never
# into this system) and the files operators need are there and usable.
. tests/lib.sh

need_cmd dpkg-deb "deb"
scratch_dir

if contrib/debian/build-deb.sh "$B" "$T/out" >"$T/build.log" 2>&1; then
	deb=$(tail -n 1 "$T/build.log")
	pass "deb_builds ($(basename "$deb"), $(($(stat -c %s "$deb") / 1024)) KiB)"
else
	fail deb_builds "$(tail -n 3 "$T/build.log" | tr '\n' ' ')"
	finish
fi

f() { dpkg-deb -f "$deb" "$1"; }
if [ "$(f Package)" = l4lb ] && [ "$(f Architecture)" = "$(dpkg --print-architecture)" ] &&
	f Depends | grep -q libc6 && f Depends | grep -q libnanomsg; then
	pass deb_control
else
	fail deb_control "Package=$(f Package) Depends=$(f Depends)"
fi
dpkg-deb -e "$deb" "$T/ctl"
ok=1
for s in postinst prerm postrm; do
	sh -n "$T/ctl/$s" || ok=0
done
grep -qx /etc/l4lb/l4lb.conf "$T/ctl/conffiles" || ok=0
if [ $ok = 1 ]; then pass deb_maintainer_scripts_and_conffiles; else fail \
	deb_maintainer_scripts_and_conffiles "syntax error or conffile missing"; fi

root=$T/root
mkdir "$root"
if dpkg -x "$deb" "$root"; then pass deb_unpacks; else fail deb_unpacks "dpkg -x failed"; fi
missing=""
for p in usr/sbin/vipd usr/sbin/overlayd usr/sbin/ipvsd usr/bin/l4lbctl \
	lib/systemd/system/l4lb-vipd.service lib/systemd/system/l4lb-overlayd.service \
	lib/systemd/system/l4lb-ipvsd.service lib/systemd/system/l4lb.target \
	usr/lib/sysusers.d/l4lb.conf etc/l4lb/l4lb.conf usr/share/doc/l4lb/copyright \
	usr/share/doc/l4lb/examples/l4lb.conf usr/share/man/man8/vipd.8.gz \
	usr/share/man/man8/overlayd.8.gz usr/share/man/man8/ipvsd.8.gz \
	usr/share/man/man8/l4lbctl.8.gz usr/share/man/man5/l4lb.conf.5.gz; do
	[ -e "$root/$p" ] || missing="$missing $p"
done
if [ -z "$missing" ]; then pass deb_files_present; else fail deb_files_present "missing:$missing"; fi
check deb_units_point_to_usr_sbin grep -qx 'ExecStart=/usr/sbin/vipd' \
	"$root/lib/systemd/system/l4lb-vipd.service"
# The packaged programs run (from the scratch root) and the packaged config
# is accepted by every daemon.
ok=1
for d in vipd overlayd ipvsd; do
	"$root/usr/sbin/$d" --check-config --config "$root/etc/l4lb/l4lb.conf" >/dev/null 2>&1 || ok=0
done
"$root/usr/bin/l4lbctl" --version >/dev/null 2>&1 || ok=0
if [ $ok = 1 ]; then pass deb_programs_run; else fail deb_programs_run \
	"a packaged program failed --check-config/--version"; fi
if command -v man >/dev/null 2>&1 && man -l "$root/usr/share/man/man8/vipd.8.gz" 2>/dev/null |
	grep -q 'check-config'; then
	pass deb_man_page_renders
else
	echo "SKIP: deb_man_page_renders (no man)"
fi
# Nothing outside the scratch root changed: the package is not installed.
if dpkg-query -W l4lb >/dev/null 2>&1; then
	fail deb_not_installed_on_host "l4lb is installed on this machine"
else
	pass deb_not_installed_on_host
fi
if command -v lintian >/dev/null 2>&1; then
	lintian --no-tag-display-limit "$deb" >"$T/lintian" 2>&1
	if grep -q '^E:' "$T/lintian"; then
		fail deb_lintian "$(grep '^E:' "$T/lintian" | head -n 3 | tr '\n' ' ')"
	else
		pass deb_lintian
	fi
else
	echo "SKIP: deb_lintian (lintian not installed)"
fi
finish
