#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Connections that are not daemons, for the fd and hostile-IPC tests.

  sock_cycle.py cycle N TARGET...   opens and closes N connections to each
                                    TARGET in turn, every other one after
                                    sending 64 bytes of garbage
  sock_cycle.py hold SECS N TARGET...
                                    opens N connections to each TARGET and
                                    keeps them SECS seconds, never reading
TARGET is a unix socket path or HOST:PORT (TCP). Prints "ok CONNECTS"; a
refused or failed connect counts as "failed F" and exits 1 (EACCES too,
so the permission test can expect exactly that).
"""
import errno
import socket
import sys
import time

GARBAGE = bytes(range(7, 7 + 64))


def connect(target):
    if target.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        end = time.time() + 2
        while True:
            try:
                s.connect(target)
                break
            except BlockingIOError as e:
                # the listen backlog is full: the daemon accepts in its loop
                if e.errno != errno.EAGAIN or time.time() > end:
                    raise
                time.sleep(0.01)
    else:
        host, port = target.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=2)
    return s


def main():
    mode = sys.argv[1]
    ok = failed = 0
    held = []
    if mode == "cycle":
        n, targets = int(sys.argv[2]), sys.argv[3:]
    else:
        secs, n, targets = float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    for t in targets:
        for i in range(n):
            try:
                s = connect(t)
            except OSError as e:
                failed += 1
                last = e
                continue
            ok += 1
            if mode == "hold":
                held.append(s)
                continue
            if i % 2:
                try:
                    s.sendall(GARBAGE)
                except OSError:
                    pass
            s.close()
    if mode == "hold":
        time.sleep(secs)
        for s in held:
            s.close()
    print("ok %d" % ok + ("" if not failed else " failed %d (%s)" % (failed, last)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
