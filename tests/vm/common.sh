# SPDX-License-Identifier: Apache-2.0
# Host-side helpers shared by kernel.sh, initramfs.sh and run.sh (sourced, not run).
# The in-VM helpers for test scripts live in lib.sh instead.

# Everything downloaded or built lives outside the repository, so that any clone
# (and CI, with a cached directory) can reuse it. Made absolute, as its paths
# are handed to qemu.
VM_CACHE=${L4LB_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/l4lb-vm}
mkdir -p "$VM_CACHE"
VM_CACHE=$(cd "$VM_CACHE" && pwd)

# Log lines go to stderr: stdout of kernel.sh and initramfs.sh carries the one
# path the caller asked for.
vm_log() { printf 'vm: %s\n' "$*" >&2; }
vm_die() { printf 'vm: error: %s\n' "$*" >&2; exit 1; }

# vm_need CMD PACKAGE: fail early, naming the Debian package to install
# (all are listed in tests/vm/packages.txt), instead of failing halfway through.
vm_need() {
	command -v "$1" >/dev/null 2>&1 ||
		vm_die "'$1' not found: install the Debian package '$2' (see tests/vm/packages.txt)"
}
