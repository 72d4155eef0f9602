#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# overlayd scenario runs (make bench): N = 5 and N = 50 on loopback,
# printing silent-crash detection (median/p99), adjacency propagation
# (5 clean kills, median/p99), 30 % crashing together (10 trials,
# median/p99) and idle CPU/traffic/RSS per node, each with its target's
# verdict; fails on an undetected victim, a false alarm or a missed target
# (OVERLAYD_BENCH_TARGETS=report: verdicts printed, not failed on). The 10-minute
# 5 % loss soak at N = 10 runs in `make check-long`.
set -eu
B=${1:-build}
python3 bench/overlayd_bench.py "$B" 5 ${OVERLAYD_BENCH_TRIALS:-20}
python3 bench/overlayd_bench.py "$B" 50 ${OVERLAYD_BENCH_TRIALS:-20}
