#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A scriptable fake Mesos master for vipd's integration tests (loopback only).

Serves POST /api/v1 (GET_STATE, SUBSCRIBE as a RecordIO stream) and GET /state
(legacy state.json) from an in-memory cluster state. Tests drive it through
POST /ctl with one JSON command:
  {"op":"set","state":{"agents":[agent_info],"frameworks":[framework_info],
                       "tasks":[task],"recovered":[agent_info]}}
  {"op":"event","event":{...}}   applied to the state and sent to every stream
  {"op":"mode","mode":M}         how new requests are answered: ok, 500, hang,
                                 redirect:<base url>, truncate, malformed, 404,
                                 silent (stream without heartbeats), notmaster
                                 (200 with JSON that is no master reply),
                                 refuse-subscribe:CODE (SUBSCRIBE answered CODE,
                                 the rest as ok); hostile ones
                                 (same answer to GET_STATE, SUBSCRIBE and /state):
                                 trickle (a valid reply, one byte a second),
                                 endless (a reply that never ends, tasks as fast
                                 as the client reads), nested (1,000,000 '[')
  {"op":"drop"}                  close every open stream (mid-record if
                                 "midrecord": true)
  {"op":"heartbeat","seconds":S}
GET /ctl returns counters: requests, subscribes, subscribes_refused, get_states,
legacy, auth (the last Authorization header), and for
the hostile modes hostile (replies) and hostile_bytes.
Usage: fakemaster.py PORTFILE  (binds 127.0.0.1:0, writes the port to PORTFILE)
       fakemaster.py ctl PORT JSON   (sends a command; prints the reply)
       fakemaster.py stats PORT KEY  (prints one counter)
Environment: FAKEMASTER_PORT binds that port instead of 0; FAKEMASTER_CERT and
FAKEMASTER_KEY (PEM files) serve https; the ctl/stats clients talk https
when FAKEMASTER_CA (the CA that signed it) is set.
"""
import json
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {"agents": [], "frameworks": [], "tasks": [], "recovered": []}
mode = "ok"
heartbeat = 1.0
streams = []  # queues of open SUBSCRIBE streams
stats = {"requests": 0, "subscribes": 0, "subscribes_refused": 0, "get_states": 0,
         "legacy": 0, "auth": "",
         "hostile": 0, "hostile_bytes": 0}


def get_state():
    return {
        "get_tasks": {"tasks": state["tasks"]},
        "get_agents": {"agents": [{"agent_info": a} for a in state["agents"]],
                       "recovered_agents": state["recovered"]},
        "get_frameworks": {"frameworks": [{"framework_info": f} for f in state["frameworks"]]},
    }


def apply_event(ev):
    t = ev.get("type")
    if t == "TASK_ADDED":
        task = ev["task_added"]["task"]
        state["tasks"] = [x for x in state["tasks"]
                          if x["task_id"]["value"] != task["task_id"]["value"]] + [task]
    elif t == "TASK_UPDATED":
        u = ev["task_updated"]
        tid = u["status"]["task_id"]["value"]
        for x in state["tasks"]:
            if x["task_id"]["value"] == tid:
                x["state"] = u["state"]
                x.setdefault("statuses", []).append(u["status"])
    elif t == "AGENT_ADDED":
        info = ev["agent_added"]["agent"]["agent_info"]
        state["agents"] = [a for a in state["agents"] if a["id"]["value"] != info["id"]["value"]]
        state["agents"].append(info)
        state["recovered"] = [a for a in state["recovered"]
                              if a["id"]["value"] != info["id"]["value"]]
    elif t == "AGENT_REMOVED":
        aid = ev["agent_removed"]["agent_id"]["value"]
        state["agents"] = [a for a in state["agents"] if a["id"]["value"] != aid]


def recordio(obj):
    data = json.dumps(obj).encode()
    return str(len(data)).encode() + b"\n" + data


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype="application/json", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def answer_mode(self, path):
        """Handles the failure modes; returns True when the request is done."""
        m = mode
        if m == "500":
            self.reply(500, b"internal error")
        elif m == "404":
            if path == "/state":
                return False
            self.reply(404, b"not found")
        elif m == "hang":
            end = time.time() + 60
            while mode == "hang" and time.time() < end:
                time.sleep(0.05)
            self.close_connection = True
        elif m.startswith("redirect:"):
            self.reply(307, b"", headers={"Location": m[9:] + path})
        elif m == "malformed":
            self.reply(200, b'{"type":"GET_STATE","get_state":{"get_tasks":{"tasks":[}}')
        elif m == "notmaster":
            self.reply(200, b'{"foo":1}')
        elif m in ("trickle", "endless", "nested"):
            self.hostile(m)
        else:
            return False
        return True

    def hostile(self, m):
        """A master that never finishes, floods, or nests without end."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.close_connection = True
        with lock:
            stats["hostile"] += 1
        head = b'{"type":"GET_STATE","get_state":{"get_tasks":{"tasks":['
        end = time.time() + 120
        try:
            if m == "trickle":
                with lock:
                    body = json.dumps({"type": "GET_STATE", "get_state": get_state()}).encode()
                for i in range(len(body)):
                    if mode != m or time.time() > end:
                        return
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    stats["hostile_bytes"] += 1
                    time.sleep(1)
            elif m == "nested":
                self.wfile.write(head + b"[" * 1000000)
                stats["hostile_bytes"] += len(head) + 1000000
            else:
                self.wfile.write(head)
                n = 0
                while mode == m and time.time() < end:
                    chunk = "".join(
                        '{"task_id":{"value":"flood%d"},"framework_id":{"value":"f1"},'
                        '"agent_id":{"value":"a1"},"state":"TASK_RUNNING","discovery":{"ports":'
                        '{"ports":[{"number":%d,"protocol":"tcp","labels":{"labels":[{"key":'
                        '"VIP_0","value":"/flood%d:80"}]}}]}}},' % (n + i, 1 + (n + i) % 65535,
                                                                   (n + i) % 5000)
                        for i in range(1000)).encode()
                    n += 1000
                    self.wfile.write(chunk)
                    stats["hostile_bytes"] += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        with lock:
            stats["requests"] += 1
            if self.path != "/ctl":
                stats["auth"] = self.headers.get("Authorization", "")
        if self.path == "/ctl":
            with lock:
                self.reply(200, json.dumps(stats).encode())
            return
        if self.path not in ("/state", "/master/state.json"):
            self.reply(404, b"")
            return
        if self.answer_mode("/state"):
            return
        with lock:
            stats["legacy"] += 1
            slaves = [{"id": a["id"]["value"], "hostname": a["hostname"]} for a in state["agents"]]
            fws = []
            for f in state["frameworks"]:
                fid = f["id"]["value"]
                tasks = []
                for t in state["tasks"]:
                    if t["framework_id"]["value"] != fid:
                        continue
                    lt = dict(t)
                    lt["id"] = t["task_id"]["value"]
                    lt["framework_id"] = fid
                    lt["slave_id"] = t["agent_id"]["value"]
                    del lt["task_id"], lt["agent_id"]
                    tasks.append(lt)
                fws.append({"id": fid, "name": f["name"], "tasks": tasks})
            body = json.dumps({"slaves": slaves, "frameworks": fws}).encode()
        self.reply(200, body)

    def do_POST(self):
        global mode, heartbeat
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n) or b"{}")
        with lock:
            stats["requests"] += 1
            if self.path != "/ctl":
                stats["auth"] = self.headers.get("Authorization", "")
        if self.path == "/ctl":
            with lock:
                op = body["op"]
                if op == "set":
                    state.update(body["state"])
                elif op == "event":
                    apply_event(body["event"])
                    for q in streams:
                        q.put(("event", body["event"]))
                elif op == "mode":
                    mode = body["mode"]
                elif op == "drop":
                    for q in streams:
                        q.put(("drop", body.get("midrecord", False)))
                elif op == "heartbeat":
                    heartbeat = float(body["seconds"])
            self.reply(200, b"{}")
            return
        if self.path != "/api/v1":
            self.reply(404, b"")
            return
        if self.answer_mode("/api/v1"):
            return
        kind = body.get("type")
        if kind == "GET_STATE":
            with lock:
                stats["get_states"] += 1
                data = json.dumps({"type": "GET_STATE", "get_state": get_state()}).encode()
            if mode == "truncate":
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.close_connection = True
                return
            self.reply(200, data)
        elif kind == "SUBSCRIBE" and mode.startswith("refuse-subscribe:"):
            with lock:
                stats["subscribes_refused"] += 1
            self.reply(int(mode.split(":")[1]), b"SUBSCRIBE not supported")
        elif kind == "SUBSCRIBE":
            self.subscribe()
        else:
            self.reply(400, b"bad request")

    def subscribe(self):
        q = queue.Queue()
        with lock:
            stats["subscribes"] += 1
            first = recordio({"type": "SUBSCRIBED", "subscribed": {
                "get_state": get_state(), "heartbeat_interval_seconds": heartbeat}})
            streams.append(q)
            silent = mode == "silent"
            trunc = mode == "truncate"
        self.send_response(200)
        self.send_header("Content-Type", "application/recordio")
        self.end_headers()
        try:
            if trunc:
                self.wfile.write(first[: len(first) // 2])
                self.wfile.flush()
                return
            self.wfile.write(first)
            self.wfile.flush()
            while True:
                try:
                    what, arg = q.get(timeout=heartbeat)
                except queue.Empty:
                    if not silent:
                        self.wfile.write(recordio({"type": "HEARTBEAT"}))
                        self.wfile.flush()
                    continue
                if what == "drop":
                    if arg:
                        self.wfile.write(b"500\n{\"type\":\"TASK_ADD")
                        self.wfile.flush()
                    return
                self.wfile.write(recordio(arg))
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with lock:
                streams.remove(q)
            self.close_connection = True


def client(argv):
    import os
    import ssl
    import urllib.request
    ca = os.environ.get("FAKEMASTER_CA")
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    url = "%s://127.0.0.1:%s/ctl" % ("https" if ca else "http", argv[2])
    if argv[1] == "ctl":
        req = urllib.request.Request(url, data=argv[3].encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        print(urllib.request.urlopen(req, timeout=5, context=ctx).read().decode())
    else:
        print(json.loads(urllib.request.urlopen(url, timeout=5, context=ctx).read())[argv[3]])


def main():
    if sys.argv[1] in ("ctl", "stats"):
        client(sys.argv)
        return
    import os
    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("FAKEMASTER_PORT", "0"))),
                              Handler)
    srv.daemon_threads = True
    if os.environ.get("FAKEMASTER_CERT"):
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.environ["FAKEMASTER_CERT"], os.environ["FAKEMASTER_KEY"])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
