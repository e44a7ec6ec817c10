#!/usr/bin/env python3
"""filter_bench.py - what tail-events' server filters save: the bytes the
server sends and ami's CPU time, with and without them, in the same run.

Usage: python3 bench/filter_bench.py [N]       (run by `make bench`)
  N             events the server streams per session (default 30000)
  RUNS=5        runs of each case, alternated; the table shows medians
  AMI=./ami     the binary

The test server (tests/fake_ami.py, Asterisk 22's filter rules) streams a
busy PBX's mix (--flood-mix: VarSet, Newexten, Newstate, Hangup... over 50
channels, 1 event in 50 on PJSIP/100), the same events to every session
(--events-from-start). ami runs

  ami tail-events --json --match 'Channel=PJSIP/100*' --until StreamDone

once as it is (a MatchCriteria filter goes to the server) and once with
--no-server-filter (every event comes and ami drops 49 in 50), its output
read and its lines counted by this script. Bytes are what the server wrote
to that connection (its log's SENT line); CPU is ami's user + system time
(wait4), not the server's.
"""
import os
import re
import statistics
import subprocess
import sys
import time

from benchlib import count_lines
MIX = "VarSet=50,Newexten=20,Newstate=10,Hangup=5,Newchannel=5,DialBegin=5,UserEvent=5"
MATCH = "Channel=PJSIP/100*"


def start_server(n, log):
    srv = subprocess.Popen(["python3", "tests/fake_ami.py", "--events", str(n), "--flood-mix", MIX,
                            "--events-from-start", "--log", log, "--lifetime", "3600"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    word, port = srv.stdout.readline().split()[:2]
    assert word == b"READY", word
    return srv, int(port)


def sent_lines(log):
    with open(log) as f:
        return [int(m.group(1)) for m in re.finditer(r"^SENT (\d+) ", f.read(), re.M)]


def run_once(ami, port, log, filtered, env):
    before = len(sent_lines(log))
    cmd = [ami, "tail-events", "--host", "127.0.0.1", "--port", str(port), "-u", "hello", "--json",
           "--match", MATCH, "--until", "StreamDone"] + ([] if filtered else ["--no-server-filter"])
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    lines = count_lines(proc.stdout)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("ami failed: " + " ".join(cmd))
    for _ in range(200):            # the server logs SENT when it closes
        sent = sent_lines(log)
        if len(sent) > before:
            break
        time.sleep(0.05)
    return sent[before], (usage.ru_utime + usage.ru_stime) * 1000, lines, wall


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30000
    runs = int(os.environ.get("RUNS", "5"))
    ami = os.environ.get("AMI", "./ami")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    env.update(AMI_SECRET="world", AMI_CONFIG="/dev/null")
    log = "bench/out/filter_bench.log"
    os.makedirs("bench/out", exist_ok=True)
    open(log, "w").close()
    srv, port = start_server(n, log)
    results = {True: [], False: []}
    try:
        for _ in range(runs):
            for filtered in (True, False):
                results[filtered].append(run_once(ami, port, log, filtered, env))
    finally:
        srv.terminate()
        srv.wait()
    print("server filters: %d events per session (%s), 1 in 50 on PJSIP/100;" % (n, MIX))
    print("ami tail-events --json --match '%s' --until StreamDone, medians of %d" % (MATCH, runs))
    print("%-22s %14s %12s %9s %9s" % ("", "bytes received", "ami CPU ms", "printed", "wall s"))
    med = {}
    for filtered, label in ((True, "server filter"), (False, "--no-server-filter")):
        cols = list(zip(*results[filtered]))
        med[filtered] = [statistics.median(c) for c in cols]
        b, cpu, lines, wall = med[filtered]
        print("%-22s %14d %12.1f %9d %9.2f" % (label, b, cpu, lines, wall))
    if med[True][2] != med[False][2]:
        sys.exit("the two cases printed different numbers of events")
    print("%-22s %14s %12s" % ("without / with", "%.1f x" % (med[False][0] / med[True][0]),
                               "%.1f x" % (med[False][1] / max(med[True][1], 0.001))))


if __name__ == "__main__":
    main()
