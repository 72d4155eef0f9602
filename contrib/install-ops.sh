#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Installs (or with -u removes) what operators need besides the binaries:
# the systemd units (with @SBINDIR@ replaced), the sysusers.d entry for the
# l4lb user and the man pages. Called by `make install` / `make uninstall`:
#   install-ops.sh [-u] DESTDIR SBINDIR UNITDIR SYSUSERSDIR MANDIR
set -eu
cd "$(dirname "$0")/.."
remove=0
if [ "${1:-}" = -u ]; then
	remove=1
	shift
fi
[ $# = 5 ] || { echo "usage: $0 [-u] DESTDIR SBINDIR UNITDIR SYSUSERSDIR MANDIR" >&2; exit 2; }
dest=$1 sbindir=$2 unitdir=$3 sysusersdir=$4 mandir=$5

units="l4lb.target"
for f in contrib/systemd/*.service.in; do
	units="$units $(basename "$f" .in)"
done
if [ $remove = 1 ]; then
	for u in $units; do rm -f "$dest$unitdir/$u"; done
	rm -f "$dest$sysusersdir/l4lb.conf"
	for m in contrib/man/*.[0-9]; do
		[ -f "$m" ] || continue
		s=${m##*.}
		rm -f "$dest$mandir/man$s/$(basename "$m")"
	done
	exit 0
fi

install -d "$dest$unitdir" "$dest$sysusersdir"
for f in contrib/systemd/*.service.in; do
	# '|' as the delimiter: paths contain '/', never '|'.
	sed "s|@SBINDIR@|$sbindir|g" "$f" >"$dest$unitdir/$(basename "$f" .in)"
	chmod 0644 "$dest$unitdir/$(basename "$f" .in)"
done
install -m 0644 contrib/systemd/l4lb.target "$dest$unitdir/"
install -m 0644 contrib/systemd/l4lb.sysusers "$dest$sysusersdir/l4lb.conf"
for m in contrib/man/*.[0-9]; do
	[ -f "$m" ] || continue
	s=${m##*.}
	install -d "$dest$mandir/man$s"
	install -m 0644 "$m" "$dest$mandir/man$s/"
done
