#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Usage: tests/vm/run.sh SCRIPT [ARGS...]
#
# Boots the stock Debian kernel under qemu (TCG) and runs SCRIPT with ARGS as
# root inside it, from the current directory, with the host's root file system
# visible read-only. The script's stdout and stderr appear on stdout; run.sh
# exits with the script's status, 124 on timeout, 125 if the VM failed.
#
# Environment: L4LB_VM_INTERACTIVE=1 (stdin is a terminal: the script reads
# it, for an exploration shell; Ctrl-C goes to the guest), L4LB_VM_TIMEOUT
# (seconds, default 300), L4LB_VM_MEM (default 2G),
# L4LB_VM_SMP (default 2), L4LB_VM_CPU (qemu's -cpu, see below),
# L4LB_VM_VERBOSE=1 (print the kernel console),
# L4LB_VM_KERNEL_OPTS (kernel command line options, see below),
# L4LB_VM_ENV (names of more variables to pass in; CI and all L4LB_* are
# passed), L4LB_VM_RESULTS (directory to keep the results share in), and
# L4LB_VM_CACHE (see common.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[ $# -ge 1 ] || { echo "usage: $0 SCRIPT [ARGS...]" >&2; exit 2; }
vm_need qemu-system-x86_64 qemu-system-x86
vm_need timeout coreutils

timeout_s=${L4LB_VM_TIMEOUT:-300}
kdir=$("$here/kernel.sh")
initrd=$("$here/initramfs.sh" "$kdir")
kver=$(cat "$kdir/kernel-version")
# the kernel proper when kernel.sh could unpack it (a PVH boot, no
# decompression under emulation), else the bzImage
kimg=$kdir/boot/vmlinux-$kver
[ -f "$kimg" ] || kimg=$kdir/boot/vmlinuz-$kver

run=$(mktemp -d "${TMPDIR:-/tmp}/l4lb-vm.XXXXXX")
if [ -n "${L4LB_VM_RESULTS:-}" ]; then
	mkdir -p "$L4LB_VM_RESULTS"
	results=$(cd "$L4LB_VM_RESULTS" && pwd)
	rm -f "$results/job" "$results/exit"
else
	results=$run/results
	mkdir "$results"
fi
trap 'rm -rf "$run"' EXIT
console=$run/console.log

# quote WORD: WORD as one single-quoted shell word.
quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# The job file, sourced by the shell that runs the test in the VM: exported
# variables, the directory to start in, and the command line.
{
	names="CI $(env | sed -n 's/^\(L4LB_[A-Za-z0-9_]*\)=.*/\1/p') ${L4LB_VM_ENV:-}"
	for n in $names; do
		case $n in L4LB_VM_RESULTS | L4LB_VM_CWD) continue ;; esac
		eval "[ -n \"\${$n+set}\" ]" || continue
		eval "v=\$$n"
		echo "export $n=$(quote "$v")"
	done
	echo "export L4LB_VM_RESULTS=$(quote "$results")"
	echo "export L4LB_VM_CWD=$(quote "$(pwd)")"
	printf 'set --'
	for a in "$@"; do printf ' %s' "$(quote "$a")"; done
	echo
} >"$results/job"

# qarg PATH: PATH for a qemu option list, where a comma must be doubled.
qarg() {
	printf '%s' "$1" | sed 's/,/,,/g'
}

# Test-harness settings, not production ones (tests/vm/README.md, "Kernel
# command line"): the TSC as clocksource (TCG's TSC is the host's, the same
# on every vCPU, yet the kernel's sync check fails under emulation and falls
# back to the HPET, a device access per clock read, none in the vDSO);
# expedited RCU grace periods (namespace deletion, unmounts and
# iptables-legacy writes wait for one each, slow with starved vCPUs); no
# speculative-execution mitigations (retpolines cost emulated instructions
# and there is nothing to protect in a throw-away VM); no address-space
# randomisation (qemu 7.2's TCG keys its translated code by virtual address:
# with ld.so and every library at a new address in each process, each
# process start translated them all again, 2-7 times the cost of a start).
kopts=${L4LB_VM_KERNEL_OPTS-tsc=reliable rcupdate.rcu_expedited=1 mitigations=off norandmaps}
append="console=ttyS0 panic=-1 $kopts"
[ "${L4LB_VM_VERBOSE:-0}" = 1 ] || append="$append quiet"

# The emulated CPU: qemu64 with the x86-64-v2 extensions, not "max". max
# offers ERMS, which makes the kernel clear pages and copy to and from user
# space with "rep stosb"/"rep movsb", one emulated iteration per byte under
# TCG (a pipe moved 200 MB in 1.45 s, 0.43 s without), and AVX2, which
# glibc's string functions and ld.so's lazy binding (xsave) then use, all
# emulated by helpers: each process start cost a quarter more (README.md,
# "Boot and process starts").
cpu=${L4LB_VM_CPU:-qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt}

# ttyS0 (kernel console and init's messages) goes to a log, ttyS1 (the job's
# output) to our stdout. No network card: the VM only talks over 9p. No
# -enable-kvm: a KVM guest hung while probing devices on these machines.
# Interactive: ttyS1 is also the job's stdin, the terminal passes Ctrl-C to
# the guest, and timeout leaves qemu in the terminal's foreground.
jobio=stdio,id=job fg=
if [ "${L4LB_VM_INTERACTIVE:-0}" = 1 ] && [ -t 0 ]; then
	jobio=$jobio,signal=off fg=--foreground
else
	exec </dev/null
fi
rc=0
start=$(date +%s)
timeout $fg -k 10 "$timeout_s" qemu-system-x86_64 \
	-nodefaults -no-user-config -nographic -no-reboot \
	-machine pc -accel tcg -cpu "$cpu" \
	-m "${L4LB_VM_MEM:-2G}" -smp "${L4LB_VM_SMP:-2}" \
	-kernel "$kimg" -initrd "$initrd" -append "$append" \
	-chardev "file,id=console,path=$(qarg "$console")" -serial chardev:console \
	-chardev "$jobio" -serial chardev:job \
	-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$(qarg "$results"),mount_tag=results,security_model=none,multidevs=remap" \
	-virtfs "local,path=$(qarg "$kdir"),mount_tag=kernel,security_model=none,readonly=on,multidevs=remap" \
	|| rc=$?
elapsed=$(($(date +%s) - start))

# show_console: the kernel console, without the firmware's terminal escapes.
show_console() {
	echo "vm: ---- kernel console ----"
	sed 's/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g' "$console" 2>/dev/null | tr -d '\r'
	echo "vm: ---- end of console ----"
}

fail() {
	echo "vm: $*"
	show_console
}

if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	fail "timed out after ${timeout_s}s (L4LB_VM_TIMEOUT)" >&2
	exit 124
fi
if [ ! -s "$results/exit" ]; then
	err=$(sed -n 's/.*L4LB-VM-ERROR: //p' "$console" 2>/dev/null | tr -d '\r')
	fail "VM exited ($rc) without running the job${err:+: $err}" >&2
	exit 125
fi
status=$(cat "$results/exit")
if [ "$status" -ne 0 ]; then
	fail "$* exited with status $status (${elapsed}s)" >&2
elif [ "${L4LB_VM_VERBOSE:-0}" = 1 ]; then
	{
		show_console
		echo "vm: $* passed (${elapsed}s)"
	} >&2
fi
exit "$status"
