#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# overlayd scenario runs (make bench): N = 5 and N = 50 on loopback,
# printing silent-crash detection (median/p99), adjacency propagation,
# 30 % crashing together (10 trials, median/p99) and idle CPU/traffic/RSS
# per node; fails on an undetected victim or a false alarm. The 10-minute
# 5 % loss soak at N = 10 runs in `make check-long`.
set -eu
B=${1:-build}
python3 bench/overlayd_bench.py "$B" 5 ${OVERLAYD_BENCH_TRIALS:-20}
python3 bench/overlayd_bench.py "$B" 50 ${OVERLAYD_BENCH_TRIALS:-20}
