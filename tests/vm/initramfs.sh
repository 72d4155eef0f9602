#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Build (once per set of inputs) the initramfs that boots the VM: busybox-static,
# init.sh as /init, and the kernel modules it loads before mounting the host's root.
# Usage: initramfs.sh [KERNEL_DIR] (default: what kernel.sh prints).
# Prints the path of the cpio archive on stdout.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

vm_need busybox busybox-static
busybox=$(command -v busybox)
vm_need sha256sum coreutils

# What the tests need from the kernel, loaded explicitly so that a missing module
# fails at boot rather than as a puzzling test failure. Anything else a test
# needs is loaded on demand through modprobe (see init.sh).
# crc32c_generic comes first: libcrc32c (under nf_conntrack, nf_tables) only
# names it as a soft dependency, which modules.dep does not record.
MODULES="
	crc32c_generic
	virtio_pci 9pnet_virtio 9p
	dummy veth bridge sch_netem
	nf_conntrack nf_nat
	ip_vs ip_vs_rr ip_vs_wlc
	ip_set ip_set_hash_ip ip_set_hash_ipport
	x_tables xt_ipvs xt_MASQUERADE xt_set xt_nat xt_addrtype xt_conntrack xt_comment
	xt_tcpudp xt_mark
	nf_tables nft_compat nft_chain_nat nft_nat nft_masq nft_ct
	ip_tables iptable_filter iptable_nat
	ip6_tables ip6table_filter ip6table_nat
"

kdir=${1:-$("$here/kernel.sh")}
kver=$(cat "$kdir/kernel-version")
mdir=$kdir/lib/modules/$kver

# Rebuild whenever the kernel, busybox, the module list or the scripts change.
key=$({
	echo "$kdir"
	cat "$here/initramfs.sh" "$here/init.sh"
	sha256sum <"$busybox"
} | sha256sum | cut -c1-16)
out=$VM_CACHE/initramfs-$key.cpio
if [ -f "$out" ]; then
	echo "$out"
	exit 0
fi

# Load order: every module after all of its dependencies (a depth-first walk
# of modules.dep). Names use '_' as the kernel does; files may use '-'.
order=$(echo $MODULES | awk -v dep="$mdir/modules.dep" -v builtin="$mdir/modules.builtin" '
	function name(path,  n) {
		n = path; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n)
		gsub(/-/, "_", n); return n
	}
	function visit(m,  i, n, d) {
		if (m in done) return
		done[m] = 1
		if (!(m in file)) {
			if (!(m in isbuiltin)) missing = missing " " m
			return
		}
		n = split(deps[m], d, " ")
		for (i = 1; i <= n; i++) visit(name(d[i]))
		print file[m]
	}
	BEGIN {
		while ((getline line < builtin) > 0) isbuiltin[name(line)] = 1
		while ((getline line < dep) > 0) {
			split(line, f, ":"); m = name(f[1])
			file[m] = f[1]; deps[m] = f[2]
		}
	}
	{ for (i = 1; i <= NF; i++) visit($i) }
	END { if (missing != "") { print "missing:" missing; exit 1 } }
') || vm_die "modules not in kernel $kver:${order#*missing:}"

tmp=$(mktemp -d "$VM_CACHE/.initramfs.XXXXXX")
trap 'rm -rf "$tmp" "$tmp.cpio"' EXIT
mkdir -p "$tmp/bin" "$tmp/modules" "$tmp/dev" "$tmp/proc" "$tmp/sys" \
	"$tmp/root" "$tmp/results" "$tmp/kernel" "$tmp/host"
cp "$busybox" "$tmp/bin/busybox"
cp "$here/init.sh" "$tmp/init"
chmod 755 "$tmp/init"

# busybox insmod reads only plain .ko files, so decompress the ones a newer
# Debian kernel ships compressed (.ko.xz, .ko.zst).
i=0
for f in $order; do
	i=$((i + 1))
	base=$(printf '%02d-%s' "$i" "$(basename "${f%%.ko*}").ko")
	case $f in
	*.ko) cp "$mdir/$f" "$tmp/modules/$base" ;;
	*.ko.xz) vm_need xz xz-utils && xz -dc "$mdir/$f" >"$tmp/modules/$base" ;;
	*.ko.zst) vm_need zstd zstd && zstd -qdc "$mdir/$f" >"$tmp/modules/$base" ;;
	*.ko.gz) gzip -dc "$mdir/$f" >"$tmp/modules/$base" ;;
	*) vm_die "unknown module format: $f" ;;
	esac
	echo "$base" >>"$tmp/modules/order"
done

# Uncompressed: the kernel unpacks it faster than it could gunzip under TCG,
# and the file stays in the cache only.
(cd "$tmp" && find . | LC_ALL=C sort | busybox cpio -o -H newc -R 0:0 2>/dev/null) >"$tmp.cpio"
rm -f "$VM_CACHE"/initramfs-*.cpio
mv "$tmp.cpio" "$out"
vm_log "initramfs with $i modules built: $out"
echo "$out"
