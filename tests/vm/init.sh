#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
# /init of the test VM (PID 1, from the initramfs built by initramfs.sh).
#
# Loads the modules, mounts the host's root file system (9p, read-only) with
# fresh proc/sys/dev and tmpfs /tmp and /run on top, and runs the job run.sh
# wrote into the results share, chrooted, so the host's binaries run on this
# kernel. Then reports the exit status and powers off.
#
# init itself never chroots: the kernel runs its modprobe helper relative to
# PID 1's root, and the helper below relies on that being the initramfs.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Whatever init says goes to the kernel console (ttyS0), which run.sh keeps in
# a log; ttyS1 carries only the job's output, to the host's stdout.
exec </dev/null >/dev/console 2>&1

die() {
	echo "L4LB-VM-ERROR: $*"
	poweroff -f
}

while read -r m; do
	insmod "/modules/$m" || die "insmod $m failed"
done </modules/order

# cache=loose: the root does not change under a test, and without a cache every
# exec and library load of the host's binaries goes back to the host.
# The initramfs's fast layer (initramfs.sh) goes over it, read-only: the
# binaries and libraries started most often, and the links on the way to
# them, are then found in memory, with no 9p request.
o=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$o,ro,cache=loose" root /lower || die "cannot mount the host's root"
if [ -d /fast ]; then
	mount -t overlay -o ro,lowerdir=/fast:/lower overlay /root ||
		die "cannot lay the fast layer over the host's root"
else
	mount --move /lower /root
fi
mount -t 9p -o "$o" results /results || die "cannot mount the results share"
mount -t 9p -o "$o,ro" kernel /kernel || die "cannot mount the kernel share"
[ -f /results/job ] || die "no job file in the results share"
. /results/job

mount -t proc proc /root/proc
mount -t sysfs sysfs /root/sys
mount -t devtmpfs devtmpfs /root/dev
mkdir -p /root/dev/pts /root/dev/shm
mount -t devpts devpts /root/dev/pts
mount -t tmpfs tmpfs /root/dev/shm
# The root is read-only; tests write to /tmp and /run (netns, xtables.lock).
# The host's /tmp and /run stay reachable under /host, so that a checkout
# there (CI may clone into /tmp) can be put back in place below.
for d in tmp run; do
	mkdir -p "/host/$d"
	mount --bind "/root/$d" "/host/$d"
	mount -t tmpfs -o mode=1777 tmpfs "/root/$d"
done
case $L4LB_VM_CWD in
/tmp/* | /run/*)
	mkdir -p "/root$L4LB_VM_CWD"
	mount --bind "/host$L4LB_VM_CWD" "/root$L4LB_VM_CWD"
	;;
esac
mkdir -p "/root$L4LB_VM_RESULTS"
mount --bind /results "/root$L4LB_VM_RESULTS"

# Modules not loaded above (other IPVS schedulers, xt matches, ipset types) are
# loaded on demand by the kernel through kernel.modprobe, with the host's kmod
# reading the guest kernel's module tree from the kernel share.
mkdir -p /run/l4lb-vm /root/run/l4lb-vm/kernel
mount --bind /kernel /root/run/l4lb-vm/kernel
printf '#!/bin/sh\nexec chroot /root /run/l4lb-vm/modprobe "$@"\n' >/run/l4lb-vm/modprobe
printf '#!/bin/sh\nexec /sbin/modprobe -d /run/l4lb-vm/kernel "$@"\n' >/root/run/l4lb-vm/modprobe
chmod 755 /run/l4lb-vm/modprobe /root/run/l4lb-vm/modprobe
echo /run/l4lb-vm/modprobe >/proc/sys/kernel/modprobe

hostname l4lb-vm
ip link set lo up
# Raw: no \n to \r\n translation on the way to the host. Interactive
# (run.sh's L4LB_VM_INTERACTIVE=1): a terminal for the job, which reads it.
jobin=/dev/null ctty=
if [ "${L4LB_VM_INTERACTIVE:-0}" = 1 ]; then
	stty -F /dev/ttyS1 sane -onlcr # the host's terminal adds the \r already
	jobin=/dev/ttyS1 ctty="setsid -c"
else
	stty -F /dev/ttyS1 raw -echo
fi

# A clean environment: only what run.sh put into the job file (it sets the
# positional parameters and exports the passed variables).
env -i HOME=/root TERM=dumb L4LB_VM=1 \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	$ctty chroot /root /bin/sh -c '. "$0" && cd "$L4LB_VM_CWD" && exec "$@"' \
	"$L4LB_VM_RESULTS/job" <"$jobin" >/dev/ttyS1 2>&1
rc=$?

echo "$rc" >/results/exit
sync
echo "L4LB-VM-EXIT=$rc"
poweroff -f
