#!/usr/bin/env python3
"""fanout_bench.py - `ami -p LIST`: a fleet at once (issue 14's figures).

Usage: python3 bench/fanout_bench.py        (run by `make bench-fanout`)
  AMI=./ami  EVSRC=bench/out/evsrc  RUNS=3  EVENTS=200000

1. `ami -q -p @all ping` over 100 profiles spread over 4 test servers
   (tests/fake_ami.py) whose Ping answers come 200 ms late: the wall time
   with the default --parallel 32 and with --parallel 100, and, for
   comparison, one profile after the other (what cron did before). Then
   the same with every request late (Login, Ping, Logoff: 600 ms a PBX).
   The peak RSS of the whole process tree is sampled from /proc.
2. One profile down (nothing listens) and one that never answers (accepts,
   stays silent), -t 2: the run must end within 3 s.
3. `tail-events --json` from 4 fast event sources (bench/evsrc.c) merged,
   against one source, both read through the same pipe: events/s and the
   peak RSS of the process tree.
The secret goes through a private config file, never argv.
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

AMI = os.path.abspath(os.environ.get("AMI", "./ami"))
EVSRC = os.path.abspath(os.environ.get("EVSRC", "bench/out/evsrc"))
FAKE = os.path.abspath("tests/fake_ami.py")
RUNS = int(os.environ.get("RUNS", "3"))
EVENTS = int(os.environ.get("EVENTS", "200000"))


def tree_rss_kib(root):
    """The resident memory of root and all its descendants, in KiB."""
    kids, rss = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/statm") as f:
                rss[int(pid)] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(pid))
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(kids.get(p, []))
    return total, rss.get(root, 0)


def run_sampled(argv, stdout=subprocess.DEVNULL, count_lines=False):
    """Runs argv; returns (wall seconds, exit status, peak tree RSS KiB, lines,
    peak RSS KiB of the first process alone)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE if count_lines else stdout,
                            stderr=subprocess.PIPE)
    peak, lines, top = [0], [0], [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            tree, own = tree_rss_kib(proc.pid)
            peak[0], top[0] = max(peak[0], tree), max(top[0], own)
            time.sleep(0.02)

    def count():
        for chunk in iter(lambda: proc.stdout.read(1 << 16), b""):
            lines[0] += chunk.count(b"\n")

    threads = [threading.Thread(target=sample)]
    if count_lines:
        threads.append(threading.Thread(target=count))
    for t in threads:
        t.start()
    err = proc.stderr.read()
    proc.wait()
    wall = time.monotonic() - t0
    done.set()
    for t in threads:
        t.join()
    if proc.returncode not in (0,) and not count_lines:
        sys.stderr.write(err.decode(errors="replace")[-400:])
    return wall, proc.returncode, peak[0], lines[0], top[0]


def start_fake(*opts):
    p = subprocess.Popen([sys.executable, FAKE, "--lifetime", "600", *opts],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    word, port = p.stdout.readline().split()
    assert word == b"READY", word
    return p, int(port)


def write_config(path, ports, user="hello", secret="world"):
    """One profile per port (p000, p001...), in a private file."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        for i, port in enumerate(ports):
            f.write(f"[p{i:03d}]\nhost = 127.0.0.1\nport = {port}\n"
                    f"username = {user}\nsecret = {secret}\n")


def fmt(walls):
    return f"{statistics.median(walls):6.2f} s (min {min(walls):.2f}, max {max(walls):.2f})"


def ping_fleet(tmp, delay_only):
    servers = [start_fake("--response-delay", "0.2", "--delay-only", delay_only)
               if delay_only else start_fake("--response-delay", "0.2") for _ in range(4)]
    try:
        cfg = os.path.join(tmp, "fleet.conf")
        write_config(cfg, [servers[i % 4][1] for i in range(100)])
        base = [AMI, "--config", cfg, "-q"]
        what = f"Ping answered 200 ms late" if delay_only else "every request 200 ms late"
        print(f"\n100 profiles on 4 test servers, {what}:")
        for label, extra in (("-p @all ping (default --parallel 32)", []),
                             ("-p @all ping --parallel 100", ["--parallel", "100"])):
            res = [run_sampled(base + ["-p", "@all"] + extra + ["ping"]) for _ in range(RUNS)]
            bad = [r[1] for r in res if r[1] != 0]
            print(f"  {label:40s} {fmt([r[0] for r in res])}  peak tree RSS "
                  f"{max(r[2] for r in res) / 1024:.1f} MiB{'  EXIT ' + str(bad) if bad else ''}")
        t0 = time.monotonic()
        for i in range(0, 100, 10):     # ten in a row give the per-profile cost
            subprocess.run(base + ["-p", f"p{i:03d}", "ping"], stdout=subprocess.DEVNULL)
        one = (time.monotonic() - t0) / 10
        print(f"  {'one profile after the other (estimated)':40s} {one * 100:6.2f} s "
              f"({one:.3f} s each)")
    finally:
        for p, _ in servers:
            p.kill()
            p.wait()


def down_and_silent(tmp):
    good, port = start_fake()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    down = socket.socket()
    down.bind(("127.0.0.1", 0))     # bound, never listening: refused
    try:
        cfg = os.path.join(tmp, "mixed.conf")
        write_config(cfg, [port, down.getsockname()[1], silent.getsockname()[1]])
        res = [run_sampled([AMI, "--config", cfg, "-q", "-t", "2", "-p", "@all", "ping"])
               for _ in range(RUNS)]
        print(f"\none up, one down, one silent, -t 2 (goal: under 3 s): {fmt([r[0] for r in res])}"
              f", exit {sorted(set(r[1] for r in res))}")
    finally:
        good.kill()
        good.wait()
        silent.close()
        down.close()


def merged_events(tmp):
    print(f"\ntail-events --json through a pipe, {EVENTS} events per source:")
    rates = {}
    for n in (1, 4):
        walls, peaks, tops = [], [], []
        for _ in range(RUNS):
            srcs = [subprocess.Popen([EVSRC, "--events", str(EVENTS), "--timeout", "20"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                    for _ in range(n)]
            ports = []
            for s in srcs:
                word, port = s.stdout.readline().split()
                ports.append(int(port))
            cfg = os.path.join(tmp, f"src{n}.conf")
            write_config(cfg, ports)
            names = ",".join(f"p{i:03d}" for i in range(n))
            argv = [AMI, "--config", cfg, "-p", names, "tail-events", "--json"]
            argv += ["--until", "BenchDone"] if n == 1 else ["--count", str(n * EVENTS)]
            wall, rc, peak, lines, top = run_sampled(argv, count_lines=True)
            for s in srcs:
                s.kill()
                s.wait()
            if rc != 0 or lines < n * EVENTS:
                print(f"  {n} source(s): exit {rc}, {lines} lines")
            walls.append(wall)
            peaks.append(peak)
            tops.append(top)
        wall = statistics.median(walls)
        rates[n] = n * EVENTS / wall
        print(f"  {n} source(s): {rates[n]:9.0f} events/s (median of {RUNS}, "
              f"{wall:.2f} s), peak RSS: tree {max(peaks) / 1024:.1f} MiB, "
              f"first process {max(tops) / 1024:.1f} MiB")
    print(f"  merged / one source: {rates[4] / rates[1]:.2f} (goal: at least 0.5)")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        ping_fleet(tmp, "Ping")
        ping_fleet(tmp, "")
        down_and_silent(tmp)
        merged_events(tmp)


if __name__ == "__main__":
    main()
