#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# ipvsd's drain planning on the host (no kernel): a node going down in
# 1,000 x 10 and 10,000 x 10 services, and a drain tick while every service
# drains, each against a baseline measured in the same run
# (bench/ipvsd_drain.c): the ratios must stay flat as the table grows.
set -eu
B=${1:-build}
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_ipvsd ipvsd_drain
D=$B/bench
nice "$D/ipvsd_drain" 1000 10 30
nice "$D/ipvsd_drain" 10000 10 10
