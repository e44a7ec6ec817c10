#!/usr/bin/env python3
"""capture_check.py - compares the test server's answers with a capture of
the real Asterisk 22 (tests/captures/asterisk-22), header by header.

  capture_check.py replay PORT NAME [OLD=NEW ...]
      Sends the actions of NAME.sent.raw one at a time (each OLD replaced by
      NEW first: a channel or bridge name of the capture by the server's),
      reads the answer to each (the response and, for a list, its events up
      to EventList: Complete) and compares it with the captured answer: the
      same messages, the same header names in the same order, the same
      values once volatile ones are masked (ids, sequence numbers, times);
      the items of a list may come in any order.
  capture_check.py events NAME FILE EVENT...
      FILE holds what the server sent; for each EVENT the first event of
      that name in FILE must have the header names of the first one in the
      capture, in the same order (ActionID aside), and the same Privilege.

Prints each difference; exits 1 when there is one.
"""

import os
import re
import socket
import sys

CAPTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "captures", "asterisk-22")

# Values that differ from run to run: masked before comparing.
VOLATILE = {"Duration", "Wait", "LoginTime", "AnsweredTime", "LongestHoldTime", "Uptime",
            "LastReload", "EventTV", "SessionTV", "SessionID", "RemoteAddress", "Timestamp",
            "Seconds", "LastCall", "LastPause", "HoldTime", "TalkTime", "CoreStartupDate",
            "CoreStartupTime", "CoreReloadDate", "CoreReloadTime", "CoreProcessedCalls"}
MASKS = [(re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
         (re.compile(r"-[0-9a-f]{8}(;[12])?\b"), r"-<seq>\1"),
         (re.compile(r"\b\d{9,10}\.\d+\b"), "<uniqueid>")]


def messages(data):
    """The messages of a byte stream (the banner line dropped), each a list
    of header lines (a value keeps a stray "\\n" before the CRLF)."""
    text = data.decode("utf-8", "surrogateescape")
    if text.startswith("Asterisk Call Manager/"):
        text = text.split("\r\n", 1)[1]
    return [block.split("\r\n") for block in text.split("\r\n\r\n") if block.strip("\r\n")]


def header(msg, name):
    for line in msg:
        if line.startswith(name + ": "):
            return line[len(name) + 2:]
    return None


def masked(msg):
    out = []
    for line in msg:
        name, sep, value = line.partition(": ")
        if name in VOLATILE:
            value = "*"
        for rx, repl in MASKS:
            value = rx.sub(repl, value)
        out.append(name + sep + value)
    return out


def answers(msgs):
    """Captured messages grouped by ActionID, in order (events without one
    are not part of an answer)."""
    groups = []
    for msg in msgs:
        aid = header(msg, "ActionID")
        if aid is None:
            continue
        if groups and groups[-1][0] == aid:
            groups[-1][1].append(msg)
        else:
            groups.append((aid, [msg]))
    return groups


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.pending = []

    def next_message(self):
        while True:
            if b"\r\n\r\n" in self.buf:
                block, self.buf = self.buf.split(b"\r\n\r\n", 1)
                if block.startswith(b"Asterisk Call Manager/"):
                    block = block.split(b"\r\n", 1)[1] if b"\r\n" in block else b""
                if block:
                    return block.decode("utf-8", "surrogateescape").split("\r\n")
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buf += chunk

    def answer(self, action, aid):
        """The response to one action and, for a list, its events."""
        out = []
        while True:
            msg = self.next_message()
            if header(msg, "ActionID") != aid:
                continue            # an event of its own
            out.append(msg)
            if msg[0].startswith("Response: ") and header(msg, "EventList") != "start":
                return out
            if header(msg, "EventList") == "Complete":
                return out


def compare(what, want, got):
    """Differences between two answers (lists of messages)."""
    diffs = []
    want, got = [masked(m) for m in want], [masked(m) for m in got]
    if len(want) != len(got):
        diffs.append("%s: %d messages captured, %d received" % (what, len(want), len(got)))
    if len(want) > 2 and len(got) > 2:
        # A list: start and Complete in place, the items in any order.
        want = want[:1] + sorted(want[1:-1]) + want[-1:]
        got = got[:1] + sorted(got[1:-1]) + got[-1:]
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            diffs.append("%s, message %d:\n  captured: %s\n  received: %s"
                         % (what, i + 1, " | ".join(w), " | ".join(g)))
    return diffs


def replay(port, name, maps):
    with open(os.path.join(CAPTURES, name + ".sent.raw"), "rb") as f:
        sent = f.read().decode("utf-8", "surrogateescape")
    with open(os.path.join(CAPTURES, name + ".recv.raw"), "rb") as f:
        captured = answers(messages(f.read()))
    client = Client(port)
    diffs = []
    for n, block in enumerate(b for b in sent.split("\r\n\r\n") if b.strip()):
        action = header(block.split("\r\n"), "Action")
        for old, new in maps:
            block = block.replace(old, new)
        aid = header(block.split("\r\n"), "ActionID")
        client.sock.sendall((block + "\r\n\r\n").encode("utf-8", "surrogateescape"))
        got = client.answer(action, aid)
        want = next((a[1] for a in captured if a[0] == aid), [])
        diffs += compare("%s (ActionID %s)" % (action, aid), want, got)
    return diffs


def event_formats(name, path, wanted):
    with open(os.path.join(CAPTURES, name + ".recv.raw"), "rb") as f:
        captured = messages(f.read())
    with open(path, "rb") as f:
        got = messages(f.read())
    diffs = []
    for ev in wanted:
        want = next((m for m in captured if m[0] == "Event: " + ev), None)
        mine = next((m for m in got if m[0] == "Event: " + ev), None)
        if want is None:
            diffs.append("%s: not in the capture %s" % (ev, name))
        elif mine is None:
            diffs.append("%s: the server sent none" % ev)
        else:
            # An ActionID depends on who originated the call.
            names = [[line.partition(":")[0] for line in m if not line.startswith("ActionID:")]
                     for m in (want, mine)]
            if names[0] != names[1] or header(want, "Privilege") != header(mine, "Privilege"):
                diffs.append("%s:\n  captured: %s\n  received: %s"
                             % (ev, " | ".join(want), " | ".join(mine)))
    return diffs


def main(argv):
    if argv[0] == "replay":
        maps = [tuple(a.split("=", 1)) for a in argv[3:]]
        diffs = replay(int(argv[1]), argv[2], maps)
    else:
        diffs = event_formats(argv[1], argv[2], argv[3:])
    for d in diffs:
        print(d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
