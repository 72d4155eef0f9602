#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Times commands against each other for vipd's benchmark.

vipd_time.py RUNS FILE NAME=COMMAND... : runs every command RUNS times,
interleaved (so that all see the same machine load), each with FILE on its
standard input and its output thrown away; prints per command
"NAME cpu SECONDS wall SECONDS" with the median of the runs.
CPU time (user + system, from getrusage, microsecond resolution) is what the
command itself did; wall time also counts waiting for a core on a loaded
machine.
"""
import os
import shlex
import statistics
import subprocess
import sys
import time


def run(cmd, path):
    start = time.monotonic()
    with open(path, "rb") as f:
        proc = subprocess.Popen(shlex.split(cmd), stdin=f, stdout=subprocess.DEVNULL)
        # (wait4: the child's own rusage, not that of every child so far)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = status
    wall = time.monotonic() - start
    if status:
        sys.exit("vipd_time: '%s' failed (status %d)" % (cmd, status))
    return ru.ru_utime + ru.ru_stime, wall


def main():
    runs, path = int(sys.argv[1]), sys.argv[2]
    cmds = [a.split("=", 1) for a in sys.argv[3:]]
    res = {name: [] for name, _ in cmds}
    for _ in range(runs):
        for name, cmd in cmds:
            res[name].append(run(cmd, path))
    for name, _ in cmds:
        r = res[name]
        print("%s cpu %.4f wall %.4f" % (
            name, statistics.median(x[0] for x in r), statistics.median(x[1] for x in r)))


if __name__ == "__main__":
    main()
