#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# ipvsd's VIP table hot path on the host (no kernel): one changed backend in
# 1,000 x 10 and 10,000 x 10 services, the raw fast path against the full
# unpack it replaced and the VipTableDelta ipvsd follows now, measured in
# the same run (bench/ipvsd_delta.c): the delta's cost must not grow with
# the table. The
# VM bench (ipvsd_bench.sh) times the same change up to the kernel.
set -eu
B=${1:-build}
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_ipvsd ipvsd_delta
D=$B/bench
"$D/ipvsd_delta" 1000 10 200
"$D/ipvsd_delta" 10000 10 60
