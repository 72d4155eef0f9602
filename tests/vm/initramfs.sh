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
	virtio_pci 9pnet_virtio 9p overlay
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

# The fast layer: the commands the VM suites start most often, the libraries
# of the daemons and test tools (by name, as the Makefile links them),
# every library those load, iptables' extensions, ld.so.cache, and the
# symbolic links on the way to each (top-level ones like /lib -> usr/lib
# too). init.sh lays it over the 9p root, read-only: a process start then
# finds its binary and libraries in memory instead of sending qemu a dozen or
# more 9p requests (walk, open, readlink, clunk), which cost about a third of
# each start, and of the VM suites' time. A command or library not found is
# left out; whatever is not in the layer is read from 9p as before.
FAST_COMMANDS="
	sh nsenter ip ipvsadm ipset iptables ip6tables iptables-save ip6tables-save
	iptables-restore ip6tables-restore iptables-legacy ip6tables-legacy
	iptables-legacy-save ip6tables-legacy-save iptables-nft ip6tables-nft
	iptables-nft-save ip6tables-nft-save nft sysctl modprobe curl timeout
	awk grep sed sort cat date mkdir rm mv cp wc head tail cut tr sleep seq cmp
	mktemp tee env ls uniq od stat readlink dirname basename touch chmod rmdir mkfifo
	iptables-legacy-restore ip6tables-legacy-restore iptables-nft-restore
	ip6tables-nft-restore busybox
"
FAST_LIBS="libnanomsg libprotobuf-c libevent-2.1 libyajl libnl-3 libnl-genl-3 libnl-route-3
	libipset libcurl"

kdir=${1:-$("$here/kernel.sh")}
kver=$(cat "$kdir/kernel-version")
mdir=$kdir/lib/modules/$kver

# on_the_way PATH...: each PATH that is a file or a symbolic link, its
# directory resolved, and, while it is a link, what it points to, the same
# way. All paths step by step together: a few processes per step, not per
# path.
on_the_way() {
	_todo=$*
	_steps=0
	while [ -n "$_todo" ] && [ "$_steps" -lt 10 ]; do
		_steps=$((_steps + 1))
		set -- $_todo
		_res=
		for _d in $(for _p; do printf '%s/.\n' "${_p%/*}"; done | xargs readlink -m --); do
			_res="$_res ${_d%/}/${1##*/}"
			shift
		done
		_links=
		# by the file type bits of the raw mode (hex): %F has spaces, and
		# "regular empty file" came out as a path of its own
		for _l in $(stat -c '%f:%n' -- $_res 2>/dev/null); do
			case $_l in
			a???:*) _links="$_links ${_l#*:}" && echo "${_l#*:}" ;;
			8???:*) echo "${_l#*:}" ;;
			esac
		done
		[ -n "$_links" ] || break
		set -- $_links
		_todo=
		for _t in $(readlink -- "$@"); do
			case $_t in /*) ;; *) _t=${1%/*}/$_t ;; esac
			_todo="$_todo $_t"
			shift
		done
	done
}
# fast_files: every path of the fast layer, sorted, once.
fast_files() {
	_elf=
	# found as the job finds them (init.sh's PATH)
	_path=$PATH
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	for _c in $FAST_COMMANDS; do
		_f=$(command -v "$_c" 2>/dev/null) || continue
		case $_f in /*) _elf="$_elf $_f" ;; esac # not a shell builtin
	done
	# ldconfig -p: "name.so.N (flags) => path". Still with that PATH: ldconfig
	# is in /sbin, which a user's PATH may lack, and then these libraries
	# would silently stay out.
	_elf="$_elf $(ldconfig -p 2>/dev/null | awk -v want=" $(echo $FAST_LIBS) " '
		$NF ~ /^\// { n = $1; sub(/\.so.*/, "", n); if (index(want, " " n " ")) print $NF }')"
	PATH=$_path
	# ldd: "file:", then "name => path (address)" or "path (address)" lines
	_libs=$(ldd $_elf 2>/dev/null |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' |
		sort -u)
	# iptables loads its extensions from "xtables" beside libxtables
	_xt=$(echo "$_libs" | sed -n 's,/libxtables\.so[.0-9]*$,/xtables,p' | head -n 1)
	# (|| : as a failing find, last in the && list, would end the build)
	[ -n "$_xt" ] && _xt=$(find "$_xt/" -name '*.so' 2>/dev/null || :)
	# Only the top-level links to directories (/lib -> usr/lib): a Debian
	# host also has /vmlinuz and /initrd.img, whose targets (the host's own
	# kernel and initrd, tens of MB) have no place in the guest's memory.
	_top=
	for _f in /*; do [ -L "$_f" ] && [ -d "$_f" ] && _top="$_top $_f"; done
	on_the_way $_top /etc/ld.so.cache $_elf $_libs $_xt | sort -u
}
fast=$(fast_files)

# Rebuild whenever the kernel, busybox, the module list, the scripts or any
# file of the fast layer change.
key=$({
	echo "$kdir"
	cat "$here/initramfs.sh" "$here/init.sh"
	sha256sum <"$busybox"
	# ctime too: a file replaced by one of the same size and mtime (install -p,
	# cp -p) can get the freed inode number back, and only its ctime changes
	echo "$fast" | xargs -r stat -c '%n %F %s %Y %i %Z'
} | sha256sum | cut -c1-16)
out=$VM_CACHE/initramfs-$key.cpio
if [ -f "$out" ]; then
	touch -c "$out" # in use: see the clean-up below
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
	"$tmp/root" "$tmp/results" "$tmp/kernel" "$tmp/host" "$tmp/lower"
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

# The fast layer, under /fast: symbolic links as links, files with their
# modes and times.
for f in $fast; do
	mkdir -p "$tmp/fast$(dirname "$f")"
	cp -P -p "$f" "$tmp/fast$f"
done
# overlayfs shows a merged directory with the top layer's mode and times:
# the layer's directories (made with the caller's umask) take the host's
[ -d "$tmp/fast" ] && (cd "$tmp/fast" && find . -type d) | while read -r d; do
	chmod --reference="/$d" "$tmp/fast/$d" && touch -r "/$d" "$tmp/fast/$d"
done

# Uncompressed: the kernel unpacks it faster than it could gunzip under TCG,
# and the file stays in the cache only.
(cd "$tmp" && find . | LC_ALL=C sort | busybox cpio -o -H newc -R 0:0 2>/dev/null) >"$tmp.cpio"
# Only initramfs files unused for an hour go: the cache is shared, and one
# with another key may be another worktree's (other scripts) or another
# run's, which qemu has yet to open.
find "$VM_CACHE" -maxdepth 1 -name 'initramfs-*.cpio' -mmin +60 -exec rm -f {} +
mv "$tmp.cpio" "$out"
vm_log "initramfs with $i modules and $(echo "$fast" | wc -l) fast-layer files built: $out"
echo "$out"
