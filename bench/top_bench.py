#!/usr/bin/env python3
"""top_bench.py - `ami top` on a busy PBX: CPU, redraws, RSS, snapshot time.

Usage: python3 bench/top_bench.py             (run by `make bench-top`)
  SECONDS=60    how long the panel is measured
  RUNS=5        runs of the snapshot (the table shows the median)
  CALLS=1000    two-party calls the server holds (2 channels each)
  RATE=1000     events/s the server sends while calls end and begin
  AMI=./ami     the binary; FAKE=tests/fake_ami.py the server;
  EVSRC=bench/out/evsrc  the C server for the snapshot's second run

The server is the test AMI server with CALLS answered two-party calls in
basic bridges (2 x CALLS channels) that live at about RATE events/s. Then:

  1. `ami top --once --json --view channels`, RUNS times: wall and CPU
     time (user + system of the ami process, from start to exit: connect,
     login, CoreShowChannels of every channel, print, logoff), the rows;
     against the test server, then against bench/out/evsrc --channels,
     which answers the list as fast as C can write it: the wall time there
     is ami's own. Its baseline, in the same run: `ami ping -c 1` against
     evsrc (connect, login, one round trip, logoff), what any command costs
     before the 2,000 channels; on a loaded machine both walls include the
     waits for a core, the CPU times do not.
  2. The live panel in a 120x40 tmux window for SECONDS, after a warm-up:
     its CPU time over those SECONDS (utime + stime from /proc, so time
     spent waiting on a loaded machine does not count), its redraws (from
     its -v summary at exit), the messages it read, and its peak RSS
     (VmHWM).
  3. The baseline, in the same run: `ami tail-events --format raw` to
     /dev/null on the same stream for the same SECONDS: what reading the
     events alone costs.

The secret goes through the environment, never argv.
"""
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CLK = os.sysconf("SC_CLK_TCK")


def env_int(name, default):
    return int(os.environ.get(name, default))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK     # utime, stime


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def start_server(fake, calls, rate, tmp):
    log = open(os.path.join(tmp, "fake.err"), "w")
    srv = subprocess.Popen([sys.executable, fake, "--calls", str(calls), "--event-rate", str(rate),
                            "--lifetime", "3600"], stdout=subprocess.PIPE, stderr=log)
    word, port = srv.stdout.readline().split()
    assert word == b"READY", word
    return srv, port.decode()


SNAPSHOT = ["top", "--once", "--json", "--view", "channels"]


def snapshot(ami, env, runs, evsrc=None, channels=0, args=SNAPSHOT):
    walls, cpus, rows = [], [], 0
    for _ in range(runs):
        if evsrc:       # one client per evsrc process
            src = subprocess.Popen([evsrc, "--channels", str(channels), "--timeout", "20"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            word, port = src.stdout.readline().split()
            assert word == b"PORT", word
            env = dict(env, AMI_PORT=port.decode())
        t0 = time.monotonic()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)    # µs, where os.times has ticks
        out = subprocess.run([ami] + args, env=env, stdout=subprocess.PIPE, check=True).stdout
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(time.monotonic() - t0)
        cpus.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
        rows = out.count(b"\n")
        if evsrc:
            src.wait()
    return statistics.median(walls), statistics.median(cpus), rows


def panel(ami, env, seconds, tmp):
    sock, pidfile, err = (os.path.join(tmp, n) for n in ("tmux.sock", "top.pid", "top.err"))
    cmd = "sh -c 'echo $$ >%s; exec %s top -v 2>%s'; sleep 30" % (pidfile, ami, err)
    subprocess.run(["tmux", "-S", sock, "-f", "/dev/null", "new-session", "-d", "-x", "120",
                    "-y", "40", cmd], env=env, check=True)
    for _ in range(200):
        if os.path.exists(pidfile) and open(pidfile).read().strip():
            break
        time.sleep(0.05)
    pid = int(open(pidfile).read())
    time.sleep(5)                       # logged in, lists read, steady state
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds(pid), time.monotonic()
    rss = peak_rss_kib(pid)
    subprocess.run(["tmux", "-S", sock, "send-keys", "q"], check=True)
    for _ in range(100):
        if not os.path.exists("/proc/%d" % pid):
            break
        time.sleep(0.05)
    subprocess.run(["tmux", "-S", sock, "kill-server"], stderr=subprocess.DEVNULL)
    text = open(err).read()
    m = re.search(r"(\d+) redraws in ([\d.]+) s \(([\d.]+) a second\); (\d+) messages read", text)
    if not m:
        sys.exit("no redraw summary from ami top -v:\n" + text)
    return {"cpu": c1 - c0, "wall": t1 - t0, "rss": rss, "redraws": int(m.group(1)),
            "draw_s": float(m.group(2)), "messages": int(m.group(4))}


def baseline(ami, env, seconds):
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen([ami, "tail-events", "--format", "raw"], env=env, stdout=null)
        time.sleep(5)
        c0, t0 = cpu_seconds(p.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(p.pid), time.monotonic()
        p.terminate()
        p.wait()
    return c1 - c0, t1 - t0


def main():
    ami = os.path.abspath(os.environ.get("AMI", "./ami"))
    fake = os.environ.get("FAKE", "tests/fake_ami.py")
    evsrc = os.environ.get("EVSRC", "bench/out/evsrc")
    seconds, runs = env_int("SECONDS", 60), env_int("RUNS", 5)
    calls, rate = env_int("CALLS", 1000), env_int("RATE", 1000)
    if not shutil.which("tmux"):
        sys.exit("top_bench: tmux is needed for the panel")
    tmp = tempfile.mkdtemp(prefix="top_bench.")
    srv, port = start_server(fake, calls, rate, tmp)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm-256color",
           "HOME": tmp, "AMI_HOST": "127.0.0.1", "AMI_PORT": port, "AMI_USER": "hello",
           "AMI_SECRET": "world", "LANG": os.environ.get("LANG", "C.UTF-8")}
    try:
        time.sleep(3)                   # the calls are set up
        wall, cpu, rows = snapshot(ami, env, runs)
        print("# %d calls, %d events/s asked of the server; load average %.1f" %
              (calls, rate, os.getloadavg()[0]))
        print("snapshot  --once --json --view channels: %d rows, median of %d: "
              "%.0f ms wall, %.0f ms CPU (goal: < 100 ms)" % (rows, runs, wall * 1000, cpu * 1000))
        wall, cpu, rows = snapshot(ami, env, runs, evsrc, 2 * calls)
        print("          the same from bench/out/evsrc: %d rows, %.0f ms wall, %.0f ms CPU" %
              (rows, wall * 1000, cpu * 1000))
        wall, cpu, _ = snapshot(ami, env, runs, evsrc, 2 * calls, ["ping", "-c", "1", "-q"])
        print("baseline  ping -c 1 on bench/out/evsrc (login, one action, logoff): "
              "%.0f ms wall, %.0f ms CPU" % (wall * 1000, cpu * 1000))
        p = panel(ami, env, seconds, tmp)
        share = 100.0 * p["cpu"] / p["wall"]
        print("panel     %.0f s: %.2f s CPU = %.2f %% of a core (goal: <= 5 %%); "
              "%.1f redraws/s (goal: <= 10); peak RSS %.1f MiB (goal: < 8); "
              "%.0f messages/s read" % (p["wall"], p["cpu"], share, p["redraws"] / p["draw_s"],
                                        p["rss"] / 1024.0, p["messages"] / p["draw_s"]))
        bcpu, bwall = baseline(ami, env, seconds)
        print("baseline  tail-events --format raw, %.0f s: %.2f s CPU = %.2f %% of a core; "
              "the panel costs %.1f x reading the stream" %
              (bwall, bcpu, 100.0 * bcpu / bwall, p["cpu"] / bcpu if bcpu else float("inf")))
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
