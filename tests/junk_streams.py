#!/usr/bin/env python3
"""junk_streams.py - random byte streams as a server's answer (hostile.bats).

Usage: python3 tests/junk_streams.py --cases N --seed S --max-seconds M
                                    [--jobs J] -- AMI_COMMAND...

Runs AMI_COMMAND --port P once per case, each against a listener of its own
on 127.0.0.1 that answers with a stream made from random.Random("S-case"):
bytes instead of the banner, or the banner and then, once the Login has
come, bytes of one of several kinds (any byte; a few bytes that make many
lines and blank lines; header lines that never say "Response: Success" or
"Error"). Then the server either closes or stays silent until the client
closes. Every case must end with exit 5, 6 or 7 (never 0 or 1: junk is no
login) within M seconds of its connect (the process start is not counted:
under valgrind it alone can take seconds). Prints one line per failed case (with the seed to
run it again) and a summary; exits 1 when a case failed.
"""

import argparse
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
ALLOWED = {5, 6, 7}
LINE_BYTES = b"\r\n\r\n\n::  aZ0-/\x00\x1b\x7f\xc3\xa9\xff"
NAMES = ["Message", "ActionID", "Output", "Privilege", "Channel", "Uniqueid", "X", ""]
RESPONSES = ["Follows", "Goodbye", "Pong", "Pending", "Succes", "Errors", "", "\x1b[2J"]


def random_value(rng):
    return bytes(rng.choice(b"abc XYZ019:;=-\t\x1b\x07\xff") for _ in range(rng.randrange(0, 40)))


def header_lines(rng):
    """AMI-looking blocks: headers, sometimes an Event: (queued) or a
    Response: that is neither Success nor Error."""
    out = []
    for _ in range(rng.randrange(1, 12)):
        for _ in range(rng.randrange(0, 6)):
            r = rng.random()
            if r < 0.1:
                out.append(b"Event: " + random_value(rng))
            elif r < 0.2:
                out.append(b"Response: " + rng.choice(RESPONSES).encode())
            else:
                out.append(rng.choice(NAMES).encode() + rng.choice([b": ", b":", b""])
                           + random_value(rng))
        out.append(b"")
    return b"\r\n".join(out) + rng.choice([b"\r\n", b"", b"\n"])


def junk(rng):
    """(kind, bytes) for one case."""
    kind = rng.choice(["any", "lines", "headers"])
    if kind == "any":
        n = rng.choice([rng.randrange(0, 64), rng.randrange(0, 4096), 70000])
        return kind, rng.randbytes(n)
    if kind == "lines":
        return kind, bytes(rng.choice(LINE_BYTES) for _ in range(rng.randrange(1, 2048)))
    return kind, header_lines(rng)


class Case:
    def __init__(self, seed, index):
        rng = random.Random("%s-%d" % (seed, index))
        self.index = index
        self.seed = seed
        self.instead_of_banner = rng.random() < 0.25
        self.kind, self.data = junk(rng)
        self.close = rng.random() < 0.7
        self.rc = self.elapsed = self.connected = None
        self.stderr = b""

    def describe(self):
        where = "instead of the banner" if self.instead_of_banner else "after the banner"
        end = "then closes" if self.close else "then stays silent"
        return "case %d (seed %s): %d bytes of %s %s, %s" % (
            self.index, self.seed, len(self.data), self.kind, where, end)


def serve(case, srv, stop):
    """One connection: the case's stream, then close or silence."""
    srv.settimeout(0.2)
    conn = None
    while conn is None and not stop.is_set():
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
    if conn is None:
        return
    case.connected = time.monotonic()
    conn.settimeout(0.1)
    try:
        if not case.instead_of_banner:
            conn.sendall(BANNER)
            while not stop.is_set():     # the Login (or the client gives up)
                try:
                    if b"\r\n\r\n" in conn.recv(4096) or stop.is_set():
                        break
                except socket.timeout:
                    continue
        conn.sendall(case.data)
        while not case.close and not stop.is_set():
            try:
                if not conn.recv(4096):
                    break
            except socket.timeout:
                continue
    except OSError:
        pass                            # the client went away first: fine
    finally:
        conn.close()


def run_case(case, command, max_seconds):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    stop = threading.Event()
    server = threading.Thread(target=serve, args=(case, srv, stop), daemon=True)
    server.start()
    start = time.monotonic()
    proc = subprocess.Popen(command + ["--port", str(srv.getsockname()[1])],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        _, case.stderr = proc.communicate(timeout=max_seconds + 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, case.stderr = proc.communicate()
    end = time.monotonic()
    case.rc = proc.returncode
    stop.set()
    server.join()
    case.elapsed = end - (case.connected or start)
    srv.close()
    return case


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=200)
    p.add_argument("--seed", default=str(random.randrange(1 << 32)))
    p.add_argument("--max-seconds", type=float, required=True)
    p.add_argument("--jobs", type=int, default=16)
    p.add_argument("command", nargs="+")
    opts = p.parse_args()
    cases = [Case(opts.seed, i) for i in range(opts.cases)]
    t0 = time.monotonic()
    with ThreadPoolExecutor(opts.jobs) as pool:
        done = list(pool.map(lambda c: run_case(c, opts.command, opts.max_seconds), cases))
    failed = [c for c in done if c.rc not in ALLOWED or c.elapsed > opts.max_seconds]
    for c in failed:
        print("FAIL %s: exit %d after %.2f s; stream %r; stderr %r" % (
            c.describe(), c.rc, c.elapsed, c.data[:160], c.stderr[-400:]))
    counts = {rc: sum(c.rc == rc for c in done) for rc in sorted({c.rc for c in done})}
    print("%d cases, seed %s: exits %s; slowest %.2f s; all in %.1f s" % (
        len(done), opts.seed, " ".join("%s:%d" % kv for kv in counts.items()),
        max(c.elapsed for c in done), time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
