#!/usr/bin/env python3
"""Prints the CLI output Asterisk 22 returned for a command in the capture
tcp-command.recv.raw (the Output: values, one per line), to compare with
what `ami command` prints."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CAP = os.environ.get("AMI_CAPTURES", os.path.join(HERE, "captures", "asterisk-22"))
want = sys.argv[1]
sent = open(os.path.join(CAP, "tcp-command.sent.raw"), "rb").read().decode()
recv = open(os.path.join(CAP, "tcp-command.recv.raw"), "rb").read().decode()
ids = {}
for block in sent.split("\r\n\r\n"):
    h = dict(l.split(": ", 1) for l in block.split("\r\n") if ": " in l)
    if h.get("Action") == "Command" and h.get("Command") == want:
        ids = h["ActionID"]
for block in recv.split("\r\n\r\n"):
    lines = block.split("\r\n")
    if "ActionID: " + ids in lines:
        print("\n".join(l[len("Output: "):] for l in lines if l.startswith("Output: ")))
