#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# make demo: a 3-node l4lb cluster on a real kernel (tests/vm/demo_cluster.sh).
# Runs it directly when this kernel has IPVS, else inside the VM harness
# (tests/vm/run.sh). SHELL_AFTER=1 leaves the cluster up with a shell to
# explore it (in the VM: through its serial port, run.sh's interactive mode).
set -u
B=${1:-build}
# the cluster's traffic tool (tests/tools/e2e_net.c) is not part of `make all`
make --no-print-directory -s B="$B" "$B/tests/tools/e2e_net" || exit 1
has_ipvs() {
	[ -e /proc/net/ip_vs ] || modprobe -n ip_vs >/dev/null 2>&1
}
if has_ipvs && [ "$(id -u)" = 0 ]; then
	echo "demo: this kernel has IPVS: running the cluster here, in network namespaces"
	exec sh tests/vm/demo_cluster.sh "$B"
fi
echo "demo: this kernel has no IPVS (or we are not root): running the cluster in the" \
	"VM harness (tests/vm/run.sh; the first run downloads a Debian kernel)"
if [ "${SHELL_AFTER:-0}" = 1 ]; then
	# the VM's timeout covers the exploration too
	export L4LB_VM_INTERACTIVE=1 L4LB_VM_ENV="SHELL_AFTER ${L4LB_VM_ENV:-}"
	export L4LB_VM_TIMEOUT=${L4LB_VM_TIMEOUT:-3600}
fi
L4LB_VM_TIMEOUT=${L4LB_VM_TIMEOUT:-300} exec tests/vm/run.sh tests/vm/demo_cluster.sh "$B"
