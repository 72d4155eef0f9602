#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Builds the binary package l4lb_<version>_<arch>.deb from `make install`
# with dpkg-deb (no debhelper needed):
#   contrib/debian/build-deb.sh [BUILD_DIR [OUT_DIR]]     (defaults: build, BUILD_DIR)
# The package holds the daemons (/usr/sbin), l4lbctl (/usr/bin), the systemd
# units (/lib/systemd/system), the sysusers entry for the l4lb user, the man
# pages, /etc/l4lb/l4lb.conf (a conffile: the example, every option
# commented out) and the examples under /usr/share/doc/l4lb/examples.
# Nothing is started by installing it: an operator sets the master in
# /etc/l4lb/l4lb.conf, then runs `systemctl enable --now l4lb.target`.
# Prints the path of the .deb on its last line.
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
out=${2:-$B}
here=contrib/debian

version=$(sed -n 's/^#define L4LB_VERSION "\(.*\)"/\1/p' common/version.h)
arch=$(dpkg --print-architecture)
[ -n "$version" ] || { echo "build-deb: no L4LB_VERSION in common/version.h" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
make -s --no-print-directory install B="$B" DESTDIR="$root" PREFIX=/usr \
	UNITDIR=/lib/systemd/system SYSUSERSDIR=/usr/lib/sysusers.d MANDIR=/usr/share/man

install -d "$root/etc/l4lb" "$root/usr/share/doc/l4lb/examples" "$root/DEBIAN"
install -m 0644 contrib/l4lb.conf "$root/etc/l4lb/l4lb.conf"
install -m 0644 contrib/l4lb.conf "$root/usr/share/doc/l4lb/examples/"
if [ -d contrib/haproxy ]; then
	install -d "$root/usr/share/doc/l4lb/examples/haproxy"
	install -m 0644 contrib/haproxy/* "$root/usr/share/doc/l4lb/examples/haproxy/"
fi
install -m 0644 "$here/copyright" "$root/usr/share/doc/l4lb/copyright"
gzip -9n <"$here/changelog" >"$root/usr/share/doc/l4lb/changelog.Debian.gz"
# Debian policy: man pages compressed, binaries stripped (the unstripped
# ones stay in the build directory for debugging).
find "$root/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$root"/usr/sbin/* "$root/usr/bin/l4lbctl"

# Shared-library dependencies as Debian computes them; dpkg-shlibdeps wants
# a debian/control in its working directory.
shl=$root/.shlibdeps
mkdir -p "$shl/debian"
printf 'Source: l4lb\n\nPackage: l4lb\nArchitecture: any\n' >"$shl/debian/control"
if command -v dpkg-shlibdeps >/dev/null 2>&1; then
	depends=$(cd "$shl" && dpkg-shlibdeps -O -e"$root"/usr/sbin/vipd -e"$root"/usr/sbin/overlayd \
		-e"$root"/usr/sbin/ipvsd -e"$root"/usr/bin/l4lbctl 2>/dev/null |
		sed -n 's/^shlibs:Depends=//p')
else
	echo "build-deb: dpkg-shlibdeps (dpkg-dev) missing: library dependencies left out" >&2
	depends=""
fi
rm -rf "$shl"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	-e "s/@DEPENDS@/${depends:+$depends, }adduser | systemd (>= 215)/" \
	"$here/control.in" >"$root/DEBIAN/control"
install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "$here/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
	xargs -0 md5sum) >"$root/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/l4lb_${version}_${arch}.deb
# --root-owner-group: files owned by root in the package whoever builds it.
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
