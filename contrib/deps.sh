#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Install exactly the Debian packages l4lb needs that are missing. A fast
# no-op when everything is there; `apt-get update` runs only when something
# must be installed. Extra lists (one package per line) are read from
# tests/vm/packages.txt when present.
set -eu
cd "$(dirname "$0")/.."

pkgs="gcc make pkg-config protobuf-c-compiler libprotobuf-c-dev libnanomsg-dev
libevent-dev libcurl4-openssl-dev libyajl-dev yajl-tools libnl-3-dev
libnl-genl-3-dev libnl-route-3-dev libipset-dev libcmocka-dev python3
iproute2 procps clang libclang-rt-14-dev curl dpkg-dev systemd man-db libssl-dev openssl
nftables strace"
for f in tests/vm/packages.txt; do
	[ -f "$f" ] && pkgs="$pkgs $(sed 's/#.*//' "$f")"
done

missing=""
for p in $pkgs; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
sudo=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps: missing packages:$missing (run as root or install them)" >&2
		exit 1
	}
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
