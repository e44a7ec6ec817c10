#!/usr/bin/env python3
"""calls_bench.py - a day of events to a call report: `ami calls --from`.

Usage: python3 bench/calls_bench.py [CALLS [UP]]   (run by `make bench`)
  CALLS=20000   calls in the recorded day; UP=50 calls up at once
  RUNS=3        runs per case; the table shows the median wall time and the
                largest peak RSS
  AMI=./ami     the binary; MAXRSS=bench/out/maxrss the RSS meter

It writes a recording as `ami tail-events --format raw --timestamp` writes
one: a day of two-party calls as Asterisk 22 sends them (Newchannel,
Newexten, VarSet, DialBegin/End with both snapshots, Newstate, Bridge*,
Hangup, DeviceStateChange: 19 events a call, ~460 bytes each, each with
its ReceivedAt), UP calls up at once taking turns; one call in five is not
answered (DialEnd NOANSWER, no bridge: 11 events). Then, on the same file
in the same run, timed from start to exit:

  ami tail-events --from F --format raw     (baseline: reading it back)
  ami tail-events --from F --json           (baseline: every event as JSON)
  ami calls --from F                        (the report, one line a call)
  ami calls --from F --json                 (one record a call)

raw to /dev/null, the others into a pipe whose lines are counted (check:
one line per event, or per call, exit 0); CPU is the user + system time
of ami (steadier than wall time on a loaded machine); peak RSS is that of
ami alone (bench/out/maxrss).
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import count_lines
T0 = 1796515200.0               # 2026-12-06 00:00:00 UTC
DAY = 86400.0


def snapshot(px, call, leg, state):
    desc = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}[state]
    num = 1000 + call % 9000 + (10000 if leg else 0)
    uid = "1796500000.%d" % (2 * call + leg)
    return ("{p}Channel: PJSIP/{n}-{c:08x}\r\n{p}ChannelState: {s}\r\n"
            "{p}ChannelStateDesc: {d}\r\n{p}CallerIDNum: {n}\r\n{p}CallerIDName: Caller {n}\r\n"
            "{p}ConnectedLineNum: <unknown>\r\n{p}ConnectedLineName: <unknown>\r\n"
            "{p}Language: en\r\n{p}AccountCode: \r\n{p}Context: from-internal\r\n"
            "{p}Exten: {n}\r\n{p}Priority: {pr}\r\n{p}Uniqueid: {u}\r\n"
            "{p}Linkedid: 1796500000.{l}\r\n").format(
                p=px, n=num, c=2 * call + leg, s=state, d=desc, pr=2 if leg == 0 else 1,
                u=uid, l=2 * call)


def bridge(call, members):
    return ("BridgeUniqueid: 3dd14c3a-2c02-4941-8f1a-%012x\r\nBridgeType: basic\r\n"
            "BridgeTechnology: simple_bridge\r\nBridgeCreator: <unknown>\r\n"
            "BridgeName: <unknown>\r\nBridgeNumChannels: %d\r\n"
            "BridgeVideoSourceMode: none\r\n" % (call, members))


def call_events(call):
    """The events of one call: (name, body) pairs."""
    answered = call % 5 != 0
    ev = [("Newchannel", snapshot("", call, 0, 4)),
          ("Newexten", snapshot("", call, 0, 4) +
           "Extension: 2000\r\nApplication: Dial\r\nAppData: PJSIP/2000,30\r\n"),
          ("VarSet", snapshot("", call, 0, 4) + "Variable: DIALSTATUS\r\nValue: \r\n"),
          ("Newchannel", snapshot("", call, 1, 0)),
          ("DialBegin", snapshot("", call, 0, 4) + snapshot("Dest", call, 1, 0) +
           "DialString: 2000\r\n"),
          ("Newstate", snapshot("", call, 1, 5))]
    if answered:
        ev += [("Newstate", snapshot("", call, 1, 6)),
               ("DialEnd", snapshot("", call, 0, 4) + snapshot("Dest", call, 1, 6) +
                "DialStatus: ANSWER\r\n"),
               ("Newstate", snapshot("", call, 0, 6)),
               ("BridgeCreate", bridge(call, 0)),
               ("BridgeEnter", bridge(call, 1) + snapshot("", call, 0, 6)),
               ("BridgeEnter", bridge(call, 2) + snapshot("", call, 1, 6)),
               ("BridgeLeave", bridge(call, 1) + snapshot("", call, 0, 6)),
               ("BridgeLeave", bridge(call, 0) + snapshot("", call, 1, 6)),
               ("BridgeDestroy", bridge(call, 0))]
        state, cause = 6, "Cause: 16\r\nCause-txt: Normal Clearing\r\n"
    else:
        ev += [("DialEnd", snapshot("", call, 0, 4) + snapshot("Dest", call, 1, 5) +
                "DialStatus: NOANSWER\r\n")]
        state, cause = 4, "Cause: 19\r\nCause-txt: No user responding\r\n"
    ev += [("HangupRequest", snapshot("", call, 0, state) + "Cause: 16\r\n"),
           ("Hangup", snapshot("", call, 1, state) + cause),
           ("Hangup", snapshot("", call, 0, state) + cause),
           ("DeviceStateChange", "Device: PJSIP/%d\r\nState: NOT_INUSE\r\n" % (1000 + call % 9000))]
    return ev


def stamp(t):
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03d+00:00" % (ms % 1000)


def write_recording(path, calls, up):
    """UP calls up at once, one event each in turn, over a day."""
    step = DAY / (calls * 17.4)        # 17.4 events a call on average
    slots = [(i, call_events(i), 0) for i in range(min(up, calls))]
    following, events, t = len(slots), 0, T0
    with open(path, "w", newline="") as f:
        while slots:
            alive = []
            for call, ev, k in slots:
                name, body = ev[k]
                f.write("Event: %s\r\nPrivilege: call,all\r\n%sReceivedAt: %s\r\n\r\n" %
                        (name, body, stamp(t)))
                t += step
                events += 1
                if k + 1 < len(ev):
                    alive.append((call, ev, k + 1))
                elif following < calls:
                    alive.append((following, call_events(following), 0))
                    following += 1
            slots = alive
    return events


def run_once(ami, maxrss, rssfile, args, env, counted):
    cmd = [maxrss, rssfile, ami] + args
    lines = None
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    if not counted:
        with open(os.devnull, "wb") as null:
            proc = subprocess.Popen(cmd, stdout=null, env=env)
    else:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
        lines = count_lines(proc.stdout)
    proc.wait()
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    with open(rssfile) as f:
        rss = int(f.read())
    return wall, cpu, rss, proc.returncode, lines


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    up = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    runs = int(os.environ.get("RUNS", "3"))
    ami = os.environ.get("AMI", "./ami")
    maxrss = os.environ.get("MAXRSS", "bench/out/maxrss")
    tmp = tempfile.mkdtemp(prefix="ami-calls-bench.")
    rec, rssfile = os.path.join(tmp, "day.ami"), os.path.join(tmp, "rss")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    env.update(HOME=tmp, XDG_CONFIG_HOME=tmp, LC_ALL="C", TZ="UTC")

    events = write_recording(rec, calls, up)
    size = os.path.getsize(rec)
    print("ami calls --from benchmark: %s, %d cores, load %s" %
          (time.strftime("%Y-%m-%d %H:%M:%S"), os.cpu_count(),
           " ".join(open("/proc/loadavg").read().split()[:3])))
    print("recording: %d calls (%d up at once), %d events, %.0f MB (%d B/event); median of %d runs"
          % (calls, up, events, size / 1e6, size // events, runs))
    print()
    print("%-34s %8s %11s %7s %8s %6s" % ("command", "wall s", "events/s", "CPU s", "RSS MiB",
                                          "check"))
    cases = [("tail-events --from F --format raw", ["tail-events", "--format", "raw"], None),
             ("tail-events --from F --json", ["tail-events", "--json"], events),
             ("calls --from F", ["calls"], calls),
             ("calls --from F --json", ["calls", "--json"], calls)]
    walls, cpus = {}, {}
    for label, args, want in cases:
        args = [args[0], "--from", rec] + args[1:]
        times, cpu, rss, ok = [], [], 0, True
        for _ in range(runs):
            wall, used, peak, rc, lines = run_once(ami, maxrss, rssfile, args, env,
                                                   want is not None)
            times.append(wall)
            cpu.append(used)
            rss = max(rss, peak)
            ok &= rc == 0 and (want is None or lines == want)
        walls[label], cpus[label] = statistics.median(times), statistics.median(cpu)
        print("%-34s %8.3f %11.0f %7.3f %8.1f %6s" %
              (label, walls[label], events / walls[label], cpus[label], rss / 1024,
               "ok" if ok else "FAIL"), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print()
    for what in ("wall", "CPU"):
        t = walls if what == "wall" else cpus
        print("calls --from F --json, %s time: %.2f x reading the recording back raw, "
              "%.2f x printing it as JSON" %
              (what, t["calls --from F --json"] / t["tail-events --from F --format raw"],
               t["calls --from F --json"] / t["tail-events --from F --json"]))


if __name__ == "__main__":
    main()
