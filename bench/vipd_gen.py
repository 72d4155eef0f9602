#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generates a large GET_STATE reply for vipd's benchmark (streamed to stdout).

vipd_gen.py AGENTS TASKS VIPS [PLAIN [PAD]] > state.json
Every task is TASK_RUNNING with two statuses, resources, a container and one
VIP label on a discovery port (VIP i = task % VIPS), so the table has VIPS
named VIPs with TASKS / VIPS backends each. Task shapes alternate between
host networking, a docker bridge port mapping and an overlay address, with
sizes like real masters' (~2 KB a task).
PLAIN more tasks of the same shape carry no VIP label (never backends), and
every task gets about PAD bytes of fields vipd does not read (an executor's
environment, a command line, more labels): input that grows without adding
a backend, for the benchmark's flat-memory check. The VIP table is the same
for any PLAIN and PAD.
"""
import json
import sys


def padding(t, pad):
    """About pad bytes of what real tasks carry and vipd skips."""
    if pad <= 0:
        return {}
    n = max(1, pad // 120)
    return {
        "executor_info": {"command": {"value": "exec /opt/app/bin/run --id %d" % t,
                                      "environment": {"variables": [
                                          {"name": "VAR_%d" % i, "value": "v" * 60 + str(t)}
                                          for i in range(n)]}}},
        "user_data": "x" * (pad // 4),
    }


def main():
    agents, tasks, vips = (int(x) for x in sys.argv[1:4])
    plain = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    pad = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    out = sys.stdout
    w = out.write
    w('{"type":"GET_STATE","get_state":{"get_agents":{"agents":[')
    for a in range(agents):
        info = {"agent_info": {"hostname": "10.%d.%d.%d" % (a >> 16 & 255, a >> 8 & 255, a & 255),
                               "port": 5051, "id": {"value": "agent-%08d-S%d" % (a, a)},
                               "resources": [{"name": "ports", "type": "RANGES", "ranges": {
                                   "range": [{"begin": 1025, "end": 2180},
                                             {"begin": 2182, "end": 32000}]}}]},
                "active": True, "version": "1.6.0", "pid": "slave(1)@10.0.0.%d:5051" % (a & 255)}
        w(("," if a else "") + json.dumps(info, separators=(",", ":")))
    w(']},"get_frameworks":{"frameworks":[{"framework_info":{"user":"root","name":"marathon",'
      '"id":{"value":"fw-0001"},"failover_timeout":604800.0,"checkpoint":true}}]},')
    w('"get_tasks":{"tasks":[')
    for t in range(tasks + plain):
        has_vip = t < tasks
        a = t % agents
        aip = "10.%d.%d.%d" % (a >> 16 & 255, a >> 8 & 255, a & 255)
        tip = "9.%d.%d.%d" % (t >> 16 & 255, t >> 8 & 255, t & 255)
        kind = t % 3
        host_port = 10000 + t // agents
        number = 8080 if kind else host_port
        task = {
            "name": "app-%d" % (t % vips), "task_id": {"value": "app-%d.%032x" % (t % vips, t)},
            "framework_id": {"value": "fw-0001"},
            "agent_id": {"value": "agent-%08d-S%d" % (a, a)}, "state": "TASK_RUNNING",
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 128.0}},
                          {"name": "ports", "type": "RANGES",
                           "ranges": {"range": [{"begin": host_port, "end": host_port}]}}],
            "statuses": [
                {"task_id": {"value": "x"}, "state": "TASK_STARTING", "source": "SOURCE_EXECUTOR",
                 "timestamp": 1540582619.254188 + t, "uuid": "Uf6WKsA4TfmMhhA6EgSv6w==",
                 "container_status": {"container_id": {"value": "%032x" % t},
                                      "network_infos": [{"ip_addresses": [{"protocol": "IPv4",
                                                         "ip_address": tip if kind == 2 else aip}]}]}},
                {"task_id": {"value": "x"}, "state": "TASK_RUNNING", "source": "SOURCE_EXECUTOR",
                 "timestamp": 1540582620.254188 + t, "uuid": "eBnr7/qlTPOBacoU3qdVkA==",
                 "healthy": True,
                 "container_status": {"container_id": {"value": "%032x" % t},
                                      "network_infos": [{"ip_addresses": [{"protocol": "IPv4",
                                                         "ip_address": tip if kind == 2 else aip}]}]}}],
            "discovery": {"visibility": "FRAMEWORK", "name": "app-%d" % (t % vips), "ports": {
                "ports": [{"number": number, "name": "http", "protocol": "tcp", "labels": {
                    "labels": [{"key": "VIP_0" if has_vip else "PORT_NAME",
                                "value": "/app-%d:80" % (t % vips)}]
                    + ([{"key": "network-scope", "value": "container"}] if kind == 2 else [])}}]}},
            "health_check": {"type": "HTTP", "http": {"port": number, "path": "/"}},
            "container": {"type": "DOCKER", "docker": {
                "image": "python:3-alpine", "network": ["HOST", "BRIDGE", "USER"][kind],
                "port_mappings": [{"host_port": host_port, "container_port": 8080,
                                   "protocol": "tcp"}] if kind == 1 else []}},
            "labels": {"labels": [{"key": "owner", "value": "team-%d" % (t % 50)}]},
        }
        task.update(padding(t, pad))
        w(("," if t else "") + json.dumps(task, separators=(",", ":")))
    w("]}}}\n")


if __name__ == "__main__":
    main()
