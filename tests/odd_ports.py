#!/usr/bin/env python3
"""odd_ports.py - a port that is not an AMI server, for tests/doctor.bats.

  --silent      a port whose SYNs go unanswered, as behind a firewall that
                drops them: a listener with a backlog of 0 that never
                accepts, filled by connections of our own, so that Linux
                drops every further SYN and a client's connect times out
  --greet HEX   accept connections and send these bytes (hex) first, then
                read and ignore what comes

Binds 127.0.0.1 on an ephemeral port, prints "READY <port>", exits after
--lifetime seconds or on SIGTERM. --log and --violations are accepted (and
--log written) so that helper.bash's launch_fake can start it.
"""

import argparse
import signal
import socket
import sys
import threading
import time


def parse_args(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--silent", action="store_true")
    p.add_argument("--greet")
    p.add_argument("--lifetime", type=float, default=30.0)
    p.add_argument("--log")
    p.add_argument("--violations")
    return p.parse_args(argv)


def log(opts, text):
    if opts.log:
        with open(opts.log, "a") as f:
            f.write(text + "\n")


def silent(srv, port):
    """Fills the accept queue (and the SYN queue's room for it) with
    connections nobody accepts; returns them so they stay open."""
    fill = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fill.append(c)
    time.sleep(0.2)
    return fill


def greeter(opts, srv, data):
    def serve(conn):
        try:
            conn.sendall(data)
            while conn.recv(4096):
                pass
        except OSError:
            pass
        conn.close()

    while True:
        conn, peer = srv.accept()
        log(opts, "CONNECT %s:%d" % peer[:2])
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def main(argv=None):
    opts = parse_args(argv)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(0 if opts.silent else 16)
    port = srv.getsockname()[1]
    keep = silent(srv, port) if opts.silent else None
    if opts.greet is not None:
        threading.Thread(target=greeter, args=(opts, srv, bytes.fromhex(opts.greet)),
                         daemon=True).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print("READY %d" % port, flush=True)
    stop.wait(opts.lifetime)
    del keep
    sys.stdout.flush()


if __name__ == "__main__":
    main()
