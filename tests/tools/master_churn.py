#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Drives a fake master (tests/fakemaster) through a long stream of task
changes over a bounded set of tasks, so a vipd following it reaches a
steady state: its memory must stop growing.

  master_churn.py PORT CHANGES POOL VIPS RSSFILE PID
Tasks t0..t<POOL-1> on agents a0..a9 with labels /svc<k % VIPS>:80 are
killed and started again in turn (TASK_UPDATED TASK_KILLED, TASK_ADDED),
every 20th start with a new VIP name that later disappears. Every CHANGES/10
changes the RSS (kB) of PID is appended to RSSFILE as "<changes> <rss>".
"""
import json
import sys
import urllib.request


def post(port, obj):
    req = urllib.request.Request("http://127.0.0.1:%d/ctl" % port, json.dumps(obj).encode(),
                                 {"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


def task(i, vip, state="TASK_RUNNING"):
    return {"task_id": {"value": "t%d" % i}, "framework_id": {"value": "f1"},
            "agent_id": {"value": "a%d" % (i % 10)}, "state": state,
            "discovery": {"ports": {"ports": [{"number": 31000 + i, "protocol": "tcp",
                                               "labels": {"labels": [
                                                   {"key": "VIP_0", "value": vip}]}}]}}}


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    port, changes, pool, vips = (int(x) for x in sys.argv[1:5])
    rssfile, pid = sys.argv[5], int(sys.argv[6])
    agents = [{"id": {"value": "a%d" % a}, "hostname": "10.0.1.%d" % (a + 1)} for a in range(10)]
    post(port, {"op": "set", "state": {
        "agents": agents, "frameworks": [{"id": {"value": "f1"}, "name": "marathon"}],
        "tasks": [task(i, "/svc%d:80" % (i % vips)) for i in range(pool)], "recovered": []}})
    post(port, {"op": "drop"})  # vipd resubscribes and sees the new state
    step = max(changes // 10, 1)
    with open(rssfile, "w") as out:
        for n in range(changes):
            i = (n // 2) % pool
            if n % 2 == 0:
                post(port, {"op": "event", "event": {"type": "TASK_UPDATED", "task_updated": {
                    "framework_id": {"value": "f1"}, "state": "TASK_KILLED",
                    "status": {"task_id": {"value": "t%d" % i}, "state": "TASK_KILLED"}}}})
            else:
                vip = "/svc%d:80" % (i % vips) if n % 40 != 1 else "/once%d:80" % n
                post(port, {"op": "event", "event": {"type": "TASK_ADDED",
                                                     "task_added": {"task": task(i, vip)}}})
            if (n + 1) % step == 0:
                out.write("%d %d\n" % (n + 1, rss_kb(pid)))
                out.flush()
    # the last change: a VIP the test waits for
    post(port, {"op": "event", "event": {"type": "TASK_ADDED",
                                         "task_added": {"task": task(0, "/churndone:80")}}})


if __name__ == "__main__":
    main()
