#!/usr/bin/env python3
"""serve_bench.py - how fast `ami serve --speed max` feeds clients, against a
fast fake AMI server in the same run.

Usage: python3 bench/serve_bench.py [N]             (run by `make bench`)
  N             events per client (default 200000)
  RUNS=5        runs per case (the table shows the median)
  AMI=./ami     the binary; EVSRC=bench/out/evsrc the event source

The recording is made first, the way a user makes one: `ami tail-events
--format raw --timestamp --until BenchDone` against bench/out/evsrc
(bench/evsrc.c: N realistic call events, ~390 bytes each, then "Event:
BenchDone"). Then, for 1 and 4 clients at once, every client is

  ami tail-events --format raw --until BenchDone >/dev/null

either against evsrc (one evsrc process per client, as a forking server
would be: it serves one client) or against one `ami serve --speed max`
holding the recording. events/s is N x clients over the wall time from the
first client's start to the last one's exit. The secret goes through the
environment; the user's config file is not read.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def start_evsrc(evsrc, n):
    src = subprocess.Popen([evsrc, "--events", str(n), "--timeout", "30"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    word, port = src.stdout.readline().split()
    assert word == b"PORT", word
    return src, int(port)


def tail(ami, port, user, env, out=subprocess.DEVNULL):
    return subprocess.Popen([ami, "tail-events", "--host", "127.0.0.1", "--port", str(port),
                             "-u", user, "--format", "raw", "--until", "BenchDone"],
                            stdout=out, env=env)


def clients(ami, ports, user, env):
    """Runs one client per port at once; wall seconds, and whether all ended well."""
    t0 = time.monotonic()
    procs = [tail(ami, port, user, env) for port in ports]
    ok = all(p.wait() == 0 for p in procs)
    return time.monotonic() - t0, ok


def record(ami, evsrc, n, path, env):
    src, port = start_evsrc(evsrc, n)
    with open(path, "wb") as out:
        p = subprocess.Popen([ami, "tail-events", "--host", "127.0.0.1", "--port", str(port),
                              "-u", "hello", "--format", "raw", "--timestamp", "--until",
                              "BenchDone"], stdout=out, env=env)
        assert p.wait() == 0, "recording failed"
    src.wait(timeout=30)


def start_serve(ami, path, env):
    srv = subprocess.Popen([ami, "serve", "--listen", "127.0.0.1:0", "--speed", "max",
                            "--write-timeout", "10000", path],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    line = srv.stdout.readline().decode()
    assert line.startswith("listening on 127.0.0.1:"), line
    return srv, int(line.rsplit(":", 1)[1])


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    runs = int(os.environ.get("RUNS", "5"))
    ami = os.environ.get("AMI", "./ami")
    evsrc = os.environ.get("EVSRC", "bench/out/evsrc")
    tmp = tempfile.mkdtemp(prefix="ami-serve-bench.")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    env.update(HOME=tmp, XDG_CONFIG_HOME=tmp, LC_ALL="C")
    rec = os.path.join(tmp, "rec.raw")

    record(ami, evsrc, n, rec, dict(env, AMI_SECRET="world"))
    srv, port = start_serve(ami, rec, env)
    print("ami serve benchmark: %s, %d cores, load %s" %
          (time.strftime("%Y-%m-%d %H:%M:%S"), os.cpu_count(),
           " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg")
           else "?"))
    print("%d events per client (%.0f B/event), clients: ami tail-events --format raw "
          ">/dev/null; median of %d runs" % (n, os.path.getsize(rec) / n, runs))
    print()
    print("%-28s %7s %9s %12s %6s" % ("server", "clients", "wall s", "events/s", "check"))
    results = {}
    for k in (1, 4):
        for name in ("evsrc (one per client)", "ami serve --speed max"):
            walls, oks = [], True
            for _ in range(runs):
                if name.startswith("evsrc"):
                    srcs = [start_evsrc(evsrc, n) for _ in range(k)]
                    wall, ok = clients(ami, [p for _, p in srcs], "hello",
                                       dict(env, AMI_SECRET="world"))
                    for s, _ in srcs:
                        s.wait(timeout=30)
                else:
                    wall, ok = clients(ami, [port] * k, "demo", dict(env, AMI_SECRET="demo"))
                walls.append(wall)
                oks &= ok
            wall = statistics.median(walls)
            results[name, k] = n * k / wall
            print("%-28s %7d %9.4f %12.0f %6s" % (name, k, wall, n * k / wall,
                                                   "ok" if oks else "FAIL"), flush=True)
    srv.terminate()
    srv.wait(timeout=10)
    shutil.rmtree(tmp, ignore_errors=True)
    print()
    for k in (1, 4):
        print("%d client(s): ami serve / evsrc = %.2f" %
              (k, results["ami serve --speed max", k] / results["evsrc (one per client)", k]))


if __name__ == "__main__":
    main()
