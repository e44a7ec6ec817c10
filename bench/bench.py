#!/usr/bin/env python3
"""bench.py - events/s and peak RSS of `ami tail-events`, per output format.

Usage: python3 bench/bench.py [N ...]        (run by `make bench`)
  N             event counts (default: 10000 1000000)
  RUNS=3        runs per case; the table shows the median wall time and the
                largest peak RSS
  AMI=./ami     the binary; EVSRC=bench/out/evsrc the event source;
                MAXRSS=bench/out/maxrss the RSS meter

For every case it starts bench/out/evsrc (bench/evsrc.c: a fake AMI server
on 127.0.0.1 that streams N call events, ~390 bytes each, then
"Event: BenchDone") and runs, timed from start to exit (start-up, connect,
login, stream, logoff):

  ami tail-events --format F --until BenchDone

with stdout to /dev/null for raw, and into a pipe read (and its lines
counted) by this script for text and json, as `| wc -l` would. Peak RSS is
that of the ami process alone, measured by bench/out/maxrss (maxrss.c; a
child forked from Python would count Python's memory too). The secret goes
through the environment, never argv; the user's config file is not read.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import count_lines
FORMATS = ("raw", "text", "json")


def start_source(evsrc, n):
    src = subprocess.Popen([evsrc, "--events", str(n), "--timeout", "20"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    word, port = src.stdout.readline().split()
    assert word == b"PORT", word
    return src, int(port)


def read_rss(path):
    with open(path) as f:
        return int(f.read())


def run_once(ami, evsrc, maxrss, rssfile, fmt, n, env):
    src, port = start_source(evsrc, n)
    cmd = [maxrss, rssfile, ami, "tail-events", "--host", "127.0.0.1", "--port", str(port),
           "-u", "hello", "--format", fmt, "--until", "BenchDone"]
    lines = None
    t0 = time.monotonic()
    if fmt == "raw":
        with open(os.devnull, "wb") as null:
            proc = subprocess.Popen(cmd, stdout=null, env=env)
    else:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
        lines = count_lines(proc.stdout)
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        src.kill()
    _, err = src.communicate(timeout=30)
    stats = dict(kv.split("=") for kv in err.decode().split() if "=" in kv)
    ok = proc.returncode == 0 and (lines is None or lines == n + 1)
    return wall, read_rss(rssfile), ok, int(stats.get("bytes", 0))


def baseline_rss(ami, maxrss, rssfile, env):
    subprocess.run([maxrss, rssfile, ami, "--list"], stdout=subprocess.DEVNULL, env=env,
                   check=True)
    return read_rss(rssfile)


def main():
    counts = [int(a) for a in sys.argv[1:]] or [10000, 1000000]
    runs = int(os.environ.get("RUNS", "3"))
    ami = os.environ.get("AMI", "./ami")
    evsrc = os.environ.get("EVSRC", "bench/out/evsrc")
    maxrss = os.environ.get("MAXRSS", "bench/out/maxrss")
    tmp = tempfile.mkdtemp(prefix="ami-bench.")
    rssfile = os.path.join(tmp, "rss")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    env.update(AMI_SECRET="world", HOME=tmp, XDG_CONFIG_HOME=tmp, LC_ALL="C")

    print("ami tail-events benchmark: %s, %d cores, load %s" %
          (time.strftime("%Y-%m-%d %H:%M:%S"), os.cpu_count(),
           " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg")
           else "?"))
    print("event source: %s (bench/evsrc.c); median of %d runs; peak RSS = largest of the runs"
          % (evsrc, runs))
    print("start-up alone (`ami --list`): peak RSS %.1f MiB (libcurl is loaded only for TLS and HTTP)"
          % (baseline_rss(ami, maxrss, rssfile, env) / 1024))
    print()
    print("%-6s %9s %8s %9s %12s %9s %6s" %
          ("format", "events", "B/event", "wall s", "events/s", "RSS MiB", "check"))
    for n in counts:
        for fmt in FORMATS:
            walls, rss, oks, size = [], 0, True, 0
            for _ in range(runs):
                wall, peak, ok, nbytes = run_once(ami, evsrc, maxrss, rssfile, fmt, n, env)
                walls.append(wall)
                rss = max(rss, peak)
                oks &= ok
                size = nbytes / n
            wall = statistics.median(walls)
            print("%-6s %9d %8.0f %9.4f %12.0f %9.1f %6s" %
                  (fmt, n, size, wall, n / wall, rss / 1024, "ok" if oks else "FAIL"),
                  flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("raw: stdout to /dev/null; text, json: into a pipe whose lines are counted "
          "(check: N+1 lines, exit 0)")


if __name__ == "__main__":
    main()
