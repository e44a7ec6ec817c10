#!/usr/bin/env python3
"""fake_ami.py - a test AMI server that answers like Asterisk 22.10.1.

Every byte format here was checked against the transcripts of a real
Asterisk 22 in tests/captures/asterisk-22 (copied from shared/captures) (CRLF, "Name: value", empty
values as "Name: ", ActionID placement, error texts, the 1 s delay before a
failed Login is answered, Goodbye then close, EventList start/Complete).

Usage: python3 tests/fake_ami.py [options]
  Binds 127.0.0.1 (port 0 = ephemeral, or --port N), prints "READY <port>"
  on stdout once listening, serves many connections at once (one thread
  each) and exits by itself after --lifetime seconds or on SIGTERM.

Users: hello/world (read=all, write=all), limited/limited (read=system,
write=system; like real Asterisk, an action is allowed when its privilege
shares a class with the user's write classes), reader/world (read=all,
write=call,reporting: no Filter).

--log FILE         one line per received message: "RECV <Action> Name=value ..."
                   (Secret and Key shown as ****), plus "CONNECT <peer>", "CLOSE <peer>"
--violations FILE  one line per protocol violation by the client (the server
                   still answers like Asterisk would); helper.bash fails the
                   test when this file is not empty
--strict           an unknown action name is a violation too
--channels N       N answered Local channels exist from the start (as ;1/;2 pairs)
--events N         after a login with events on, stream N events from the
                   corpus (--corpus FILE, default: the events-stream capture),
                   then "Event: StreamDone"; --event-rate R events/s;
                   --drop-after N closes the connection after N stream events
--write-timeout MS like Asterisk's writetimeout: a client that takes nothing of a
                   write for MS ms is disconnected (logged as "WRITE TIMEOUT <peer>")
--hostile MODE     misbehave in one way (see HOSTILE_MODES and tests/hostile.bats):
                   close-after-banner  greeting, then close
                   huge-banner         1 MiB greeting without a line end
                   close-after-login   answer Login, then close
                   huge-message        a Login answer of 18 MB (300 lines of 60000)
                   event-flood         after Login, answer nothing and send
                                       events without end (~5000/s)
                   stream-at-login     ignore "Events: off" at Login and start
                                       --events right away, as benchmark
                                       servers do
                   junk-login          answer Login with a block that has
                                       neither Response: nor Event:
                   login-not-success   answer Login with "Response: Pending"
                   two-junk-blocks     after Login, two such blocks before
                                       each response (three-junk-blocks: three)
                   events-before-login five events before the Login response
                   no-read also gives the listening socket a tiny receive
                   buffer: with small send buffers too (hostile.bats sets
                   them in a network namespace) a big action then blocks
--user NAME:SECRET one more user with every permission (repeatable)

Originate outcomes are chosen by words in the dial string (after "Tech/"):
  nonexistent | fail | hangup, or tech Bogus/   Failure, Reason 0
  Local/ev@...  UserEvent TestEvent (Foo: bar), then Failure, Reason 0
  busy -> Failure 5     congest -> Failure 8     noanswer -> Failure 3 (after
  min(Timeout, 1 s))    slow -> answered after 1 s (Failure 3 if Timeout < 1 s)
  anything else -> answered at once (Reason 4); "short" hangs up 1 s later.

Layout: the AMI logic (Session: one request in, messages out through a sink)
knows nothing of sockets; TcpConnection is one sink/transport. An HTTP
(/rawman, /mxml, WaitEvent) or TLS transport only needs another class with
the sink methods write/event/close/abort/wait_below and the address
properties, feeding Request objects to Session.handle().
"""

import argparse
import hashlib
import os
import queue
import random
import re
import select
import signal
import socket
import struct
import sys
import threading
import time

# ---------------------------------------------------------------------------
# Constants taken from Asterisk 22 (manager.c, manager.h) and the captures.

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
AMI_VERSION = "11.0.0"
ASTERISK_VERSION = "22.10.1"
INT_MAX = 0x7FFFFFFF
MAX_LINE = 1024      # inbuf[1025]: a line plus its terminator must fit in 1024 bytes
MAX_HEADERS = 128    # AST_MAX_MANHEADERS
CLOSE = "close"      # Session.handle() results for the transport
NOREAD = "noread"

# The permission classes in Asterisk's order (authority_to_str walks them).
PERMS = [
    ("system", 1 << 0), ("call", 1 << 1), ("log", 1 << 2), ("verbose", 1 << 3),
    ("command", 1 << 4), ("agent", 1 << 5), ("user", 1 << 6), ("config", 1 << 7),
    ("dtmf", 1 << 8), ("reporting", 1 << 9), ("cdr", 1 << 10), ("dialplan", 1 << 11),
    ("originate", 1 << 12), ("agi", 1 << 13), ("cc", 1 << 15), ("aoc", 1 << 16),
    ("test", 1 << 17), ("security", 1 << 18), ("message", 1 << 19),
    ("all", INT_MAX), ("none", 0),
]
PERM = dict(PERMS)
AST_TRUE = {"yes", "true", "y", "t", "1", "on"}
AST_FALSE = {"no", "false", "n", "f", "0", "off"}

HOSTILE_MODES = [
    "no-banner", "http-banner", "ssh-banner", "silent-after-banner",
    "close-mid-message", "drip", "huge-line", "many-headers", "nul-bytes",
    "bad-utf8", "lf-only", "stray-lf", "wrong-actionid", "out-of-order",
    "endless-eventlist", "follows-no-end", "old-command", "double-login",
    "ping-error", "reset", "no-read",
    # added for the hostile-server suite (tests/hostile.bats):
    "close-after-banner", "huge-banner", "close-after-login", "huge-message",
    "event-flood", "stream-at-login",
    # junk is never a response (issue 11):
    "junk-login", "login-not-success", "two-junk-blocks", "three-junk-blocks",
    "events-before-login",
]

# Blocks with neither Response: nor Event: (two-junk-blocks etc.).
JUNK_COUNTS = {"two-junk-blocks": 2, "three-junk-blocks": 3}
JUNK_BLOCK = b"Welcome to the chat service\r\nUsers-Online: 3\r\n\r\n"

# ListCommands of the captured server, verbatim (tcp-listcommands): it also
# gives every action's write privilege, "<none>" meaning anyone may run it.
LISTCOMMANDS = """\
AbsoluteTimeout: Set absolute timeout.  (Priv: system,call,all)
AgentLogoff: Sets an agent as no longer logged in.  (Priv: agent,all)
Agents: Lists agents and their status.  (Priv: agent,all)
AGI: Add an AGI command to execute by Async AGI.  (Priv: agi,all)
AOCMessage: Generate an Advice of Charge message on a channel.  (Priv: aoc,all)
Atxfer: Attended transfer.  (Priv: call,all)
BlindTransfer: Blind transfer channel(s) to the given destination  (Priv: call,all)
Bridge: Bridge two channels already in the PBX.  (Priv: call,all)
BridgeDestroy: Destroy a bridge.  (Priv: <none>)
BridgeInfo: Get information about a bridge.  (Priv: <none>)
BridgeKick: Kick a channel from a bridge.  (Priv: <none>)
BridgeList: Get a list of bridges in the system.  (Priv: <none>)
BridgeTechnologyList: List available bridging technologies and their statuses.  (Priv: <none>)
BridgeTechnologySuspend: Suspend a bridging technology.  (Priv: <none>)
BridgeTechnologyUnsuspend: Unsuspend a bridging technology.  (Priv: <none>)
CancelAtxfer: Cancel an attended transfer.  (Priv: call,all)
Challenge: Generate Challenge for MD5 Auth.  (Priv: <none>)
Command: Execute Asterisk CLI Command.  (Priv: command,all)
ConfbridgeKick: Kick a Confbridge user.  (Priv: call,all)
ConfbridgeList: List participants in a conference.  (Priv: reporting,all)
ConfbridgeListRooms: List active conferences.  (Priv: reporting,all)
ConfbridgeLock: Lock a Confbridge conference.  (Priv: call,all)
ConfbridgeMute: Mute a Confbridge user.  (Priv: call,all)
ConfbridgeSetSingleVideoSrc: Set a conference user as the single video source distributed to all other participants.  (Priv: call,all)
ConfbridgeStartRecord: Start recording a Confbridge conference.  (Priv: system,all)
ConfbridgeStopRecord: Stop recording a Confbridge conference.  (Priv: system,all)
ConfbridgeUnlock: Unlock a Confbridge conference.  (Priv: call,all)
ConfbridgeUnmute: Unmute a Confbridge user.  (Priv: call,all)
ControlPlayback: Control the playback of a file being played to a channel.  (Priv: call,all)
CoreSettings: Show PBX core settings (version etc).  (Priv: system,reporting,all)
CoreShowChannelMap: List all channels connected to the specified channel.  (Priv: system,reporting,all)
CoreShowChannels: List currently active channels.  (Priv: system,reporting,all)
CoreStatus: Show PBX core status variables.  (Priv: system,reporting,all)
CreateConfig: Creates an empty file in the configuration directory.  (Priv: config,all)
DBDel: Delete DB entry.  (Priv: system,all)
DBDelTree: Delete DB Tree.  (Priv: system,all)
DBGet: Get DB Entry.  (Priv: system,reporting,all)
DBGetTree: Get DB entries, optionally at a particular family/key  (Priv: system,reporting,all)
DBPut: Put DB entry.  (Priv: system,all)
DeviceStateList: List the current known device states.  (Priv: call,reporting,all)
DialplanExtensionAdd: Add an extension to the dialplan  (Priv: system,all)
DialplanExtensionRemove: Remove an extension from the dialplan  (Priv: system,all)
Events: Control Event Flow.  (Priv: <none>)
ExtensionState: Check Extension Status.  (Priv: call,reporting,all)
ExtensionStateList: List the current known extension states.  (Priv: call,reporting,all)
FAXSession: Responds with a detailed description of a single FAX session  (Priv: call,all)
FAXSessions: Lists active FAX sessions  (Priv: call,all)
FAXStats: Responds with fax statistics  (Priv: reporting,all)
Filter: Dynamically add filters for the current manager session.  (Priv: system,all)
GetConfig: Retrieve configuration.  (Priv: system,config,all)
GetConfigJSON: Retrieve configuration (JSON format).  (Priv: system,config,all)
Getvar: Gets a channel variable or function value.  (Priv: call,reporting,all)
Hangup: Hangup channel.  (Priv: system,call,all)
ListCategories: List categories in configuration file.  (Priv: config,all)
ListCommands: List available manager commands.  (Priv: <none>)
LocalOptimizeAway: Optimize away a local channel when possible.  (Priv: system,call,all)
LoggerRotate: Reload and rotate the Asterisk logger.  (Priv: system,reporting,all)
Login: Login Manager.  (Priv: <none>)
Logoff: Logoff Manager.  (Priv: <none>)
MailboxCount: Check Mailbox Message Count.  (Priv: call,reporting,all)
MailboxStatus: Check mailbox.  (Priv: call,reporting,all)
MessageSend: Send an out of call message to an endpoint.  (Priv: message,all)
MixMonitor: Record a call and mix the audio during the recording.  Use of StopMixMonitor is required to guarantee the audio file is available for processing during dialplan execution.  (Priv: system,all)
MixMonitorMute: Mute / unMute a Mixmonitor recording.  (Priv: system,call,all)
ModuleCheck: Check if module is loaded.  (Priv: system,all)
ModuleLoad: Module management.  (Priv: system,all)
MuteAudio: Mute an audio stream.  (Priv: system,all)
Originate: Originate a call.  (Priv: originate,all)
Park: Park a channel.  (Priv: call,all)
ParkedCalls: List parked calls.  (Priv: call,all)
Parkinglots: Get a list of parking lots  (Priv: call,all)
Ping: Keepalive command.  (Priv: <none>)
PlayDTMF: Play DTMF signal on a specific channel.  (Priv: call,all)
PlayMF: Play MF digit on a specific channel.  (Priv: call,all)
PresenceState: Check Presence State  (Priv: call,reporting,all)
PresenceStateList: List the current known presence states.  (Priv: call,reporting,all)
QueueAdd: Add interface to queue.  (Priv: agent,all)
QueueChangePriorityCaller: Change priority of a caller on queue.  (Priv: <none>)
QueueLog: Adds custom entry in queue_log.  (Priv: agent,all)
QueueMemberRingInUse: Set the ringinuse value for a queue member.  (Priv: agent,all)
QueuePause: Makes a queue member temporarily unavailable.  (Priv: agent,all)
QueuePenalty: Set the penalty for a queue member.  (Priv: agent,all)
QueueReload: Reload a queue, queues, or any sub-section of a queue or queues.  (Priv: <none>)
QueueRemove: Remove interface from queue.  (Priv: agent,all)
QueueReset: Reset queue statistics.  (Priv: <none>)
QueueRule: Queue Rules.  (Priv: <none>)
QueueStatus: Show queue status.  (Priv: <none>)
QueueSummary: Show queue summary.  (Priv: <none>)
QueueWithdrawCaller: Request to withdraw a caller from the queue back to the dialplan.  (Priv: <none>)
Redirect: Redirect (transfer) a call.  (Priv: call,all)
Reload: Send a reload event.  (Priv: system,config,all)
SendFlash: Send a hook flash on a specific channel.  (Priv: call,all)
SendText: Sends a text message to channel. A content type\tcan be optionally specified. If not set it is set to an empty string allowing a custom handler to default it as it sees fit.  (Priv: call,all)
Setvar: Sets a channel variable or function value.  (Priv: call,all)
ShowDialPlan: Show dialplan contexts and extensions  (Priv: config,reporting,all)
SorceryMemoryCacheExpire: Expire (remove) ALL objects from a sorcery memory cache.  (Priv: system,all)
SorceryMemoryCacheExpireObject: Expire (remove) an object from a sorcery memory cache.  (Priv: system,all)
SorceryMemoryCachePopulate: Expire all objects from a memory cache and populate it with all objects from the backend.  (Priv: system,all)
SorceryMemoryCacheStale: Marks ALL objects in a sorcery memory cache as stale.  (Priv: system,all)
SorceryMemoryCacheStaleObject: Mark an object in a sorcery memory cache as stale.  (Priv: system,all)
Status: List channel status.  (Priv: system,call,reporting,all)
StopMixMonitor: Stop recording a call through MixMonitor, and free the recording's file handle.  (Priv: system,call,all)
UpdateConfig: Update basic configuration.  (Priv: config,all)
UserEvent: Send an arbitrary event.  (Priv: user,all)
VoicemailBoxSummary: Show the mailbox contents of given voicemail user.  (Priv: call,reporting,all)
VoicemailForward: Forward Voicemail from one mailbox folder to another between given users.  (Priv: user,all)
VoicemailMove: Move Voicemail between mailbox folders of given user.  (Priv: user,all)
VoicemailRefresh: Tell Asterisk to poll mailboxes for a change  (Priv: user,all)
VoicemailRemove: Remove Voicemail from mailbox folder.  (Priv: user,all)
VoicemailUsersList: List All Voicemail User Information.  (Priv: call,reporting,all)
VoicemailUserStatus: Show the status of given voicemail user's info.  (Priv: call,reporting,all)
WaitEvent: Wait for an event to occur.  (Priv: <none>)""".split("\n")

CORESETTINGS = [
    "AMIversion: " + AMI_VERSION, "AsteriskVersion: " + ASTERISK_VERSION,
    "SystemName: ", "CoreMaxCalls: 0", "CoreMaxLoadAvg: 0.000000", "CoreRunUser: ",
    "CoreRunGroup: ", "CoreMaxFilehandles: 0", "CoreRealTimeEnabled: No",
    "CoreCDRenabled: Yes", "CoreHTTPenabled: Yes", "SoundsSearchCustomDir: No",
]

VERSION_LINE = ("Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux "
                "on 2026-11-26 06:04:47 UTC")

DIALPLAN_TEST = """\
[ Context 'test' created by 'pbx_config' ]
  'echo' =>         1. Answer()                                   [extensions.conf:12]
                    2. Echo()                                     [extensions.conf:13]
  'ev' =>           1. UserEvent(TestEvent,Foo: bar)              [extensions.conf:21]
                    2. Hangup()                                   [extensions.conf:22]
  'hangup' =>       1. Hangup()                                   [extensions.conf:15]
  'loop' =>         1. Answer()                                   [extensions.conf:8]
                    2. Wait(3600)                                 [extensions.conf:9]
                    3. Hangup()                                   [extensions.conf:10]
  'play' =>         1. Answer()                                   [extensions.conf:38]
                    2. Playback(tt-weasels)                       [extensions.conf:39]
                    3. Hangup()                                   [extensions.conf:40]
  'short' =>        1. Answer()                                   [extensions.conf:25]
                    2. Verbose(1,short call ${CHANNEL})           [extensions.conf:26]
                    3. Set(LABVAR=short-${EPOCH})                 [extensions.conf:27]
                    4. Wait(3)                                    [extensions.conf:28]
                    5. Hangup()                                   [extensions.conf:29]
  'slow' =>         1. Ringing()                                  [extensions.conf:32]
                    2. Wait(2)                                    [extensions.conf:33]
                    3. Answer()                                   [extensions.conf:34]
                    4. Wait(30)                                   [extensions.conf:35]
                    5. Hangup()                                   [extensions.conf:36]
  'wait20' =>       1. Answer()                                   [extensions.conf:17]
                    2. Wait(20)                                   [extensions.conf:18]
                    3. Hangup()                                   [extensions.conf:19]

-= 8 extensions (24 priorities) in 1 context. =-"""

# What the ;2 leg of Local/<exten>@test runs once answered (the captured
# dialplan); anything else waits an hour like test/loop.
DIALPLAN_APP = {"loop": ("Wait", "3600"), "wait20": ("Wait", "20"), "echo": ("Echo", ""),
                "short": ("Wait", "3"), "slow": ("Wait", "30"), "play": ("Playback", "tt-weasels"),
                "1234": ("Wait", "600")}

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}

CAUSE_TXT = {0: "Unknown", 1: "Unallocated (unassigned) number", 3: "No route to destination",
             16: "Normal Clearing", 17: "User busy", 18: "No user responding",
             19: "User alerting, no answer", 21: "Call Rejected", 27: "Destination out of order",
             28: "Invalid number format", 31: "Normal, unspecified",
             34: "Circuit/channel congestion"}

# Failure outcomes by word in the dial string: (kind, Reason, hangup cause).
OUTCOME_WORDS = [("nonexistent", ("fail", 0, 0)), ("fail", ("fail", 0, 16)),
                 ("hangup", ("fail", 0, 16)), ("busy", ("fail", 5, 17)),
                 ("congest", ("fail", 8, 34)), ("noanswer", ("noanswer", 3, 19)),
                 ("slow", ("slow", 4, None))]


class User:
    def __init__(self, name, secret, readperm, writeperm):
        self.name, self.secret = name, secret
        self.readperm, self.writeperm = readperm, writeperm


USERS = [User("hello", "world", INT_MAX, INT_MAX),
         User("limited", "limited", PERM["system"], PERM["system"]),
         # reads everything but may not use system actions such as Filter
         User("reader", "world", INT_MAX, PERM["call"] | PERM["reporting"])]


def find_user(name):
    # Asterisk compares user names with strcasecmp.
    for u in USERS:
        if name and u.name.lower() == name.lower():
            return u
    return None


def action_table():
    """Maps lower-case action name to (Name, synopsis line, write mask)."""
    table = {}
    for line in LISTCOMMANDS:
        name = line.split(":", 1)[0]
        priv = line.rsplit("(Priv: ", 1)[1].rstrip(")")
        # authority_to_str() appends "all" to every class list; it is not
        # part of the action's authority.
        classes = [c for c in priv.split(",") if c not in ("all", "<none>")]
        table[name.lower()] = (name, line, sum(PERM[c] for c in classes))
    return table


# ---------------------------------------------------------------------------
# Permission strings, as parsed by manager.c (quirks included).

def ast_instring(big, small):
    """ast_instring(): tokens before a comma only need to be a prefix of the
    class (strncmp with the token's length), so "sys,call" matches system and
    an empty token matches every class; the last token must match exactly."""
    tokens = big.split(",")
    if any(small.startswith(tok) for tok in tokens[:-1]):
        return True
    return tokens[-1] == small


def get_perm(s):
    mask = 0
    for label, num in PERMS:
        if ast_instring(s, label):
            mask |= num
    return mask


def strings_to_mask(s):
    """Event mask from a Login Events: or EventMask: value; None = unchanged."""
    if not s:
        return None
    if s.isdigit() and s.isascii():
        return min(int(s), INT_MAX)
    if s.lower() in AST_FALSE:
        return 0
    if s.lower() in AST_TRUE:
        return INT_MAX
    return get_perm(s)


def authority_to_str(mask):
    labels = [label for label, num in PERMS[:-1] if mask & num]
    return ",".join(labels) if labels else "<none>"


def category_of(privilege):
    mask = 0
    for label in privilege.lower().split(","):
        if label != "all":
            mask |= PERM.get(label.strip(), 0)
    return mask


# ---------------------------------------------------------------------------
# Messages.

def to_str(b):
    # surrogateescape keeps any byte, so odd input is echoed back unchanged.
    return b.decode("utf-8", "surrogateescape")


def to_bytes(s):
    return s.encode("utf-8", "surrogateescape")


def encode(lines):
    return to_bytes("\r\n".join(lines) + "\r\n\r\n")


BLANKS = "".join(chr(c) for c in range(33))     # what ast_skip_blanks() skips


class Request:
    """One received message: its raw header lines, looked up the way
    __astman_get_header() does (name, then ':' right away; blanks after the
    colon skipped; the first match wins)."""

    def __init__(self, lines, too_long=False, too_many=False):
        self.lines, self.too_long, self.too_many = lines, too_long, too_many

    def values(self, name):
        n = len(name)
        for h in self.lines:
            if h[:n].lower() == name.lower() and h[n:n + 1] == ":":
                yield h[n + 1:].lstrip(BLANKS)

    def get(self, name, skip_empty=False):
        for v in self.values(name):
            if v or not skip_empty:
                return v
        return ""

    def get_all(self, name):
        return list(self.values(name))


class Event:
    """An event ready for the wire, with the class bits its Privilege names."""

    def __init__(self, data):
        self.data = data
        self.text = to_str(data)
        first = self.text.split("\r\n", 1)[0]
        self.name = first[7:] if first.startswith("Event: ") else ""
        self.category = 0
        for line in self.text.split("\r\n"):
            if line.startswith("Privilege: "):
                self.category = category_of(line[11:])
                break

    @classmethod
    def build(cls, name, category, lines):
        return cls(encode(["Event: " + name, "Privilege: " + authority_to_str(category)] + lines))

    def header(self, name):
        prefix = name.lower() + ":"
        return [line[len(prefix):].lstrip() for line in self.text.split("\r\n")
                if line.lower().startswith(prefix)]


def now_tv(t=None):
    """EventTV / SessionTV: 2026-11-26T06:25:11.576+0000 (we always use UTC)."""
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03d+0000" % int(t % 1 * 1000)


def leading_int(s):
    """sscanf("%30d"): None when the string does not start with a number."""
    m = re.match(r"\s*([+-]?\d+)", s)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------
# Originate Variable: splitting (AST_STANDARD_APP_ARGS + man_do_variable_value).

def separate_args(buf, limit=64):
    """__ast_app_separate_args(buf, ',', remove_chars=1): commas inside (),
    [] or "..." do not split; quotes are removed; a backslash is removed and
    the character after it is kept literally."""
    args, cur, i = [], [], 0
    paren = bracket = quote = 0
    while i < len(buf):
        c = buf[i]
        if c == "(":
            paren += 1
        elif c == ")" and paren:
            paren -= 1
        elif c == "[":
            bracket += 1
        elif c == "]" and bracket:
            bracket -= 1
        elif c == '"':
            quote ^= 1
            i += 1
            continue
        elif c == "\\":
            i += 1
            if i < len(buf):
                cur.append(buf[i])
            i += 1
            continue
        elif c == "," and not (paren or quote or bracket) and len(args) < limit - 2:
            args.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    if cur or (buf and buf.endswith(",")) or not args:
        args.append("".join(cur))
    return args


def originate_variables(values):
    """The (name, value) pairs Asterisk sets from the Variable: headers, in
    header order; items without '=' or with an empty name are dropped."""
    pairs = []
    for raw in values:
        for item in separate_args(raw.lstrip(" \t")):
            name, eq, value = item.partition("=")
            if eq and name:
                pairs.append((name, value))
    return pairs


def parse_callerid(s):
    """ast_callerid_parse + ast_shrink_phone_number: (num, name)."""
    s = s.strip()
    if not s:
        return "", ""
    m = re.match(r'^(.*?)<([^>]*)>', s)
    if m:
        name, num = m.group(1).strip().strip('"').strip(), m.group(2)
    elif re.fullmatch(r"[0-9+*#()\-. ]+", s):
        name, num = "", s
    else:
        name, num = s.strip('"'), ""
    return re.sub(r"[()\-. ]", "", num), name


# ---------------------------------------------------------------------------
# Logging of what the client did.

class Recorder:
    def __init__(self, log_path, violations_path):
        self.lock = threading.Lock()
        self.log_f = open(log_path, "ab") if log_path else None
        self.viol_f = open(violations_path, "ab") if violations_path else None

    def _write(self, f, text):
        if f is None:
            return
        # One physical line per record, whatever bytes the client sent.
        text = re.sub(r"[\x00-\x1f\x7f]", lambda m: "\\x%02x" % ord(m.group()), text)
        with self.lock:
            f.write(to_bytes(text) + b"\n")
            f.flush()

    def log(self, text):
        self._write(self.log_f, text)

    def violation(self, conn_id, text):
        self._write(self.viol_f, "conn %d: %s" % (conn_id, text))

    def recv(self, req):
        action = req.get("Action", skip_empty=True) or "-"
        parts = ["RECV", action]
        for line in req.lines:
            name, colon, value = line.partition(":")
            if not colon:
                parts.append(line)
                continue
            if name.lower() == "action":
                continue
            value = value.lstrip(" \t")
            if name.lower() in ("secret", "key"):
                value = "****"
            parts.append(name + "=" + value)
        self.log(" ".join(parts))


# ---------------------------------------------------------------------------
# Simulated channels.

class Channel:
    def __init__(self, name, uniqueid, linkedid, context, exten, device):
        self.name, self.uniqueid, self.linkedid = name, uniqueid, linkedid
        self.context, self.exten, self.priority = context, exten, 1
        self.device, self.tech = device, name.split("/", 1)[0]
        self.state = 0
        self.cid_num = self.cid_name = self.conn_num = self.conn_name = ""
        self.account = ""
        self.app = self.appdata = ""
        self.vars = {}
        self.peer = None          # the other half of a Local channel
        self.created = time.time()

    def seconds(self):
        return int(time.time() - self.created)

    def duration(self):
        s = self.seconds()
        return "%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)

    def callerid_all(self):
        if self.cid_name and self.cid_num:
            return '"%s" <%s>' % (self.cid_name, self.cid_num)
        return self.cid_name or self.cid_num


def chan_blob(ch, prefix=""):
    """The channel snapshot every channel event starts with."""
    def unk(v):
        return v if v else "<unknown>"
    fields = [("Channel", ch.name), ("ChannelState", ch.state),
              ("ChannelStateDesc", STATE_DESC.get(ch.state, "Unknown")),
              ("CallerIDNum", unk(ch.cid_num)), ("CallerIDName", unk(ch.cid_name)),
              ("ConnectedLineNum", unk(ch.conn_num)), ("ConnectedLineName", unk(ch.conn_name)),
              ("Language", "en"), ("AccountCode", ch.account), ("Context", ch.context),
              ("Exten", ch.exten), ("Priority", ch.priority), ("Uniqueid", ch.uniqueid),
              ("Linkedid", ch.linkedid)]
    return ["%s%s: %s" % (prefix, k, v) for k, v in fields]


def ev_chan(name, cls, ch, extra=()):
    return Event.build(name, PERM[cls], chan_blob(ch) + list(extra))


def ev_newexten(ch):
    return ev_chan("Newexten", "dialplan", ch,
                   ["Extension: " + ch.exten, "Application: " + ch.app, "AppData: " + ch.appdata])


def ev_dial(name, dest, extra):
    return Event.build(name, PERM["call"], chan_blob(dest, "Dest") + [extra])


def ev_devstate(ch, state):
    return Event.build("DeviceStateChange", PERM["call"],
                       ["Device: " + ch.device, "State: " + state])


def ev_hangup(ch, cause):
    return ev_chan("Hangup", "call", ch,
                   ["Cause: %d" % cause, "Cause-txt: " + CAUSE_TXT.get(cause, "Unknown")])


def ev_callerid(ch):
    return [ev_chan("NewCallerid", "call", ch,
                    ["CID-CallingPres: 0 (Presentation Allowed, Not Screened)"]),
            ev_chan("NewConnectedLine", "call", ch)]


# ---------------------------------------------------------------------------
# Event filters (Filter action): legacy regex and 22.1+ MatchCriteria.

FILTER_METHODS = {
    "regex": lambda pat, s: re.search(pat, s) is not None,
    "exact": lambda pat, s: s == pat,
    "starts_with": lambda pat, s: s.startswith(pat),
    "ends_with": lambda pat, s: s.endswith(pat),
    "contains": lambda pat, s: pat in s,
    "none": lambda pat, s: True,
}


class EventFilters:
    """No filters: everything passes. Includes only: an event must match one.
    Excludes only: it must match none. Both: includes first, then excludes."""

    def __init__(self):
        self.include, self.exclude = [], []

    def add(self, criteria, pattern):
        """Returns an error message, or None when the filter was added."""
        opts = {"action": "include", "method": "regex"}
        if criteria:
            items = re.findall(r"\s*(\w+)\(([^()]*)\)\s*(?:,|$)", criteria)
            rebuilt = ",".join("%s(%s)" % kv for kv in items)
            if not items or rebuilt != re.sub(r"\s*,\s*", ",", criteria.strip()):
                return "Filter was formatted incorrectly.  Check the syntax of the filter given."
            opts.update((k.lower(), v) for k, v in items)
            if (opts["action"] not in ("include", "exclude") or opts["method"] not in FILTER_METHODS
                    or set(opts) - {"action", "method", "name", "header"}):
                return "Filter was formatted incorrectly.  Check the syntax of the filter given."
        elif not pattern:
            return "Filter was formatted incorrectly.  Check the syntax of the filter given."
        elif pattern.startswith("!"):
            opts["action"], pattern = "exclude", pattern[1:]
        if opts["method"] == "regex":
            try:
                pattern = re.compile(pattern)
            except re.error:
                return "Filter did not compile.  Check the syntax of the filter given."
        method = FILTER_METHODS[opts["method"]]
        pred = self._predicate(opts.get("name"), opts.get("header"), method, pattern)
        (self.include if opts["action"] == "include" else self.exclude).append(pred)
        return None

    @staticmethod
    def _predicate(name, header, method, pattern):
        def pred(ev):
            if name and ev.name != name:
                return False
            targets = ev.header(header) if header else [ev.text]
            return any(method(pattern, t) for t in targets)
        return pred

    def match(self, ev):
        if self.include and not any(p(ev) for p in self.include):
            return False
        return not any(p(ev) for p in self.exclude)


# ---------------------------------------------------------------------------
# The shared state of the simulated PBX.

class World:
    def __init__(self, opts, rec):
        self.opts, self.rec, self.hostile = opts, rec, opts.hostile
        self.lock = threading.RLock()
        self.start = time.time()
        self.port = 0
        self.sessions = set()
        self.channels = []            # in creation order
        self.globals = {}
        self.uid_seq = 0              # Uniqueid = <epoch>.<sequence>
        self.local_seq = 0            # Local/x@y-<8 hex>;1
        self.processed = 0
        self.corpus, self.corpus_pos = [], 0
        self.stop = threading.Event()

    def uniqueid(self):
        with self.lock:
            uid = "%d.%d" % (time.time(), self.uid_seq)
            self.uid_seq += 1
            return uid

    def add_session(self, s):
        with self.lock:
            self.sessions.add(s)

    def drop_session(self, s):
        with self.lock:
            self.sessions.discard(s)

    def broadcast(self, ev):
        """manager_event(): every session decides by its own mask and filters."""
        with self.lock:
            targets = list(self.sessions)
        for s in targets:
            s.post_event(ev)

    def post_all(self, events):
        for ev in events:
            self.broadcast(ev)

    def find_channel(self, name):
        with self.lock:
            for ch in self.channels:
                if ch.name == name:
                    return ch
        return None

    def new_legs(self, tech, data, ids=("", "")):
        """Creates the channel(s) an Originate dials: two halves for Local/."""
        with self.lock:
            self.local_seq += 1
            seq = self.local_seq
            self.processed += 1
        resource = data.split("/", 1)[0] if tech.lower() == "local" else data
        exten, _, context = resource.partition("@")
        device = "%s/%s" % (tech, resource)
        uid1 = ids[0] or self.uniqueid()
        if tech.lower() != "local":
            ch = Channel("%s-%08x" % (device, seq), uid1, uid1, "default", "s", device)
            return [ch]
        uid2 = ids[1] or (ids[0] + ";2" if ids[0] else self.uniqueid())
        one = Channel("%s-%08x;1" % (device, seq), uid1, uid1, context or "default", exten, device)
        two = Channel("%s-%08x;2" % (device, seq), uid2, uid1, one.context, exten, device)
        one.peer, two.peer = two, one
        two.state = 4
        return [one, two]

    def attach(self, legs):
        with self.lock:
            self.channels.extend(legs)

    def detach(self, ch):
        """Removes a channel and its Local peer; returns those that were up."""
        with self.lock:
            gone = [c for c in (ch, ch.peer) if c is not None and c in self.channels]
            for c in gone:
                self.channels.remove(c)
            return gone

    def precreate(self, n):
        for i in range(n):
            if i % 2 == 0:
                legs = self.new_legs("Local", "loop@test")
                for ch in legs:
                    answer_leg(ch)
                    ch.app, ch.appdata = "Wait", "3600"
            if i == n - 1 and i % 2 == 0:
                legs[0].peer = None       # an odd count: this ;1 has no ;2
            self.attach([legs[i % 2]])

    def corpus_next(self):
        with self.lock:
            ev = self.corpus[self.corpus_pos % len(self.corpus)]
            self.corpus_pos += 1
            return ev

    def load_corpus(self, path):
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            if self.opts.corpus:
                raise
            raw = b""
        blocks = [b + b"\r\n\r\n" for b in raw.split(b"\r\n\r\n") if b.startswith(b"Event: ")]
        self.corpus = [Event(b) for b in blocks] or synthetic_corpus(self)


def synthetic_corpus(world):
    """Used when the capture is not available: one small call."""
    one, two = world.new_legs("Local", "loop@test")
    evs = [ev_chan("Newchannel", "call", one), ev_chan("Newchannel", "call", two)]
    for ch in (two, one):
        answer_leg(ch)
        evs.append(ev_chan("Newstate", "call", ch))
    evs.append(Event.build("UserEvent", PERM["user"], ["UserEvent: TestEvent", "Foo: bar"]))
    evs += [ev_hangup(two, 16), ev_hangup(one, 16)]
    return evs


def answer_leg(ch):
    ch.state = 6
    if ch.name.endswith(";2"):
        ch.priority = 2
        ch.app, ch.appdata = DIALPLAN_APP.get(ch.exten, ("Wait", "3600"))


def hangup_events(ch, cause):
    """What Asterisk sends when a channel (and its Local peer) is hung up."""
    evs = []
    peer = ch.peer
    if peer is not None:
        evs.append(ev_chan("HangupRequest", "call", peer, ["Cause: %d" % cause]))
    evs.append(ev_hangup(ch, cause))
    if peer is not None:
        evs.append(ev_chan("SoftHangupRequest", "call", peer, ["Cause: 16"]))
        evs.append(ev_hangup(peer, cause))
    evs += [ev_devstate(c, "NOT_INUSE") for c in (ch, peer) if c is not None]
    return evs


def hangup_channel(world, ch, cause):
    gone = world.detach(ch)
    if ch in gone:
        world.post_all(hangup_events(ch, cause))
    return bool(gone)


# ---------------------------------------------------------------------------
# Originate.

class Originate:
    """The parsed request of one Originate action."""

    def __init__(self, req, aid):
        self.aid = aid
        self.dial = req.get("Channel")
        self.tech, _, self.data = self.dial.partition("/")
        self.app, self.appdata = req.get("Application"), req.get("Data")
        self.context, self.exten = req.get("Context"), req.get("Exten")
        self.priority = req.get("Priority")
        self.pi = 0
        self.timeout = req.get("Timeout")
        self.timeout_ms = 30000
        self.is_async = req.get("Async").lower() in AST_TRUE
        self.cid_num, self.cid_name = parse_callerid(req.get("CallerID"))
        self.ids = (req.get("ChannelId"), req.get("OtherChannelId"))
        self.variables = originate_variables(req.get_all("Variable"))

    def check(self):
        """The error Asterisk answers at once, or None."""
        if not self.dial:
            return "Channel not specified"
        if self.priority:
            self.pi = leading_int(self.priority)
            if self.pi is None:
                return "Invalid priority"      # no dialplan labels here
        if self.timeout:
            to = leading_int(self.timeout)
            if to is None:
                return "Invalid timeout"
            self.timeout_ms = to
        if "/" not in self.dial:
            return "Invalid channel"
        if not self.app and not (self.exten and self.context and self.pi):
            return "Originate with 'Exten' requires 'Context' and 'Priority'"
        if not self.app and "nonexistent" in self.exten.lower():
            return "Extension does not exist."
        return None

    def outcome(self):
        if self.tech.lower() == "bogus":
            return ("fail", 0, None)
        if self.tech.lower() == "local" and self.data.split("@")[0] == "ev":
            return ("fail", 0, 16)      # test/ev: UserEvent, then Hangup unanswered
        low = self.data.lower()
        for word, result in OUTCOME_WORDS:
            if word in low:
                if result[0] == "slow" and self.timeout_ms < 1000:
                    return ("noanswer", 3, 19)
                return result
        return ("answer", 4, None)

    def response_event(self, ok, reason, ch):
        lines = ["ActionID: " + self.aid] if self.aid else []
        lines += ["Response: " + ("Success" if ok else "Failure"),
                  "Channel: " + (ch.name if ok else self.dial)]
        if self.app:
            lines += ["Application: " + self.app, "Data: " + self.appdata]
        else:
            lines += ["Context: " + self.context, "Exten: " + self.exten]
        lines += ["Reason: %d" % reason,
                  "Uniqueid: " + (ch.uniqueid if ok else (self.ids[0] or "<unknown>")),
                  "CallerIDNum: " + (self.cid_num or "<unknown>"),
                  "CallerIDName: " + (self.cid_name or "<unknown>")]
        return Event.build("OriginateResponse", PERM["call"], lines)


def set_variables(ch, pairs):
    for name, value in pairs:
        ch.vars[name] = value
    return [ev_chan("VarSet", "dialplan", ch, ["Variable: " + k, "Value: " + v]) for k, v in pairs]


def originate_setup(o, legs):
    """Events of a new call up to the point where it rings (capture order)."""
    evs = [ev_chan("Newchannel", "call", ch) for ch in legs]
    first = legs[0]
    first.app, first.appdata = "AppDial2", "(Outgoing Line)"
    evs.append(ev_newexten(first))
    # Asterisk prepends each variable to its list: the ;1 leg sets them in reverse.
    for i, ch in enumerate(legs):
        evs += set_variables(ch, o.variables[::-1] if i == 0 else o.variables)
        if o.cid_num or o.cid_name:
            ch.cid_num, ch.cid_name = o.cid_num, o.cid_name
            ch.conn_num, ch.conn_name = o.cid_num, o.cid_name
            evs += ev_callerid(ch)
    if len(legs) == 2:
        lb = chan_blob(legs[0], "LocalOne") + chan_blob(legs[1], "LocalTwo")
        lb += ["Context: " + legs[1].context, "Exten: " + legs[1].exten, "LocalOptimization: Yes"]
        evs.append(Event.build("LocalBridge", PERM["call"], lb))
        evs.append(ev_dial("DialBegin", first, "DialString: " + o.data))
    return evs


def originate_fail(world, o, legs, reason, cause, report):
    evs = []
    if legs:
        evs += originate_setup(o, legs)
        if len(legs) == 2 and legs[1].exten == "ev":
            evs.append(ev_chan("UserEvent", "user", legs[1], ["UserEvent: TestEvent", "Foo: bar"]))
        if len(legs) == 2:
            evs.append(ev_hangup(legs[1], cause))
    world.post_all(evs)
    report(False, reason, None)
    evs = [ev_hangup(legs[0], cause)] if legs else []
    state = "INVALID" if cause == 0 else "NOT_INUSE"
    evs += [ev_devstate(ch, state) for ch in legs]
    world.post_all(evs)


def originate_answer(world, o, legs, report):
    one, two = legs[0], legs[1] if len(legs) == 2 else None
    evs = []
    if two is not None:
        two.app, two.appdata = "Answer", ""
        evs.append(ev_newexten(two))
        two.state = 6
        evs.append(ev_chan("Newstate", "call", two))
    one.state = 6
    evs.append(ev_chan("Newstate", "call", one))
    if o.app:
        one.app, one.appdata = o.app, o.appdata
    else:
        one.app, one.appdata = DIALPLAN_APP.get(o.exten, ("Wait", "3600"))
    world.attach(legs)
    world.post_all(evs)
    report(True, 4, one)
    evs = [ev_dial("DialEnd", one, "DialStatus: ANSWER")] if two is not None else []
    evs += [ev_devstate(ch, "INUSE") for ch in legs]
    if two is not None:
        answer_leg(two)
        evs.append(ev_newexten(two))
    if not o.app:
        # The ;1 leg goes to Context/Exten/Priority only once answered.
        one.context, one.exten, one.priority = o.context, o.exten, o.pi
        evs.append(ev_newexten(one))
    world.post_all(evs)


def run_originate(world, o, report):
    """Plays one call. report(ok, reason, channel) is called once the outcome
    is known: it sends OriginateResponse (Async) or the Response (not)."""
    kind, reason, cause = o.outcome()
    legs = [] if o.tech.lower() == "bogus" else world.new_legs(o.tech, o.data, o.ids)
    if kind == "fail":
        originate_fail(world, o, legs, reason, cause, report)
        return
    world.post_all(originate_setup(o, legs))
    if kind in ("noanswer", "slow"):
        legs[0].state = 5
        world.broadcast(ev_chan("Newstate", "call", legs[0]))
        time.sleep(min(o.timeout_ms, 1000) / 1000.0)
        if kind == "noanswer":
            originate_fail(world, o, [], reason, cause, report)
            world.post_all([ev_hangup(ch, cause) for ch in legs])
            return
    originate_answer(world, o, legs, report)
    if "short" in o.data.lower():
        threading.Timer(1.0, hangup_channel, (world, legs[0], 16)).start()


# ---------------------------------------------------------------------------
# CLI commands for the Command action.

def uptime_str(secs):
    parts = []
    for unit, n in (("year", 31536000), ("week", 604800), ("day", 86400),
                    ("hour", 3600), ("minute", 60)):
        if secs >= n:
            q, secs = divmod(secs, n)
            parts.append("%d %s%s" % (q, unit, "" if q == 1 else "s"))
    if secs or not parts:
        parts.append("%d second%s" % (secs, "" if secs == 1 else "s"))
    return ", ".join(parts)


def ess(n):
    return "" if n == 1 else "s"


def cli_channels(world, concise):
    with world.lock:
        chans = list(world.channels)
        processed = world.processed
    if concise:
        return ["%s!%s!%s!%d!%s!%s!%s!%s!%s!!3!%d!!%s" % (
            c.name, c.context, c.exten, c.priority, STATE_DESC.get(c.state, "Unknown"), c.app,
            c.appdata, c.cid_num, c.account, c.seconds(), c.uniqueid) for c in chans]
    fmt = "%-64.64s %-32.32s %-7.7s %-30.30s"
    out = [fmt % ("Channel", "Location", "State", "Application(Data)")]
    for c in chans:
        appdata = "%s(%s)" % (c.app, c.appdata) if c.app else "(None)"
        out.append(fmt % (c.name, "%s@%s:%d" % (c.exten, c.context, c.priority),
                          STATE_DESC.get(c.state, "Unknown"), appdata))
    calls = len({c.linkedid for c in chans})
    out += ["%d active channel%s" % (len(chans), ess(len(chans))),
            "%d active call%s" % (calls, ess(calls)),
            "%d call%s processed" % (processed, ess(processed))]
    return out


KNOWN_CLI = ["core show version", "core show channels", "core show channels concise",
             "core show uptime", "core show uptime seconds", "core show calls",
             "core show help", "dialplan show", "module show", "manager show connected"]


def cli_unknown(words):
    """Asterisk's find_best(): the words up to the first that starts no known
    command (at least two, as the captured "no such" shows)."""
    x = 0
    while x < len(words):
        prefix = " ".join(words[:x])
        if not any(k.startswith((prefix + " " if prefix else "") + words[x]) for k in KNOWN_CLI):
            break
        x += 1
    best = " ".join(words[:max(x + 1, 2)])
    return ["No such command '%s' (type 'core show help %s' for other possible commands)"
            % (" ".join(words), best)]


def run_cli(world, command):
    """(ok, output lines, blacklisted) for a CLI command line."""
    words = command.split()
    line = " ".join(words).lower()
    if line.startswith(("module load", "module unload", "restart gracefully")):
        return False, [], True
    up = int(time.time() - world.start)
    table = {
        "core show version": lambda: [VERSION_LINE],
        "core show channels": lambda: cli_channels(world, False),
        "core show channels concise": lambda: cli_channels(world, True),
        "core show uptime": lambda: ["System uptime: " + uptime_str(up),
                                     "Last reload: " + uptime_str(up)],
        "core show uptime seconds": lambda: ["System uptime: %d" % up, "Last reload: %d" % up],
        "core show calls": lambda: cli_channels(world, False)[-2:],
        "dialplan show test": lambda: DIALPLAN_TEST.split("\n"),
    }
    if line in table:
        return True, table[line](), False
    return False, cli_unknown(words), False


# ---------------------------------------------------------------------------
# One AMI session: requests in, responses and events out through a sink.

ACTIONS = action_table()


class Session:
    """The AMI logic of one connection, independent of the transport.

    handle(Request) runs one action and returns CLOSE (the transport closes
    after sending what is queued), NOREAD (stop reading) or None. Output goes
    to `sink`, which must provide: write(bytes) for responses and list items,
    event(bytes) for asynchronous events (TCP writes them at once; an HTTP
    sink would queue them for WaitEvent), abort(), wait_below(nbytes) and the
    strings local_address / remote_address ("IPV4/TCP/127.0.0.1/5038")."""

    def __init__(self, world, sink, conn_id):
        self.world, self.sink, self.conn_id = world, sink, conn_id
        self.hostile = world.hostile
        self.lock = threading.Lock()
        self.authenticated = False
        self.closing = False
        self.user = None
        self.readperm = self.writeperm = 0
        self.mask = INT_MAX             # send_events starts as "everything"
        self.challenge = ""
        self.seen_ids = set()
        self.filters = EventFilters()
        self.busy = False
        self.pending, self.prelogin = [], []
        self.session_id = "0x7f%010x" % random.getrandbits(40)
        self.session_tv = None
        self.streaming = False
        self.held = None                 # out-of-order: a response kept back
        world.add_session(self)

    # --- output ---------------------------------------------------------

    def violation(self, text):
        self.world.rec.violation(self.conn_id, text)

    def aid(self, req):
        aid = req.get("ActionID")
        if aid and self.hostile == "wrong-actionid" and self.authenticated:
            return "wrong-" + aid
        return aid

    def send(self, lines, hold=False):
        if lines[0].startswith("Response:"):
            if self.hostile == "nul-bytes":
                lines = lines + ["Nul: before\x00after"]
            elif self.hostile == "bad-utf8":
                lines = lines + ["BadUTF8: " + to_str(b"caf\xe9 \xc3\x28 \xff\xfe")]
        data = encode(lines)
        if self.hostile in JUNK_COUNTS and self.authenticated and lines[0].startswith("Response:"):
            data = JUNK_BLOCK * JUNK_COUNTS[self.hostile] + data
        if hold and self.hostile == "out-of-order" and self.authenticated:
            self.hold_back(data)
        else:
            self.sink.write(data)

    def response(self, req, status, extra=()):
        lines = ["Response: " + status]
        aid = self.aid(req)
        if aid:
            lines.append("ActionID: " + aid)
        return lines + list(extra)

    def ack(self, req, message):
        self.send(self.response(req, "Success", ["Message: " + message]), hold=True)

    def error(self, req, message):
        self.send(self.response(req, "Error", ["Message: " + message]), hold=True)

    def list_start(self, req, message):
        self.send(self.response(req, "Success", ["EventList: start", "Message: " + message]))

    def list_item(self, req, name, lines, aid_last=False, head=()):
        aid = self.aid(req)
        aid_line = ["ActionID: " + aid] if aid else []
        body = list(head) + (lines + aid_line if aid_last else aid_line + lines)
        self.send(["Event: " + name] + body)

    def list_complete(self, req, name, count, extra=()):
        if self.hostile == "endless-eventlist":
            return
        self.list_item(req, name, ["EventList: Complete", "ListItems: %d" % count] + list(extra))

    def hold_back(self, data):
        """out-of-order: a response waits for the next one (or 0.5 s)."""
        with self.lock:
            held = self.held
            self.held = None if held else data
        if held:
            self.sink.write(data)
            self.sink.write(held)
        else:
            threading.Timer(0.5, self.flush_held).start()

    def flush_held(self):
        with self.lock:
            held, self.held = self.held, None
        if held:
            self.sink.write(held)

    # --- events -----------------------------------------------------------

    def wants(self, ev):
        cat = ev.category
        return ((self.readperm & cat) == cat and (self.mask & cat) == cat
                and self.filters.match(ev))

    def post_event(self, ev, force=False):
        """Queues an event for this session; True when it will be written."""
        with self.lock:
            if self.closing:
                return False
            if not self.authenticated:
                # Asterisk keeps events that happen before Login and sends
                # those the new session may see once it has logged in.
                if len(self.prelogin) < 1000:
                    self.prelogin.append(ev)
                return False
            if not force and not self.wants(ev):
                return False
            if self.busy:
                self.pending.append(ev)
            else:
                self.sink.event(ev.data)
            return True

    def set_busy(self, busy):
        """While an action runs no event is written (Asterisk writes queued
        events after each action), so lists and responses are never split."""
        with self.lock:
            self.busy = busy
            if busy or self.closing:
                return
            pending, self.pending = self.pending, []
            for ev in pending:
                self.sink.event(ev.data)

    def security_event(self, name, severity, extra):
        lines = ["EventTV: " + now_tv(), "Severity: " + severity, "Service: AMI",
                 "EventVersion: 1"]
        self.world.broadcast(Event.build(name, PERM["security"], lines + extra))

    def report_bad_format(self, action):
        tv = now_tv(self.session_tv) if self.session_tv else "1970-01-01T00:00:00.000+0000"
        self.security_event("RequestBadFormat", "Error", [
            "SessionID: " + self.session_id, "LocalAddress: " + self.sink.local_address,
            "RemoteAddress: " + self.sink.remote_address, "RequestType: Action: " + action,
            "SessionTV: " + tv, "AccountID: " + (self.user.name if self.user else "")])

    # --- requests -----------------------------------------------------------

    def handle(self, req):
        """Processes one request; returns CLOSE, NOREAD or None."""
        self.world.rec.recv(req)
        if req.too_many:
            self.error(req, "Too many lines in message or allocation failure")
            return None
        if req.too_long:
            self.error(req, "Failed to parse message: line too long")
            return None
        self.check_ids(req)
        if self.hostile == "event-flood" and self.authenticated:
            return None         # busy flooding: no action gets an answer
        self.set_busy(True)
        result = None
        try:
            result = self.process(req)
        finally:
            if result == CLOSE:
                self.end()
            self.set_busy(False)
        return result

    def end(self):
        with self.lock:
            self.closing = True
            self.pending = []
        self.world.drop_session(self)

    def check_ids(self, req):
        if not req.lines:
            self.violation("empty message (a stray blank line?)")
            return
        aid = req.get("ActionID")
        if not aid:
            self.violation("no ActionID in action %r" % req.get("Action", skip_empty=True))
        elif aid in self.seen_ids:
            self.violation("ActionID %r used twice in one session" % aid)
        self.seen_ids.add(aid)

    def process(self, req):
        """process_message(): the checks in Asterisk's order, then the action."""
        action = req.get("Action", skip_empty=True)
        if not action:
            self.report_bad_format("NONE")
            self.error(req, "Missing action in request")
            return None
        low = action.lower()
        if not self.authenticated and low not in ("login", "logoff", "challenge"):
            self.violation("action %s before Login" % action)
            self.error(req, "Permission denied")
            return None
        entry = ACTIONS.get(low)
        if entry is None:
            if self.world.opts.strict:
                self.violation("unknown action %r" % action)
            self.report_bad_format(action)
            self.error(req, "Invalid/unknown command: %s. Use Action: ListCommands to show "
                            "available commands." % action)
            return None
        if entry[2] and not self.writeperm & entry[2]:
            self.error(req, "Permission denied")
            return None
        handler = getattr(self, "act_" + low, None)
        if handler is None:
            self.error(req, "fake_ami does not simulate the %s action" % entry[0])
            return None
        return handler(req)

    # --- login and session control ------------------------------------------

    def authenticate(self, req):
        user = find_user(req.get("Username"))
        if req.get("AuthType").lower() != "md5":
            secret = req.get("Secret")
            return user if user and secret and secret == user.secret else None
        key = req.get("Key")
        if req.get("Secret"):
            self.violation("Secret sent with AuthType: MD5")
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            self.violation("Key %r is not 32 lower-case hex digits" % key)
        if not self.challenge:
            self.violation("MD5 Login without a Challenge")
        if not (user and key and self.challenge):
            return None
        want = hashlib.md5(to_bytes(self.challenge + user.secret)).hexdigest()
        return user if key == want else None

    def act_login(self, req):
        if self.authenticated:
            self.violation("second Login in one session")
            self.ack(req, "Already authenticated")
            return None
        if self.hostile == "close-mid-message":
            aid = self.aid(req)
            head = "Response: Success\r\n" + ("ActionID: %s\r\n" % aid if aid else "")
            self.sink.write(to_bytes(head) + b"Message: Authentic")
            return CLOSE
        if self.hostile == "junk-login":
            self.sink.write(JUNK_BLOCK)
            return None
        if self.hostile == "login-not-success":
            self.send(self.response(req, "Pending", ["Message: Authentication accepted"]))
            return None
        user = self.authenticate(req)
        if user is None:
            time.sleep(1)
            self.error(req, "Authentication failed")
            return CLOSE
        self.login(req, user)
        if self.hostile == "close-after-login":
            return CLOSE
        if self.hostile == "event-flood":
            threading.Thread(target=flood_events, args=(self,), daemon=True).start()
        return NOREAD if self.hostile == "no-read" else None

    def login(self, req, user):
        self.user, self.readperm, self.writeperm = user, user.readperm, user.writeperm
        mask = strings_to_mask(req.get("Events"))
        if mask is not None and self.hostile != "stream-at-login":
            self.mask = mask
        self.session_tv = time.time()
        extra = ["Message: Authentication accepted"]
        if self.hostile == "huge-line":
            extra.append("Huge: " + "x" * (1 << 20))
        elif self.hostile == "many-headers":
            extra += ["Header%d: %d" % (i, i) for i in range(100000)]
        elif self.hostile == "huge-message":
            # Under the line and header caps, over the 16 MiB message cap.
            extra += ["Big%d: %s" % (i, "x" * 60000) for i in range(300)]
        lines = self.response(req, "Success", extra)
        if self.hostile == "events-before-login":
            for i in range(5):
                self.send(["Event: Early", "Privilege: system,all", "Seq: %d" % (i + 1)])
        for _ in range(2 if self.hostile == "double-login" else 1):
            self.send(lines)
        with self.lock:
            self.authenticated = True
            self.pending = [ev for ev in self.prelogin if self.wants(ev)] + self.pending
            self.prelogin = []
        if self.mask & self.readperm & PERM["system"]:
            up = int(time.time() - self.world.start)
            self.send(["Event: FullyBooted", "Privilege: system,all", "Uptime: %d" % up,
                       "LastReload: %d" % up, "Status: Fully Booted"])
        self.security_event("SuccessfulAuth", "Informational", [
            "AccountID: " + user.name, "SessionID: " + self.session_id,
            "LocalAddress: " + self.sink.local_address,
            "RemoteAddress: " + self.sink.remote_address, "UsingPassword: 0",
            "SessionTV: " + now_tv(self.session_tv)])
        self.maybe_stream()

    def act_logoff(self, req):
        self.flush_held()
        self.send(self.response(req, "Goodbye", ["Message: Thanks for all the fish."]))
        return CLOSE

    def act_challenge(self, req):
        if req.get("AuthType").lower() != "md5":
            self.error(req, "Must specify AuthType")
            return None
        if not self.challenge:
            self.challenge = str(random.randint(100000000, 999999999))
        self.send(self.response(req, "Success", ["Challenge: " + self.challenge]), hold=True)
        return None

    def act_ping(self, req):
        if self.hostile == "ping-error":
            self.error(req, "Ping failed")
            return None
        t = time.time()
        self.send(self.response(req, "Success", ["Ping: Pong", "Timestamp: %.6f" % t]), hold=True)
        return None

    def act_events(self, req):
        mask = strings_to_mask(req.get("EventMask"))
        if mask is None:
            self.error(req, "Invalid event mask")
            return None
        self.mask = mask
        self.send(self.response(req, "Success", ["Events: " + ("On" if mask > 0 else "Off")]),
                  hold=True)
        self.maybe_stream()
        return None

    def act_filter(self, req):
        if req.get("Operation").lower() != "add":
            self.error(req, "Unknown operation")
            return None
        err = self.filters.add(req.get("MatchCriteria"), req.get("Filter"))
        if err:
            self.error(req, err)
        else:
            self.ack(req, "Success")
        return None

    def act_listcommands(self, req):
        self.send(self.response(req, "Success", LISTCOMMANDS), hold=True)
        return None

    def act_coresettings(self, req):
        self.send(self.response(req, "Success", CORESETTINGS), hold=True)
        return None

    def act_corestatus(self, req):
        start = time.localtime(self.world.start)
        date, clock = time.strftime("%Y-%m-%d", start), time.strftime("%H:%M:%S", start)
        with self.world.lock:
            current, processed = len(self.world.channels), self.world.processed
        self.send(self.response(req, "Success", [
            "CoreStartupDate: " + date, "CoreStartupTime: " + clock,
            "CoreReloadDate: " + date, "CoreReloadTime: " + clock,
            "CoreCurrentCalls: %d" % current, "CoreProcessedCalls: %d" % processed]), hold=True)
        return None

    def act_userevent(self, req):
        skip = ("userevent:", "action:", "actionid:")
        body = [h for h in req.lines if not h.lower().startswith(skip)]
        self.ack(req, "Event Sent")
        self.world.broadcast(Event.build("UserEvent", PERM["user"],
                                         ["UserEvent: " + req.get("UserEvent")] + body))
        return None

    # --- Command ----------------------------------------------------------

    def act_command(self, req):
        command = req.get("Command")
        if not command:
            self.error(req, "No command provided")
            return None
        ok, output, blacklisted = run_cli(self.world, command)
        if blacklisted:
            self.error(req, "Command blacklisted")
        elif self.hostile in ("old-command", "follows-no-end"):
            self.old_command_output(req, output)
        else:
            self.send(self.response(req, "Success" if ok else "Error",
                                    ["Message: Command output follows"]
                                    + ["Output: " + line for line in output or [""]]), hold=True)
        return None

    def old_command_output(self, req, output):
        """Asterisk <= 13: raw CLI text, then --END COMMAND-- (or never)."""
        head = ["Response: Follows", "Privilege: Command"]
        aid = self.aid(req)
        if aid:
            head.append("ActionID: " + aid)
        data = "\r\n".join(head) + "\r\n" + "".join(line + "\n" for line in output)
        if self.hostile == "old-command":
            data += "--END COMMAND--\r\n\r\n"
        self.sink.write(to_bytes(data))

    # --- channels -----------------------------------------------------------

    def act_coreshowchannels(self, req):
        with self.world.lock:
            chans = list(self.world.channels)
        self.list_start(req, "Channels will follow")
        for ch in chans:
            self.list_item(req, "CoreShowChannel", chan_blob(ch) + [
                "Application: " + ch.app, "ApplicationData: " + ch.appdata,
                "Duration: " + ch.duration(), "BridgeId: "])
        self.list_complete(req, "CoreShowChannelsComplete", len(chans))
        return None

    def act_status(self, req):
        name = req.get("Channel")
        with self.world.lock:
            chans = [c for c in self.world.channels if not name or c.name == name]
        if name and not chans:
            self.error(req, "No such channel")
            return None
        wanted = [v for v in req.get("Variables").split(",") if v]
        allvars = req.get("AllVariables").lower() in AST_TRUE
        self.list_start(req, "Channel status will follow")
        for ch in chans:
            lines = chan_blob(ch) + [
                "Type: " + ch.tech, "DNID: ", "EffectiveConnectedLineNum: " + ch.conn_num,
                "EffectiveConnectedLineName: " + ch.conn_name, "TimeToHangup: 0", "BridgeID: ",
                "Application: " + ch.app, "Data: " + ch.appdata, "Nativeformats: (slin)",
                "Readformat: slin", "Readtrans: ", "Writeformat: slin", "Writetrans: ",
                "Callgroup: 0", "Pickupgroup: 0", "Seconds: %d" % ch.seconds()]
            lines += ["Variable: %s=%s" % (v, self.getvar(ch, v)) for v in wanted]
            if allvars:
                lines += ["Variable: %s=%s" % kv for kv in ch.vars.items()]
            self.list_item(req, "Status", lines, aid_last=True, head=["Privilege: Call"])
        n = len(chans)
        self.list_complete(req, "StatusComplete", n, ["Items: %d" % n])
        return None

    def getvar(self, ch, name):
        """pbx_retrieve_variable / ast_func_read for what tests need."""
        w = self.world
        m = re.fullmatch(r"(\w+)\((.*)\)", name)
        if m:
            func, arg = m.group(1).upper(), m.group(2)
            if func == "GLOBAL":
                return w.globals.get(arg, "")
            if func == "ENV":
                return os.environ.get(arg, "")
            if ch is None:
                return ""
            if func == "CALLERID":
                return {"num": ch.cid_num, "number": ch.cid_num, "name": ch.cid_name,
                        "all": ch.callerid_all()}.get(arg.lower(), "")
            if func == "CHANNEL":
                return {"name": ch.name, "state": STATE_DESC.get(ch.state, "Unknown"),
                        "uniqueid": ch.uniqueid, "linkedid": ch.linkedid,
                        "context": ch.context, "exten": ch.exten, "language": "en",
                        "channeltype": ch.tech}.get(arg.lower(), "")
            return ""
        if ch is not None:
            builtin = {"CHANNEL": ch.name, "UNIQUEID": ch.uniqueid, "CONTEXT": ch.context,
                       "EXTEN": ch.exten, "PRIORITY": str(ch.priority)}
            if name in builtin:
                return builtin[name]
            if name in ch.vars:
                return ch.vars[name]
        if name == "EPOCH":
            return str(int(time.time()))
        return w.globals.get(name, "")

    def act_getvar(self, req):
        var, name = req.get("Variable"), req.get("Channel")
        if not var:
            self.error(req, "No variable specified")
            return None
        ch = self.world.find_channel(name) if name else None
        if name and ch is None:
            self.error(req, "No such channel")
            return None
        self.send(self.response(req, "Success", ["Variable: " + var,
                                                 "Value: " + self.getvar(ch, var)]), hold=True)
        return None

    def act_setvar(self, req):
        var, name, value = req.get("Variable"), req.get("Channel"), req.get("Value")
        if not var:
            self.error(req, "No variable specified")
            return None
        ch = self.world.find_channel(name) if name else None
        if name and ch is None:
            self.error(req, "No such channel")
            return None
        m = re.fullmatch(r"(\w+)\((.*)\)", var)
        if m and m.group(1).upper() == "GLOBAL":
            self.world.globals[m.group(2)] = value
        elif m and m.group(1).upper() == "CALLERID" and ch and m.group(2) in ("num", "name"):
            setattr(ch, "cid_" + m.group(2), value)
        elif m:
            self.error(req, "Variable not set")
            return None
        elif ch is not None:
            ch.vars[var] = value
        else:
            self.world.globals[var] = value
        self.ack(req, "Variable Set")
        if ch is not None and not m:
            self.world.broadcast(ev_chan("VarSet", "dialplan", ch,
                                         ["Variable: " + var, "Value: " + value]))
        return None

    def act_hangup(self, req):
        target = req.get("Channel")
        if not target:
            self.error(req, "No channel specified")
            return None
        cause = req.get("Cause")
        # strtol() over the whole value, 0..127; anything else hangs up with 0.
        cause = int(cause) if re.fullmatch(r"[+-]?\d+", cause) else 0
        cause = cause if 0 <= cause <= 127 else 0
        if not target.startswith("/"):
            ch = self.world.find_channel(target)
            if ch is None:
                self.error(req, "No such channel")
                return None
            self.ack(req, "Channel Hungup")
            hangup_channel(self.world, ch, cause)
            return None
        return self.hangup_regex(req, target, cause)

    def hangup_regex(self, req, target, cause):
        if len(target) < 2 or not target.endswith("/"):
            self.error(req, "Regex format invalid, Channel param should be /regex/")
            return None
        try:
            rx = re.compile(target[1:-1])
        except re.error:
            self.error(req, "Regex compile failed on: " + target)
            return None
        with self.world.lock:
            matched = [c for c in self.world.channels if rx.search(c.name)]
        self.list_start(req, "Channels hung up will follow")
        for ch in matched:
            self.list_item(req, "ChannelHungup", ["Channel: " + ch.name], aid_last=True)
        self.list_complete(req, "ChannelsHungupListComplete", len(matched))
        for ch in matched:
            hangup_channel(self.world, ch, cause)
        return None

    def act_redirect(self, req):
        g = req.get
        err = self.redirect_check(g("Channel"), g("Context"), g("Exten"), g("Priority"), "")
        if not err and g("ExtraChannel") and g("ExtraContext"):
            err = self.redirect_check(g("ExtraChannel"), g("ExtraContext"), g("ExtraExten"),
                                      g("ExtraPriority"), "Extra")
        if err:
            self.error(req, err)
            return None
        ch = self.world.find_channel(g("Channel"))
        if ch is None:
            self.error(req, "Channel does not exist: " + g("Channel"))
            return None
        if not g("ExtraChannel"):
            self.move(ch, g("Context"), g("Exten"), g("Priority"))
            self.ack(req, "Redirect successful")
            return None
        ch2 = self.world.find_channel(g("ExtraChannel"))
        if ch2 is None:
            self.error(req, "ExtraChannel does not exist: " + g("ExtraChannel"))
            return None
        self.move(ch, g("Context"), g("Exten"), g("Priority"))
        if g("ExtraContext"):
            self.move(ch2, g("ExtraContext"), g("ExtraExten"), g("ExtraPriority"))
        else:
            self.move(ch2, g("Context"), g("Exten"), g("Priority"))
        self.ack(req, "Dual Redirect successful")
        return None

    @staticmethod
    def redirect_check(chan, context, exten, priority, extra):
        if not chan:
            return "Channel not specified"
        if not context:
            return "Context not specified"
        if not exten:
            return extra + "Exten not specified"
        if not priority:
            return extra + "Priority not specified"
        pi = leading_int(priority)
        if pi is None or pi < 1:
            return extra + "Priority is invalid"
        return None

    @staticmethod
    def move(ch, context, exten, priority):
        ch.context, ch.exten, ch.priority = context, exten, leading_int(priority)

    def act_originate(self, req):
        o = Originate(req, req.get("ActionID"))
        err = o.check()
        if err:
            self.error(req, err)
            return None
        world = self.world
        if o.is_async:
            self.ack(req, "Originate successfully queued")

            def report(ok, reason, ch):
                world.broadcast(o.response_event(ok, reason, ch))
            threading.Thread(target=run_originate, args=(world, o, report), daemon=True).start()
            return None

        def answer(ok, reason, ch):
            # Non-async: the Response only once the call is answered or failed.
            if ok:
                self.ack(req, "Originate successfully queued")
            else:
                self.error(req, "Originate failed")
        run_originate(world, o, answer)
        return None

    # --- event stream for tail tests ----------------------------------------

    def maybe_stream(self):
        opts = self.world.opts
        if opts.events and not self.streaming and self.mask & self.readperm:
            self.streaming = True
            threading.Thread(target=stream_events, args=(self,), daemon=True).start()


STREAM_DONE = Event(b"Event: StreamDone\r\n\r\n")


def flood_events(session):
    """--hostile event-flood: 100 events every 20 ms until the end."""
    n = 0
    while not session.closing:
        chunk = []
        for _ in range(100):
            n += 1
            chunk.append("Event: Flood\r\nPrivilege: system,all\r\nSeq: %d\r\n\r\n" % n)
        session.sink.wait_below(1 << 20)
        session.sink.event(to_bytes("".join(chunk)))
        time.sleep(0.02)


def stream_events(session):
    """--events N: N corpus events (each still passes the session's mask and
    filters), then Event: StreamDone; --drop-after closes the connection."""
    opts, world = session.world.opts, session.world
    time.sleep(opts.events_delay)
    interval = 1.0 / opts.event_rate if opts.event_rate else 0.0
    next_at = time.monotonic()
    sent = 0
    for _ in range(opts.events):
        if session.closing:
            return
        if session.post_event(world.corpus_next()):
            sent += 1
        if opts.drop_after and sent >= opts.drop_after:
            session.sink.abort()
            return
        session.sink.wait_below(1 << 20)
        if interval:
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    session.post_event(STREAM_DONE, force=True)


# ---------------------------------------------------------------------------
# TCP transport.

class Framer:
    """Splits the byte stream into requests the way Asterisk's get_input()
    and do_message() do, and reports what our client must never send."""

    def __init__(self, violation):
        self.violation = violation
        self.buf = b""
        self.skipping = False
        self.reset()

    def reset(self):
        self.lines, self.too_long, self.too_many = [], False, False

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                if len(self.buf) >= MAX_LINE:
                    # Asterisk gives up on the line and drops the rest of it.
                    self.long_line(len(self.buf))
                    self.skipping, self.buf = True, b""
                break
            raw, self.buf = self.buf[:i + 1], self.buf[i + 1:]
            if self.skipping:
                self.skipping = False
                continue
            if len(raw) > MAX_LINE:
                self.long_line(len(raw))
                continue
            line = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
            if line:
                self.add(line)
            else:
                out.append(Request(self.lines, self.too_long, self.too_many))
                self.reset()
        return out

    def long_line(self, n):
        if not self.skipping:
            self.violation("line longer than %d bytes (%d+ bytes)" % (MAX_LINE, n))
        self.too_long = True

    def add(self, line):
        if b"\x00" in line:
            self.violation("NUL byte inside a line: %r" % line[:80])
            line = line.split(b"\x00", 1)[0]     # Asterisk's C strings end there
        if b"\r" in line:
            self.violation("CR inside a line: %r" % line[:80])
        text = to_str(line)
        name, colon, _ = text.partition(":")
        if not colon:
            self.violation("header line without a colon: %r" % text[:80])
        elif name != name.strip() or not name:
            self.violation("blank around the header name before the colon: %r" % text[:80])
        if len(self.lines) >= MAX_HEADERS:
            if not self.too_many:
                self.violation("more than %d header lines in one message" % MAX_HEADERS)
            self.too_many = True
        else:
            self.lines.append(text)


class TcpConnection:
    """One accepted socket: a reader thread feeding the Session and a writer
    thread draining the output queue (so a slow client never blocks others)."""

    def __init__(self, world, sock, peer, conn_id):
        self.world, self.sock, self.conn_id = world, sock, conn_id
        self.peer = "%s:%d" % peer[:2]
        self.local_address = "IPV4/TCP/127.0.0.1/%d" % world.port
        self.remote_address = "IPV4/TCP/%s/%d" % peer[:2]
        self.q = queue.Queue()
        self.queued = 0
        self.qlock = threading.Lock()
        self.done = threading.Event()
        self.session = None

    # --- the sink API used by Session ---------------------------------------

    def write(self, data):
        with self.qlock:
            self.queued += len(data)
        self.q.put(data)

    event = write

    def close(self):
        self.q.put(CLOSE)

    def abort(self):
        self.q.put("abort")

    def wait_below(self, limit):
        while self.queued > limit and not self.done.is_set():
            time.sleep(0.005)

    # --- threads ------------------------------------------------------------

    def start(self):
        threading.Thread(target=self.run, daemon=True).start()

    def transform(self, data):
        if self.world.hostile == "lf-only":
            return data.replace(b"\r\n", b"\n")
        if self.world.hostile == "stray-lf":
            # Many astman_send_error()/ack() texts end in "\n": "...\n\r\n".
            return re.sub(rb"((?:^|\n)Message: [^\r\n]*)\r\n", rb"\1\n\r\n", data)
        return data

    def send_all(self, data):
        if self.world.opts.write_timeout:
            return self.send_timed(data)
        if self.world.hostile != "drip":
            self.sock.sendall(data)
            return
        for i in range(len(data)):
            if self.done.is_set():
                return
            self.sock.sendall(data[i:i + 1])
            time.sleep(1)

    def send_timed(self, data):
        """--write-timeout: like Asterisk's writetimeout, a client that takes
        nothing of a write for that long is disconnected."""
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self.sock], [], self.world.opts.write_timeout / 1000)
            if not ready:
                self.world.rec.log("WRITE TIMEOUT " + self.peer)
                raise OSError("write timeout")
            view = view[self.sock.send(view, socket.MSG_DONTWAIT):]

    def writer(self):
        while True:
            item = self.q.get()
            if not isinstance(item, bytes):
                break
            with self.qlock:
                self.queued -= len(item)
            try:
                self.send_all(self.transform(item))
            except OSError:
                break
        self.shutdown()

    def shutdown(self, linger0=False):
        if self.done.is_set():
            return
        self.done.set()
        if self.session:
            self.session.end()
        try:
            if linger0:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.world.rec.log("CLOSE " + self.peer)

    def discard_input(self, limit=None):
        """Reads and ignores the client until it closes (or `limit` bytes)."""
        got = 0
        while not self.done.is_set():
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            got += len(chunk)
            if not chunk or (limit and got >= limit):
                return

    def run(self):
        self.world.rec.log("CONNECT " + self.peer)
        try:
            self.serve()
        finally:
            if self.world.hostile == "no-banner":
                self.shutdown()         # no writer thread to do it
            else:
                self.close()

    def serve(self):
        mode = self.world.hostile
        if mode == "no-banner":
            return self.discard_input()
        threading.Thread(target=self.writer, daemon=True).start()
        if mode == "http-banner":
            return self.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        if mode == "ssh-banner":
            self.write(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
            return self.discard_input(limit=1)
        if mode == "huge-banner":
            self.write(b"A" * (1 << 20))
            return self.discard_input()
        self.write(BANNER)
        if mode == "close-after-banner":
            return None             # run() closes once the banner is out
        if mode == "silent-after-banner":
            return self.discard_input()
        if mode == "reset":
            self.sock.settimeout(5)
            self.discard_input(limit=1)
            return self.shutdown(linger0=True)
        self.session = Session(self.world, self, self.conn_id)
        self.read_loop()

    def read_loop(self):
        framer = Framer(lambda text: self.world.rec.violation(self.conn_id, text))
        while not self.done.is_set():
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            for req in framer.feed(chunk):
                result = self.session.handle(req)
                if result == CLOSE:
                    return
                if result == NOREAD:
                    # no-read: never look at the socket again.
                    self.done.wait()
                    return


# ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="Test AMI server modelled on Asterisk 22.")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--lifetime", type=float, default=60.0)
    p.add_argument("--log")
    p.add_argument("--violations")
    p.add_argument("--strict", action="store_true")
    p.add_argument("--channels", type=int, default=0)
    p.add_argument("--events", type=int, default=0)
    p.add_argument("--event-rate", type=float, default=0.0)
    p.add_argument("--events-delay", type=float, default=0.1,
                   help="seconds between Login and the first stream event, so that "
                        "a client's Filter actions are in place")
    p.add_argument("--drop-after", type=int, default=0)
    p.add_argument("--write-timeout", type=float, default=0.0,
                   help="ms; disconnect a client that takes nothing for that long")
    p.add_argument("--corpus")
    p.add_argument("--hostile", choices=HOSTILE_MODES)
    p.add_argument("--user", action="append", default=[], metavar="NAME:SECRET")
    return p.parse_args(argv)


DEFAULT_CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "captures",
                              "asterisk-22", "events-stream.recv.raw")


def serve_forever(world, srv):
    deadline = time.monotonic() + world.opts.lifetime
    conn_id = 0
    while not world.stop.is_set() and time.monotonic() < deadline:
        try:
            sock, peer = srv.accept()
        except socket.timeout:
            continue
        except OSError:
            if world.stop.is_set():
                break
            continue
        sock.settimeout(None)
        conn_id += 1
        TcpConnection(world, sock, peer, conn_id).start()


def make_world(opts):
    """The PBX of the options: the --user accounts, the --events corpus, the
    --channels already up."""
    for spec in opts.user:
        name, _, secret = spec.partition(":")
        USERS.append(User(name, secret, INT_MAX, INT_MAX))
    world = World(opts, Recorder(opts.log, opts.violations))
    if opts.events:
        world.load_corpus(opts.corpus or os.environ.get("FAKE_AMI_CORPUS", DEFAULT_CORPUS))
    world.precreate(opts.channels)
    return world


def listener(port=0, rcvbuf=None):
    """A socket listening on 127.0.0.1:port (0: any free port), its accept
    timing out every 0.2 s so that the loop sees world.stop; rcvbuf sets
    SO_RCVBUF before listen, so that the handshake advertises it."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    srv.bind(("127.0.0.1", port))
    srv.listen(128)
    srv.settimeout(0.2)
    return srv


def run(world, srv, ready):
    """Prints the READY line, serves srv until --lifetime is over or a
    SIGTERM or SIGINT comes, and exits."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: world.stop.set())
    print(ready, flush=True)
    serve_forever(world, srv)
    srv.close()
    sys.stdout.flush()
    os._exit(0)   # connection threads are daemons; do not wait for them


def main(argv=None):
    opts = parse_args(argv)
    world = make_world(opts)
    # --hostile no-read: a tiny receive window, so that the client's write
    # can block: Linux would otherwise buffer megabytes for a peer that
    # never reads.
    srv = listener(opts.port, 2048 if opts.hostile == "no-read" else None)
    world.port = srv.getsockname()[1]
    run(world, srv, "READY %d" % world.port)


if __name__ == "__main__":
    main()
