#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Fetch and unpack the stock Debian kernel once, into the VM cache directory.
# L4LB_VM_KERNEL_PKG picks another kernel package than linux-image-amd64.
# Prints the unpacked tree (it holds boot/vmlinuz-* and lib/modules/*) on stdout.
#
# The kernel is Debian's own, not one we configure, so the VM tests see the same
# IPVS/ipset/netfilter code a production Debian node runs.
set -eu
. "$(dirname "$0")/common.sh"

vm_need apt-cache apt
vm_need dpkg dpkg
vm_need depmod kmod

# kernel_pkg PKG: "name version" of the kernel image PKG stands for, following
# a metapackage (linux-image-amd64) to the versioned package it pins. One
# apt-cache call, as each one costs half a second.
kernel_pkg() {
	apt-cache show --no-all-versions "$1" 2>/dev/null | awk '
		$1 == "Package:" { pkg = $2 }
		$1 == "Version:" { ver = $2 }
		$1 == "Depends:" && match($0, /linux-image-[^ ,]* \(= [^)]*\)/) {
			split(substr($0, RSTART, RLENGTH), d, /[ ()=]+/)
			pkg = d[1]; ver = d[2]
		}
		END { if (pkg != "" && ver != "") print pkg, ver }'
}

want=${L4LB_VM_KERNEL_PKG:-linux-image-amd64}
found=$(kernel_pkg "$want")
if [ -z "$found" ]; then
	# A fresh machine may have no package lists yet; refresh only then, as
	# apt-get update is slow and needs the network.
	vm_log "$want unknown to apt, running apt-get update"
	apt-get update -qq >&2 || vm_die "apt-get update failed (are you root?)"
	found=$(kernel_pkg "$want")
	[ -n "$found" ] || vm_die "apt knows no package $want"
fi
pkg=${found% *}
ver=${found#* }

# pvh_image DIR: DIR/boot/vmlinux-KVER, the kernel proper that the bzImage
# vmlinuz-KVER carries compressed, when the kernel can be booted that way
# (CONFIG_PVH: qemu then enters it directly). Under TCG, the bzImage's own
# xz decompression took 3 of the 8 seconds of a boot. Without a PVH entry,
# or a payload this cannot unpack, there is no vmlinux and run.sh boots the
# bzImage as before.
pvh_image() {
	_kv=$(cat "$1/kernel-version")
	_bz=$1/boot/vmlinuz-$_kv _out=$1/boot/vmlinux-$_kv
	[ -f "$_out" ] && return 0
	grep -q '^CONFIG_PVH=y' "$1/boot/config-$_kv" 2>/dev/null || return 0
	# The boot protocol's header: setup_sects at 0x1f1 (0 means 4), and the
	# payload's offset and length (0x248, 0x24c) after the setup sectors.
	_u() { od -An -t "u$2" -j "$1" -N "$2" "$_bz" | tr -d ' '; }
	_ss=$(_u 497 1)
	[ "$_ss" = 0 ] && _ss=4
	_off=$(((_ss + 1) * 512 + $(_u 584 4)))
	case $(od -An -t x1 -j "$_off" -N 4 "$_bz" | tr -d ' ') in
	fd377a58) _unz="xz -dc --single-stream" ;;
	1f8b*) _unz="gzip -dc" ;;
	28b52ffd) _unz="zstd -qdc" ;;
	*) vm_log "kernel payload format unknown: booting the bzImage" && return 0 ;;
	esac
	if ! command -v "${_unz%% *}" >/dev/null 2>&1; then
		vm_log "no ${_unz%% *} to unpack the kernel: booting the bzImage" \
			"(see tests/vm/packages.txt)"
		return 0
	fi
	# The payload ends in the size it unpacks to (4 bytes, little-endian),
	# which a decompressor may call trailing garbage and fail on (zstd does).
	# So its exit status says nothing (and must not stop this script under
	# set -e): the result counts, an ELF file of exactly that size, as a
	# corrupt or cut payload unpacks to a truncated ELF file.
	_len=$(_u 588 4) _part=$_out.$$
	tail -c +$((_off + 1)) "$_bz" | head -c "$_len" | $_unz >"$_part" 2>/dev/null || :
	if [ "$(od -An -c -N 4 "$_part" | tr -d ' ')" = '177ELF' ] &&
		[ "$(wc -c <"$_part")" = "$(_u $((_off + _len - 4)) 4)" ]; then
		mv "$_part" "$_out"
	else
		rm -f "$_part"
		vm_log "could not unpack the kernel's payload: booting the bzImage"
	fi
}

# A scratch file or directory is removed however the script ends (an
# interrupted unpacking must not leave a partial file in the cache).
tmp= _part=
trap 'rm -rf ${tmp:+"$tmp"} ${_part:+"$_part"}' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

dir=$VM_CACHE/kernel/${pkg}_$ver
if [ -f "$dir/.done" ]; then
	pvh_image "$dir"
	echo "$dir"
	exit 0
fi

mkdir -p "$VM_CACHE/kernel"
# Unpack into a scratch directory and rename at the end, so an interrupted run
# never leaves a half-unpacked kernel that looks complete.
tmp=$(mktemp -d "$VM_CACHE/kernel/.tmp.XXXXXX")

vm_log "downloading $pkg $ver"
# apt-get download writes into the current directory; as root it warns that the
# _apt sandbox user cannot write there, which is harmless (once per kernel).
(cd "$tmp" && apt-get download -qq "$pkg=$ver" >&2) ||
	vm_die "apt-get download $pkg=$ver failed"
deb=$(ls "$tmp"/*.deb)
dpkg -x "$deb" "$tmp/root"
rm -f "$deb"

kver=$(ls "$tmp/root/lib/modules")
[ -f "$tmp/root/boot/vmlinuz-$kver" ] || vm_die "no boot/vmlinuz-$kver in $pkg"
# modules.dep is generated at install time, not shipped: build it here so that
# initramfs.sh can order the modules.
depmod -b "$tmp/root" "$kver"
echo "$kver" >"$tmp/root/kernel-version"
pvh_image "$tmp/root"
touch "$tmp/root/.done"

# Another run may have unpacked the same kernel meanwhile, and be using it.
if [ ! -f "$dir/.done" ]; then
	rm -rf "$dir"
	mv "$tmp/root" "$dir"
fi
vm_log "kernel $kver unpacked in $dir"
echo "$dir"
