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
                   (Secret and Key shown as ****), plus "CONNECT <peer>", and at
                   the end of a TCP/TLS connection "SENT <bytes> <peer>" (all it
                   was sent: compare a client with and without filters) and
                   "CLOSE <peer>"
--violations FILE  one line per protocol violation by the client (the server
                   still answers like Asterisk would); helper.bash fails the
                   test when this file is not empty
--strict           an unknown action name is a violation too
--channels N       N answered Local channels exist from the start (as ;1/;2 pairs)
--events N         after a login with events on, stream N events from the
                   corpus (--corpus FILE, default: the events-stream capture),
                   then "Event: StreamDone"; --event-rate R events/s;
                   --drop-after N closes the connection after N stream events;
                   each session goes on in the corpus where the last one
                   stopped, or starts at its first event with --events-from-start
                   (so that two clients can be compared)
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
                   escape-seq          EVIL (an OSC title, a clear screen, a C1
                                       CSI) in the greeting, after every
                                       Message of ack and error, as the
                                       Message of a Ping error and as one more
                                       line of Command output
                   refuse-every-second-filter  every second Filter that has
                                       MatchCriteria is answered like a bad
                                       one (the capture's "Filter was
                                       formatted incorrectly"), not added
                   no-read also gives the listening socket a tiny receive
                   buffer: with small send buffers too (hostile.bats sets
                   them in a network namespace) a big action then blocks
--user NAME:SECRET one more user with every permission (repeatable);
--user NAME:SECRET:READ:WRITE  with manager.conf read/write class lists,
                   e.g. ops:pw:all:call,reporting (no originate, command, system)

The live PBX (everything below is kept as a real Asterisk 22 shows it; the
captures tcp-state-lists-idle/-busy, events-call-bridged, events-queue,
events-confbridge, events-devicestate; tests/capture_check.py compares):
  It starts as the captured PBX was when idle: queues support (no members)
  and sales (static member "Agent Smith", Local/wait20@test), hint test,100
  on Custom:lab100 (UNAVAILABLE), cached device states of queues and rooms
  700/701. List actions: BridgeList, BridgeInfo, ConfbridgeListRooms (no
  room: Response Error "No active conferences."), ConfbridgeList,
  QueueStatus (Queue:, Member:), QueueSummary, ExtensionStateList,
  ExtensionState, DeviceStateList, PresenceStateList (empty),
  CoreShowChannelMap; CoreShowChannels/Status/core show channels concise
  carry the BridgeId.
  Originate drives it like the captured dialplan:
    Local/dial@test        ;2 runs Dial(Local/wait20@test,30): a two-party
                           call in a basic bridge, 4 channels, one Linkedid
    Local/7xx@confbridge   (any digits) ;2 joins ConfBridge 7xx (softmix
                           bridge, ConfbridgeStart/Join/Leave/End)
    Local/queue@test       ;2 waits in queue support (QueueCallerJoin...);
    Local/sales@test       ... in sales, where Agent Smith answers at once
                           (AgentCalled/Connect/Complete, QueueMemberStatus)
    Application ChanSpy    Data PREFIX[,options]: ChanSpyStart on the first
                           channel up named PREFIX..., ChanSpyStop when one
                           ends (option E: the spyer ends with its spyee)
    Context/Exten          the ;1 leg (or a single channel) runs that
                           dialplan: confbridge,7xx / test,queue / test,sales
                           join the same way; Application ConfBridge or
                           Queue as well
  Hangup ends what goes with a channel: its Local half, a basic bridge's
  other parties (BridgeLeave/Destroy), a queue wait (QueueCallerAbandon),
  a conference seat. Redirect of a bridged channel: it leaves, the bridge
  dissolves, the other party's dialplan ends (it hangs up); into
  confbridge,7xx or test,queue it joins. BlindTransfer (two-party call:
  the other party goes to Exten@Context, the transferer hangs up; Result
  Invalid/Not Permitted otherwise). Atxfer: "No attended transfer feature
  code found" (stock features.conf). QueueAdd/QueueRemove/QueuePause with
  the captured answers and events (a new free member takes a waiting
  caller). ConfbridgeKick/Mute/Unmute. Setvar DEVICE_STATE(Custom:x)=STATE:
  DeviceStateChange and ExtensionStatus when it changes; Getvar
  DEVICE_STATE(dev) and EXTENSION_STATE(exten@context).
  Applications never end by themselves (Wait, Queue timeouts...): only
  Hangup, Redirect, transfers or the --calls traffic end calls.
--calls N          N answered two-party calls between endpoints PJSIP/1000...
                   (2N channels PJSIP/<ext>-<seq>, names and caller IDs like
                   "Alice Jones" <1000>, Linkedid = the caller's Uniqueid, one
                   basic bridge each, hints <ext>@from-internal), up for a
                   while; with --event-rate R (and no --events) the PBX lives:
                   about R events/s of calls that end (a phone hangs up),
                   ring and are answered, about N calls up at any time
--conferences N    rooms 700, 701, ... with --conference-size (3) endpoints each
--queue-callers N  N callers from PJSIP/trunk waiting in queue support
--flood-mix SPEC   the --events corpus is made of events in proportions SPEC
                   ("VarSet=70,Newexten=20,Hangup=10"; other names are plain
                   channel events) over 50 channels: 1 in 50 is PJSIP/100-...,
                   the others PJSIP/201-... to PJSIP/249-...
--asterisk-version V   claim that version: banner (AMI 7.0.3 for 18, 11.0.0 for
                   22...), CoreSettings, core show version, HTTP Server header;
                   before 20.11/21.6/22.1 Filter knows no MatchCriteria (it is
                   ignored: Filter is a regex, an empty one matches everything)
--clock-offset S   Ping's Timestamp (and --timestampevents) S seconds off
--response-delay S every request is answered S seconds late (a far or busy PBX)
--delay-only A,B   only these actions are late (e.g. Ping: a slow answer after a
                   quick login)
--webenabled no    manager.conf webenabled: CoreSettings CoreHTTPenabled No,
                   fake_ami_http.py answers 404 for the AMI URIs
--allowmultiplelogin no, --timestampevents, --channelvars A,B,
--disabledevents Newexten,VarSet   the manager.conf settings (manager show
                   settings shows them; allowmultiplelogin no fails a Login
                   of a user logged in elsewhere like a wrong secret,
                   timestampevents adds Timestamp: to events, channelvars
                   adds ChanVariable: A=... to channel snapshots,
                   disabledevents never raises those events)

CLI over Command, as main/manager.c prints it: manager show settings,
manager show user NAME, manager show users, manager show connected (file
descriptors are connection number + 40), manager kick session FD (that
connection is closed: "a reconnect with a changed world").

Filter follows main/manager.c (manager_add_filter, filter_cmp_fn,
should_send_event): see EventFilters.

Action: FakePBX (not Asterisk's: for tests only, no privilege needed)
  Operation: hold|unhold  Channel: X   Hold/Unhold (an endpoint: ONHOLD)
  Operation: talk  Channel: X  Talking: on|off   ConfbridgeTalking
  Operation: calls  Count: N   bring the --calls calls to N now (events)
  Operation: drop              close every other session (a network drop)

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
import uuid

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
    # terminal escape sequences in what the server says (issue 11):
    "escape-seq",
    # a server that takes some MatchCriteria filters and not others (issue 17):
    "refuse-every-second-filter",
]

# escape-seq: set the terminal's title, clear the screen, then CSI as a C1
# control (U+009B, "\xc2\x9b" in UTF-8).
EVIL = "\x1b]0;title\x07\x1b[2J\u009b31m"

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


def coresettings():
    return ["AMIversion: " + AMI_VERSION, "AsteriskVersion: " + ASTERISK_VERSION,
            "SystemName: ", "CoreMaxCalls: 0", "CoreMaxLoadAvg: 0.000000", "CoreRunUser: ",
            "CoreRunGroup: ", "CoreMaxFilehandles: 0", "CoreRealTimeEnabled: No",
            "CoreCDRenabled: Yes", "CoreHTTPenabled: " + ("Yes" if MANAGER.webenabled else "No"),
            "SoundsSearchCustomDir: No"]


VERSION_LINE = ("Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux "
                "on 2026-11-26 06:04:47 UTC")

# The AMI version (manager.h AMI_VERSION) of each Asterisk major release:
# the major number goes with the release (22 -> 11); the minor numbers of
# the older ones are those of their later point releases, as far as known.
AMI_VERSIONS = {16: "5.0.5", 17: "6.0.0", 18: "7.0.3", 19: "8.0.2", 20: "9.0.0", 21: "10.0.0",
                22: "11.0.0", 23: "12.0.0"}


def claim_version(version):
    """--asterisk-version: the banner, CoreSettings, core show version and
    HTTP's Server header say it; MatchCriteria follows it."""
    global BANNER, AMI_VERSION, ASTERISK_VERSION, VERSION_LINE
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]] + [0, 0]
    MANAGER.version = tuple(parts[:3])
    AMI_VERSION = AMI_VERSIONS.get(parts[0], "11.0.0")
    ASTERISK_VERSION = version
    BANNER = to_bytes("Asterisk Call Manager/%s\r\n" % AMI_VERSION)
    VERSION_LINE = VERSION_LINE.replace("Asterisk 22.10.1 ", "Asterisk %s " % version)


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


class ManagerConf:
    """The manager.conf [general] settings the options set (manager show
    settings prints them), and the Asterisk version the server claims."""
    timestampevents = False
    channelvars = ()
    disabledevents = ()
    webenabled = True
    allowmultiplelogin = True
    displayconnects = True
    clock_offset = 0.0
    version = (22, 10, 1)

    def match_criteria(self):
        """Filter's MatchCriteria came with 20.11, 21.6 and 22.1."""
        major, minor = self.version[0], self.version[1]
        first = {20: 11, 21: 6, 22: 1}
        return major >= 23 or (major in first and minor >= first[major])


MANAGER = ManagerConf()


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
        """The same bytes as encode(["Event: ...", "Privilege: ..."] + lines),
        made without parsing them again (the --calls traffic makes many)."""
        ev = cls.__new__(cls)
        head = "Event: %s\r\nPrivilege: %s\r\n" % (name, privilege_str(category))
        if MANAGER.timestampevents:
            # manager.conf timestampevents: a Timestamp right after Privilege.
            head += "Timestamp: %.6f\r\n" % (time.time() + MANAGER.clock_offset)
        ev.text = head + "".join(line + "\r\n" for line in lines) + "\r\n"
        ev.data, ev.name, ev.category = to_bytes(ev.text), name, category
        return ev

    def lines(self):
        """The header lines without CR, built once (filters read them)."""
        cached = self.__dict__.get("_lines")
        if cached is None:
            cached = self._lines = self.text.split("\r\n")
        return cached


PRIVILEGE_STR = {}


def privilege_str(category):
    text = PRIVILEGE_STR.get(category)
    if text is None:
        text = PRIVILEGE_STR[category] = authority_to_str(category)
    return text


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
        self.answered = None      # when it went Up (ConfbridgeList AnsweredTime)
        self.bridge = None        # the Bridge it is in (BridgeId, BridgeEnter/Leave)
        self.role = None          # what the live PBX does with it (Role)

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
    out = ["%s%s: %s" % (prefix, k, v) for k, v in fields]
    # manager.conf channelvars: ast_manager_build_channel_state_string_prefix
    # appends them to every channel snapshot.
    out += ["%sChanVariable: %s=%s" % (prefix, name, ch.vars.get(name, ""))
            for name in MANAGER.channelvars]
    return out


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
# Event filters (Filter action): legacy regex and 20.11+/21.6+/22.1+
# MatchCriteria, as main/manager.c does them (action_filter,
# manager_add_filter, filter_cmp_fn, match_eventdata, should_send_event).

FILTER_FORMAT = "Filter was formatted incorrectly.  Check the syntax of the filter given."
FILTER_COMPILE = "Filter did not compile.  Check the syntax of the filter given."

# match_eventdata(): a string method compares with strcmp/strstr, so case
# matters; "none" matches anything.
FILTER_METHODS = {
    "regex": lambda pat, s: pat.search(s) is not None,
    "exact": lambda pat, s: s == pat,
    "starts_with": lambda pat, s: s.startswith(pat),
    "ends_with": lambda pat, s: s.endswith(pat),
    "contains": lambda pat, s: pat in s,
    "none": lambda pat, s: True,
}


class EventFilter:
    """One event_filter_entry: an optional event name, an optional header
    (stored with its ':'), a match method and its pattern."""

    def __init__(self):
        self.exclude = False
        self.method = "regex"
        self.name = self.header = None
        self.pattern = None

    def matches(self, ev):
        """filter_cmp_fn(): the name must be equal (Asterisk compares
        ast_str_hash values: case-sensitive); without a header the whole event
        text (Event: line to the blank line) is matched; with one, each line
        that starts with "Header:" (case-sensitive), value after the blanks,
        empty values skipped, until one matches."""
        if self.name is not None and ev.name != self.name:
            return False
        method = FILTER_METHODS[self.method]
        if self.header is None:
            return method(self.pattern, ev.text)
        n = len(self.header)
        for line in ev.lines():
            if line.startswith(self.header):
                value = line[n:].lstrip(BLANKS)
                if value and method(self.pattern, value):
                    return True
        return False


def parse_filter_options(entry, text):
    """The advanced part of manager_add_filter(): the MatchCriteria text is
    cut with strtok_r(" ,)"), each option recognised by its first letters
    (strncmp), its value after the "(" stripped. Returns an error or None."""
    for option in [t for t in re.split(r"[ ,)]", text) if t]:
        key = next((k for k in ("action", "name", "header", "method") if option.startswith(k)),
                   None)
        if key is None or "(" not in option:
            return FILTER_FORMAT
        value = option.split("(", 1)[1].strip()
        if not value:
            return FILTER_FORMAT
        if key == "action":
            if value not in ("include", "exclude"):
                return FILTER_FORMAT
            entry.exclude = value == "exclude"
        elif key == "name":
            entry.name = value
        elif key == "header":
            entry.header = value if value.endswith(":") else value + ":"
        elif value in FILTER_METHODS:
            entry.method = value
        else:
            return FILTER_FORMAT
        entry.found.add(key)
    return None


# POSIX bracket classes in the C locale (Asterisk's regcomp), for Python's re.
POSIX_CLASSES = {
    "alpha": "A-Za-z", "digit": "0-9", "alnum": "0-9A-Za-z", "upper": "A-Z", "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v", "blank": " \\t", "punct": "!-/:-@\\[-`{-~",
    "print": " -~", "graph": "!-~", "cntrl": "\\x00-\\x1f\\x7f", "xdigit": "0-9A-Fa-f",
}


# glibc's GNU operators (RE_SYNTAX_POSIX_EXTENDED keeps them); any other
# byte after a backslash is itself ("\\r" is "r").
GNU_OPS = {"w": "[0-9A-Za-z_]", "W": "[^0-9A-Za-z_]", "s": "[ \\t\\n\\r\\f\\v]",
           "S": "[^ \\t\\n\\r\\f\\v]", "b": "\\b", "B": "\\B", "<": "\\b(?=[0-9A-Za-z_])",
           ">": "\\b(?<=[0-9A-Za-z_])", "`": "\\A", "'": "\\Z"}


def posix_ere(pattern):
    """A POSIX extended regex (regcomp(REG_EXTENDED), as Asterisk compiles
    Filter) as a Python one: bracket expressions with [:class:], where a
    backslash is a plain byte and a ']' first is one too; outside them a
    backslash makes the next byte plain, but for glibc's \\w \\s \\b \\< and
    the like. Raises re.error like regcomp fails."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            out.append(GNU_OPS.get(pattern[i + 1], re.escape(pattern[i + 1])))
            i += 2
        elif c == "[":
            j, items = i + 1, []
            neg = j < n and pattern[j] == "^"
            j += neg
            while j < n and (pattern[j] != "]" or j == i + 1 + neg):
                m = re.match(r"\[:([a-z]+):\]", pattern[j:])
                if m:
                    if m.group(1) not in POSIX_CLASSES:
                        raise re.error("unknown class " + m.group(1))
                    items.append(POSIX_CLASSES[m.group(1)])
                    j += m.end()
                elif pattern[j] == "-" and items and j + 1 < n and pattern[j + 1] != "]":
                    items.append("-")
                    j += 1
                else:
                    items.append(re.escape(pattern[j]))
                    j += 1
            if j >= n:
                raise re.error("unclosed bracket")
            out.append("[" + ("^" if neg else "") + "".join(items) + "]")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return re.compile("".join(out))


def make_filter(criteria, pattern, advanced):
    """manager_add_filter(): (EventFilter, None) or (None, error text).
    A leading '!' makes an exclude filter in both forms (action() wins);
    a legacy filter needs a pattern; an advanced one defaults to method
    none, which must come without a pattern and with a name or header."""
    entry = EventFilter()
    if pattern.startswith("!"):
        entry.exclude, pattern = True, pattern[1:]
    if advanced:
        entry.method, entry.found = "none", set()
        # The text after "eventfilter(", so it always ends with ")".
        err = parse_filter_options(entry, (criteria + ")").strip())
        if err or not entry.found:
            return None, err or FILTER_FORMAT
        if bool(pattern) == (entry.method == "none"):
            return None, FILTER_FORMAT
        if entry.method == "none" and entry.name is None and entry.header is None:
            return None, FILTER_FORMAT
    elif not pattern:
        return None, FILTER_FORMAT
    if entry.method == "regex":
        try:
            pattern = posix_ere(pattern)
        except re.error:
            return None, FILTER_COMPILE
    entry.pattern = pattern
    return entry, None


def make_legacy_filter(pattern):
    """Before 20.11/21.6/22.1 Filter had no MatchCriteria (the header is
    ignored): Filter is a regex on the whole event, '!' excludes, and an
    empty one compiles (glibc accepts it) and so matches everything."""
    entry = EventFilter()
    if pattern.startswith("!"):
        entry.exclude, pattern = True, pattern[1:]
    try:
        entry.pattern = posix_ere(pattern)
    except re.error:
        return None, FILTER_COMPILE
    return entry, None


class EventFilters:
    """should_send_event(): no filters, everything passes; includes only, an
    event must match one; excludes only, it must match none; both: it must
    match an include and then no exclude. Filters only add up."""

    def __init__(self):
        self.include, self.exclude = [], []

    def add(self, criteria, pattern, advanced=True):
        """Returns an error message, or None when the filter was added.
        action_filter() makes the criteria "eventfilter(<MatchCriteria>)"
        when MatchCriteria is not empty: that decides the advanced form."""
        if advanced:
            entry, err = make_filter(criteria, pattern, bool(criteria))
        else:
            entry, err = make_legacy_filter(pattern)
        if entry is not None:
            (self.exclude if entry.exclude else self.include).append(entry)
        return err

    def match(self, ev):
        if self.include and not any(f.matches(ev) for f in self.include):
            return False
        return not any(f.matches(ev) for f in self.exclude)


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
        if ev.name in MANAGER.disabledevents:
            return      # manager.conf disabledevents: never raised at all
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
        ch.app, ch.appdata = dialplan_app(ch.context, ch.exten)


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
    if world.pbx.involved(ch):
        with world.lock:
            evs = world.pbx.hangup(ch, cause)
            world.post_all(evs)
        return bool(evs)
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
        one.app, one.appdata = dialplan_app(o.context, o.exten)
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
    answered_into_pbx(world, o, legs, evs)
    world.post_all(evs)


def run_originate(world, o, report):
    """Plays one call. report(ok, reason, channel) is called once the outcome
    is known: it sends OriginateResponse (Async) or the Response (not)."""
    kind, reason, cause = o.outcome()
    legs = [] if o.tech.lower() == "bogus" else world.new_legs(o.tech, o.data, o.ids)
    if kind == "fail":
        originate_fail(world, o, legs, reason, cause, report)
        return
    if kind == "answer" and originate_into_pbx(world, o, legs, report):
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
# The live PBX: bridges, conferences, queues, device and extension states,
# as the captures tcp-state-lists-*, events-call-bridged, events-queue,
# events-confbridge and events-devicestate show them (README quirks 37-39).
# Everything here runs with world.lock held and returns the events to post.

# enum ast_device_state, in order: QueueMember's Status is the index.
DEVICE_STATES = ["UNKNOWN", "NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE",
                 "RINGING", "RINGINUSE", "ONHOLD"]
# ast_devstate_to_extenstate() and ast_extension_state2str().
EXTEN_OF_DEVICE = {"ONHOLD": 16, "BUSY": 2, "UNKNOWN": 0, "UNAVAILABLE": 4, "INVALID": 4,
                   "RINGINUSE": 9, "RINGING": 8, "INUSE": 1, "NOT_INUSE": 0}
EXTEN_STATE_TEXT = {0: "Idle", 1: "InUse", 2: "Busy", 4: "Unavailable", 8: "Ringing",
                    9: "InUse&Ringing", 16: "Hold", 17: "InUse&Hold"}
# func_extstate's EXTENSION_STATE() names.
EXTEN_STATE_FUNC = {0: "NOT_INUSE", 1: "INUSE", 2: "BUSY", 4: "UNAVAILABLE", 8: "RINGING",
                    9: "RINGINUSE", 16: "ONHOLD", 17: "HOLDINUSE"}
# The VarSets Dial() and Queue() clear before they start (events-call-bridged).
DIAL_VARS = ["DIALSTATUS", "DIALEDPEERNUMBER", "DIALEDPEERNAME", "ANSWEREDTIME",
             "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "RINGTIME", "RINGTIME_MS",
             "PROGRESSTIME", "PROGRESSTIME_MS"]
QUEUE_VARS = ["ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "QUEUEWAIT",
              "QUEUEWAIT_MS"]
FIRST_NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan",
               "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent",
               "Victor", "Walter", "Yvonne"]
LAST_NAMES = ["Jones", "Smith", "Meyer", "Dubois", "Rossi", "Novak", "Silva", "Berg",
              "Kowalski", "Murphy", "Tanaka", "Larsen", "Moreau", "Fischer", "Costa"]


def person(i):
    return "%s %s" % (FIRST_NAMES[i % len(FIRST_NAMES)],
                      LAST_NAMES[i // len(FIRST_NAMES) % len(LAST_NAMES)])


def dialplan_app(context, exten):
    """What the captured dialplan runs at context,exten (README: [test],
    [confbridge] _X. => ConfBridge(${EXTEN}), [park] 1234)."""
    if context == "test":
        special = {"dial": ("Dial", "Local/wait20@test,30"), "queue": ("Queue", "support,,,,120"),
                   "sales": ("Queue", "sales,,,,60"), "100": ("Wait", "60")}
        if exten in special:
            return special[exten]
    if context == "confbridge" and exten.isdigit():
        return ("ConfBridge", exten)
    if context == "park" and exten == "1234":
        return ("Wait", "600")
    return DIALPLAN_APP.get(exten, ("Wait", "3600"))


class Role:
    """What a channel does in the live PBX besides its dialplan."""

    def __init__(self):
        self.conf = None            # Conference it is a member of
        self.talking = self.muted = False
        self.queue = None           # Queue it waits in
        self.joined = 0.0           # when it joined the queue or conference
        self.position = 0           # its original queue position
        self.agent = None           # AgentCall (caller and agent share it)
        self.spyee = None           # the channel a ChanSpy spyer listens to
        self.spy_exit = False       # ChanSpy option E
        self.spyers = []            # who spies on it
        self.dialed = None          # the other end of a call still ringing
        self.hold = False
        self.traffic = False        # a --calls endpoint channel


def role_of(ch):
    if ch.role is None:
        ch.role = Role()
    return ch.role


class Bridge:
    """A bridge snapshot: two-party calls are basic/simple_bridge, a
    conference is base/softmix created by ConfBridge and named after the
    room; BridgeNumChannels also counts ConfBridge's announcer (CBAnn)."""

    def __init__(self, conference=None):
        self.uniqueid = str(uuid.uuid4())
        self.conference = conference
        if conference:
            self.kind = ("base", "softmix", "ConfBridge", conference)
        else:
            self.kind = ("basic", "simple_bridge", "<unknown>", "<unknown>")
        self.channels = []
        self.hidden = 0

    def blob(self):
        t = self.kind
        return ["BridgeUniqueid: " + self.uniqueid, "BridgeType: " + t[0],
                "BridgeTechnology: " + t[1], "BridgeCreator: " + t[2], "BridgeName: " + t[3],
                "BridgeNumChannels: %d" % (len(self.channels) + self.hidden),
                "BridgeVideoSourceMode: none"]


class Conference:
    def __init__(self, name):
        self.name = name
        self.bridge = Bridge(name)
        self.members = []
        self.locked = False
        self.announcer = ""


class QueueMember:
    def __init__(self, name, interface, membership, login):
        self.name, self.interface, self.state_interface = name, interface, interface
        self.membership, self.login = membership, login
        self.penalty = self.calls = self.last_call = self.last_pause = self.in_call = 0
        self.paused, self.reason, self.status = 0, "", 1

    def fields(self, list_item=False):
        """QueueMember list items say Name/Location; the events say
        MemberName/Interface and add Ringinuse."""
        head = (["Name: " + self.name, "Location: " + self.interface] if list_item
                else ["MemberName: " + self.name, "Interface: " + self.interface])
        tail = [] if list_item else ["Ringinuse: 1"]
        return head + [
            "StateInterface: " + self.state_interface, "Membership: " + self.membership,
            "Penalty: %d" % self.penalty, "CallsTaken: %d" % self.calls,
            "LastCall: %d" % self.last_call, "LastPause: %d" % self.last_pause,
            "LoginTime: %d" % self.login, "InCall: %d" % self.in_call,
            "Status: %d" % self.status, "Paused: %d" % self.paused,
            "PausedReason: " + self.reason] + tail + ["Wrapuptime: 0"]


class Queue:
    def __init__(self, name):
        self.name = name
        self.members, self.callers = [], []
        self.completed = self.abandoned = 0
        self.holdtime = self.talktime = 0

    def available(self):
        return [m for m in self.members if not m.paused and not m.in_call
                and DEVICE_STATES[m.status] in ("NOT_INUSE", "UNKNOWN")]


class AgentCall:
    """A queue caller connected to a member: for AgentComplete."""

    def __init__(self, queue, member, caller, agent, held):
        self.queue, self.member, self.caller, self.agent = queue, member, caller, agent
        self.held, self.start, self.done = held, time.time(), False


def ev_device(dev, state):
    return Event.build("DeviceStateChange", PERM["call"], ["Device: " + dev, "State: " + state])


def ev_varset(ch, var, value):
    return ev_chan("VarSet", "dialplan", ch, ["Variable: " + var, "Value: " + value])


def ev_bridge(name, bridge, ch=None):
    return Event.build(name, PERM["call"], bridge.blob() + (chan_blob(ch) if ch else []))


def ev_conf(name, conf, ch=None, extra=()):
    return Event.build(name, PERM["call"], ["Conference: " + conf.name] + conf.bridge.blob()
                       + (chan_blob(ch) if ch else []) + list(extra))


def ev_member(name, queue, member):
    return Event.build(name, PERM["agent"], ["Queue: " + queue.name] + member.fields())


def ev_two(name, cls, src, dest, extra):
    """Events about two channels: the source's snapshot, then Dest*."""
    return Event.build(name, PERM[cls], chan_blob(src) + chan_blob(dest, "Dest") + list(extra))


def ev_agent(name, call, extra=()):
    return ev_two(name, "agent", call.caller, call.agent,
                  ["Queue: " + call.queue.name, "Interface: " + call.member.interface,
                   "MemberName: " + call.member.name] + list(extra))


def ev_extension(exten, context, hint, status):
    return Event.build("ExtensionStatus", PERM["call"], [
        "Exten: " + exten, "Context: " + context, "Hint: " + hint, "Status: %d" % status,
        "StatusText: " + EXTEN_STATE_TEXT.get(status, "Unknown")])


def unknown_plain(v):
    """Queue list items spell an unset caller ID "unknown" (quirk 38)."""
    return v if v else "unknown"


def is_channel_device(dev):
    """Devices whose state comes from their channels (Local/..., PJSIP/...),
    as opposed to the ones set or kept by a module (Custom:, Queue:,
    confbridge:)."""
    return "/" in dev and not dev.startswith(("Queue:", "Custom:", "confbridge:"))


class Pbx:
    """The state of the live PBX next to World.channels. It starts as the
    captured PBX was when idle (tcp-state-lists-idle): queues support (no
    members) and sales (static member Agent Smith, Local/wait20@test), hint
    test,100 -> Custom:lab100, and the cached device states of that list."""

    def __init__(self, world):
        self.world = world
        self.bridges = {}           # uniqueid -> Bridge, in creation order
        self.confs = {}             # room -> Conference
        self.queues = {}
        self.devices = {}           # the cached device states (DeviceStateList)
        self.hints = {}             # (exten, context) -> [device, extension state]
        self.hints_by_device = {}
        self.names = {}             # --calls endpoint -> caller ID name
        self.calls, self.ringing, self.free_exts = [], [], []
        self.target = 0             # how many --calls calls to keep up
        self.emitted = set()        # members whose QueueMemberStatus went out
        login = int(world.start)
        self.queues["support"] = Queue("support")
        sales = self.queues["sales"] = Queue("sales")
        sales.members.append(QueueMember("Agent Smith", "Local/wait20@test", "static", login))
        for dev, state in [("Custom:lab100", "UNAVAILABLE"),
                           ("Queue:sales_pause_Local/wait20@test", "NOT_INUSE"),
                           ("Queue:support_avail", "INUSE"), ("Queue:sales_avail", "NOT_INUSE"),
                           ("Queue:support_pause_Local/wait20@test", "NOT_INUSE"),
                           ("confbridge:701", "NOT_INUSE"), ("confbridge:700", "NOT_INUSE")]:
            self.devices[dev] = state
        self.add_hint("100", "test", "Custom:lab100")

    # --- device and extension states -----------------------------------------

    def add_hint(self, exten, context, device):
        state = EXTEN_OF_DEVICE.get(self.device_state(device), 0)
        self.hints[(exten, context)] = [device, state]
        self.hints_by_device.setdefault(device, []).append((exten, context))

    def device_state(self, dev):
        if not is_channel_device(dev):
            return self.devices.get(dev, "UNKNOWN")
        chans = [c for c in self.world.channels if c.device == dev]
        if not chans:
            return "NOT_INUSE"
        ringing = any(c.state == 5 for c in chans)
        busy = any(c.state != 5 for c in chans)
        if ringing:
            return "RINGINUSE" if busy else "RINGING"
        if all(c.role is not None and c.role.hold for c in chans):
            return "ONHOLD"
        return "INUSE"

    def set_device(self, dev, state, evs, effects_only=False):
        """A device changed (or said its state again): DeviceStateChange,
        then ExtensionStatus for its hints and QueueMemberStatus for members
        using it as state interface, each only when their state changed."""
        if not effects_only:
            evs.append(ev_device(dev, state))
        if not dev.startswith(("Local/", "CBAnn/")):
            self.devices[dev] = state       # Local and CBAnn are not cached
        for key in self.hints_by_device.get(dev, ()):
            hint = self.hints[key]
            new = EXTEN_OF_DEVICE.get(state, 0)
            if hint[1] != new:
                hint[1] = new
                evs.append(ev_extension(key[0], key[1], dev, new))
        status = DEVICE_STATES.index(state) if state in DEVICE_STATES else 0
        for q in self.queues.values():
            for m in q.members:
                if m.state_interface == dev and m.status != status:
                    m.status = status
                    self.emitted.add(id(m))
                    evs.append(ev_member("QueueMemberStatus", q, m))

    def channel_devices(self, chans, evs, effects_only=False):
        for c in chans:
            if c.role is not None and c.role.traffic:
                self.set_device(c.device, self.traffic_state(c), evs, effects_only)
            else:
                self.set_device(c.device, self.device_state(c.device), evs, effects_only)

    @staticmethod
    def traffic_state(c):
        """A --calls endpoint has one channel: its state is that channel's."""
        if getattr(c, "gone", False):
            return "NOT_INUSE"
        if c.role.hold:
            return "ONHOLD"
        return "RINGING" if c.state == 5 else "INUSE"

    def set_custom(self, dev, value, evs):
        """DEVICE_STATE(Custom:x)=STATE: events only when it changes (the
        events-devicestate capture: INUSE twice gives nothing the 2nd time)."""
        state = value.upper() if value.upper() in DEVICE_STATES else "UNKNOWN"
        if self.devices.get(dev) != state:
            self.set_device(dev, state, evs)

    # --- bridges -------------------------------------------------------------

    def bridge_two(self, a, b, evs, before_enter=()):
        br = Bridge()
        self.bridges[br.uniqueid] = br
        evs.append(ev_bridge("BridgeCreate", br))
        evs.extend(before_enter)
        for ch in (a, b):
            br.channels.append(ch)
            ch.bridge = br
            evs.append(ev_bridge("BridgeEnter", br, ch))
        evs.append(ev_varset(a, "BRIDGEPEER", b.name))
        evs.append(ev_varset(b, "BRIDGEPEER", a.name))
        return br

    def dissolve(self, br, evs):
        """A basic bridge ends when a party leaves: everyone leaves it."""
        for c in br.channels:
            evs.append(ev_varset(c, "BRIDGEPEER", ""))
        while br.channels:
            c = br.channels.pop(0)
            c.bridge = None
            evs.append(ev_bridge("BridgeLeave", br, c))
        evs.append(ev_bridge("BridgeDestroy", br))
        self.bridges.pop(br.uniqueid, None)

    # --- applications --------------------------------------------------------

    def enter_app(self, ch, evs):
        """What a channel's application does to the PBX once it runs."""
        app, arg = ch.app.lower(), ch.appdata.split(",")[0]
        if app == "confbridge" and arg:
            self.conf_join(ch, arg, evs)
        elif app == "queue" and arg in self.queues:
            self.queue_join(ch, self.queues[arg], evs)
        elif app == "chanspy":
            self.spy_start(ch, evs)

    def leave_app(self, ch, initiator, evs, result="HANGUP"):
        """The application of a channel that hangs up or is redirected ends."""
        r = ch.role
        if r is None:
            return
        if r.conf is not None:
            self.conf_leave(ch, evs, result)
        if r.queue is not None:
            self.queue_leave(ch, evs, abandoned=result == "HANGUP")
        if r.agent is not None and not r.agent.done:
            call = r.agent
            caller_side = initiator in (call.caller, call.caller.peer)
            self.agent_complete(call, "caller" if caller_side else "agent", evs)
        if r.spyee is not None:
            self.spy_stop(ch, evs)

    # --- ConfBridge (events-confbridge, tcp-redirect-extrachannel) -----------

    def bridge_peers(self, conf, ch):
        return ",".join([conf.announcer] + [c.name for c in conf.bridge.channels if c is not ch])

    def conf_join(self, ch, room, evs):
        conf = self.confs.get(room)
        if conf is None:
            conf = self.confs[room] = Conference(room)
            br = conf.bridge
            self.bridges[br.uniqueid] = br
            evs.append(ev_bridge("BridgeCreate", br))
            with self.world.lock:
                self.world.local_seq += 1
                conf.announcer = "CBAnn/%s-%08x;2" % (room, self.world.local_seq)
            br.hidden = 1           # the announcer joins first
            evs.append(ev_conf("ConfbridgeStart", conf))
            self.set_device("confbridge:" + room, "INUSE", evs)
        r = role_of(ch)
        r.conf, r.joined, r.talking, r.muted = conf, time.time(), False, False
        conf.members.append(ch)
        conf.bridge.channels.append(ch)
        ch.bridge = conf.bridge
        evs.append(ev_bridge("BridgeEnter", conf.bridge, ch))
        others = [c for c in conf.bridge.channels if c is not ch]
        for c in others:
            evs.append(ev_varset(c, "BRIDGEPEER", self.bridge_peers(conf, c)))
        if not others:
            evs.append(ev_varset(ch, "BRIDGEPEER", self.bridge_peers(conf, ch)))
        evs.append(ev_conf("ConfbridgeJoin", conf, ch, ["Admin: No", "Muted: No"]))
        if others:
            evs.append(ev_varset(ch, "BRIDGEPEER", self.bridge_peers(conf, ch)))

    def conf_leave(self, ch, evs, result):
        conf = ch.role.conf
        ch.role.conf = None
        evs.append(ev_conf("ConfbridgeLeave", conf, ch, ["Admin: No"]))
        evs.append(ev_varset(ch, "BRIDGEPEER", ""))
        conf.members.remove(ch)
        br = conf.bridge
        br.channels.remove(ch)
        ch.bridge = None
        evs.append(ev_bridge("BridgeLeave", br, ch))
        for c in br.channels:
            evs.append(ev_varset(c, "BRIDGEPEER", self.bridge_peers(conf, c)))
        evs.append(ev_varset(ch, "CONFBRIDGE_RESULT", result))
        if conf.members:
            return
        evs.append(ev_conf("ConfbridgeEnd", conf))
        self.set_device("confbridge:" + conf.name, "NOT_INUSE", evs)
        br.hidden = 0
        evs.append(ev_bridge("BridgeDestroy", br))
        evs.append(ev_device(conf.announcer.split("-")[0], "UNKNOWN"))
        del self.confs[conf.name]
        self.bridges.pop(br.uniqueid, None)

    def conf_member(self, room, name):
        """(conference, channel) for ConfbridgeKick/Mute, or an error."""
        if not room:
            return None, "No Conference name provided."
        if not name:
            return None, "No channel name provided."
        if not self.confs:
            return None, "No active conferences."
        conf = self.confs.get(room)
        if conf is None:
            return None, "No Conference by that name found."
        ch = next((c for c in conf.members if c.name == name), None)
        if ch is None:
            return None, "No Channel by that name found in Conference."
        return (conf, ch), None

    def conf_talk(self, ch, on, evs):
        ch.role.talking = on
        evs.append(ev_conf("ConfbridgeTalking", ch.role.conf, ch,
                           ["TalkingStatus: " + ("on" if on else "off"), "Admin: No"]))

    def conf_mute(self, ch, on, evs):
        ch.role.muted = on
        evs.append(ev_conf("ConfbridgeMute" if on else "ConfbridgeUnmute", ch.role.conf, ch,
                           ["Admin: No"]))

    # --- queues (events-queue) -----------------------------------------------

    def queue_join(self, ch, q, evs):
        r = role_of(ch)
        r.queue, r.joined = q, time.time()
        q.callers.append(ch)
        r.position = len(q.callers)
        if len(q.callers) == 1:
            self.set_device("Queue:" + q.name, "RINGING", evs)
        evs.append(ev_chan("QueueCallerJoin", "agent", ch, [
            "Queue: " + q.name, "Position: %d" % r.position, "Count: %d" % len(q.callers)]))
        self.connect_members(q, evs)

    def queue_leave(self, ch, evs, abandoned):
        r = ch.role
        q, r.queue = r.queue, None
        pos = q.callers.index(ch) + 1
        q.callers.remove(ch)
        if abandoned:
            q.abandoned += 1
            evs.append(ev_chan("QueueCallerAbandon", "agent", ch, [
                "Queue: " + q.name, "Position: %d" % pos, "OriginalPosition: %d" % r.position,
                "HoldTime: %d" % (time.time() - r.joined)]))
        if not q.callers:
            self.set_device("Queue:" + q.name, "NOT_INUSE", evs)
        evs.append(ev_chan("QueueCallerLeave", "agent", ch, [
            "Queue: " + q.name, "Position: %d" % pos, "Count: %d" % len(q.callers)]))
        return pos

    def connect_members(self, q, evs):
        """ringall: the first waiting caller gets the first free member, who
        answers at once (Local/wait20@test answers, as in events-queue)."""
        while q.callers and q.available():
            self.call_member(q, q.callers[0], q.available()[0], evs)

    def call_member(self, q, caller, m, evs):
        world = self.world
        tech, _, rest = m.interface.partition("/")
        legs = world.new_legs(tech, rest)
        agent = legs[0]
        cid = caller.cid_num or caller.exten
        for c in legs:
            c.linkedid = caller.linkedid
            evs.append(ev_chan("Newchannel", "call", c))
        agent.cid_num, agent.cid_name = cid, caller.cid_name
        agent.app, agent.appdata = "AppQueue", "(Outgoing Line)"
        evs.append(ev_newexten(agent))
        evs.extend(ev_callerid(agent)[:1])
        if len(legs) == 2:
            evs += [ev_varset(c, "DIALEDPEERNUMBER", rest) for c in legs]
            legs[1].conn_num, legs[1].conn_name = cid, caller.cid_name
            evs.append(ev_chan("NewConnectedLine", "call", legs[1]))
            evs.append(local_bridge(legs))
            legs[1].app, legs[1].appdata = "Answer", ""
            evs.append(ev_newexten(legs[1]))
        world.attach(legs)
        call = AgentCall(q, m, caller, agent, int(time.time() - caller.role.joined))
        evs.append(ev_agent("AgentCalled", call))
        evs.append(ev_two("DialBegin", "call", caller, agent, ["DialString: " + m.interface]))
        agent.state, agent.answered = 6, time.time()
        evs.append(ev_chan("Newstate", "call", agent))
        agent.exten = caller.exten
        evs.append(ev_newexten(agent))
        evs.append(ev_two("DialEnd", "call", caller, agent, ["DialStatus: ANSWER"]))
        if len(legs) == 2:
            legs[1].state = 6
            evs.append(ev_chan("Newstate", "call", legs[1]))
        pos = self.queue_leave(caller, evs, abandoned=False)
        held = call.held
        evs += [ev_varset(caller, "QUEUEPOSITION", str(pos)), ev_varset(caller, "QUEUEWAIT", str(held)),
                ev_varset(caller, "QUEUEWAIT_MS", str(held * 1000))]
        evs.append(ev_agent("AgentConnect", call, ["HoldTime: %d" % held, "RingTime: 0"]))
        role_of(caller).agent = role_of(agent).agent = call
        m.in_call = 1
        pre = []
        self.emitted = set()
        self.channel_devices(legs, pre)
        if id(m) not in self.emitted:
            pre.append(ev_member("QueueMemberStatus", q, m))
        self.bridge_two(agent, caller, evs, before_enter=pre)
        if len(legs) == 2:
            answer_leg(legs[1])
            evs.append(ev_newexten(legs[1]))

    def agent_complete(self, call, reason, evs):
        call.done = True
        talk = int(time.time() - call.start)
        evs.append(ev_agent("AgentComplete", call, ["HoldTime: %d" % call.held,
                                                    "TalkTime: %d" % talk, "Reason: " + reason]))
        q, m = call.queue, call.member
        q.completed += 1
        q.holdtime = (q.holdtime * (q.completed - 1) + call.held) // q.completed
        q.talktime = (q.talktime * (q.completed - 1) + talk) // q.completed
        m.calls, m.last_call, m.in_call = m.calls + 1, int(time.time()), 0

    def queue_add(self, qname, iface, name, penalty, paused, reason):
        q = self.queues.get(qname)
        if q is None:
            return "Unable to add interface to queue: No such queue", []
        if any(m.interface == iface for m in q.members):
            return "Unable to add interface: Already there", []
        m = QueueMember(name or iface, iface, "dynamic", int(time.time()))
        m.penalty = penalty
        m.paused, m.reason = (1, reason) if paused else (0, "")
        m.status = DEVICE_STATES.index(self.device_state(iface))
        q.members.append(m)
        self.devices.setdefault("Queue:%s_pause_%s" % (q.name, iface), "NOT_INUSE")
        evs = [ev_member("QueueMemberAdded", q, m)]
        self.queue_avail(q, evs)
        self.connect_members(q, evs)
        return None, evs

    def queue_remove(self, qname, iface):
        q = self.queues.get(qname)
        if q is None:
            return "Unable to remove interface from queue: No such queue", []
        m = next((m for m in q.members if m.interface == iface), None)
        if m is None:
            return "Unable to remove interface: Not there", []
        if m.membership != "dynamic":
            return "Member not dynamic", []
        q.members.remove(m)
        evs = [ev_member("QueueMemberRemoved", q, m)]
        self.queue_avail(q, evs)
        return None, evs

    def queue_pause(self, qname, iface, paused, reason):
        found = [(q, m) for q in self.queues.values() if not qname or q.name == qname
                 for m in q.members if m.interface == iface]
        if not found:
            return "Interface not found", []
        evs = []
        for q, m in found:
            m.paused, m.reason = (1, reason) if paused else (0, "")
            if paused:
                m.last_pause = int(time.time())
            self.set_device("Queue:%s_pause_%s" % (q.name, iface),
                            "INUSE" if paused else "NOT_INUSE", evs)
            self.queue_avail(q, evs)
            evs.append(ev_member("QueueMemberPause", q, m))
            self.connect_members(q, evs)
        return None, evs

    def queue_avail(self, q, evs):
        """Queue:<name>_avail is INUSE while no member could take a call."""
        state = "NOT_INUSE" if any(not m.paused for m in q.members) else "INUSE"
        self.set_device("Queue:%s_avail" % q.name, state, evs)

    # --- ChanSpy -------------------------------------------------------------

    def spy_start(self, ch, evs):
        """ChanSpy([chanprefix][,options]): spies on the first channel up
        whose name starts with the prefix (case-insensitive), not its own."""
        args = ch.appdata.split(",")
        prefix = args[0].strip().lower()
        r = role_of(ch)
        r.spy_exit = len(args) > 1 and "E" in args[1]
        own = (ch, ch.peer)
        target = next((c for c in self.world.channels
                       if c not in own and c.state == 6 and c.name.lower().startswith(prefix)
                       and (c.role is None or c.role.spyee is None)), None)
        if target is None:
            return
        r.spyee = target
        role_of(target).spyers.append(ch)
        evs.append(Event.build("ChanSpyStart", PERM["call"],
                               chan_blob(ch, "Spyer") + chan_blob(target, "Spyee")))

    def spy_stop(self, spyer, evs):
        spyee = spyer.role.spyee
        spyer.role.spyee = None
        spyee.role.spyers.remove(spyer)
        evs.append(Event.build("ChanSpyStop", PERM["call"],
                               chan_blob(spyer, "Spyer") + chan_blob(spyee, "Spyee")))

    # --- hangup --------------------------------------------------------------

    def involved(self, ch):
        """Whether a hangup of ch needs more than a Local pair's events."""
        for c in (ch, ch.peer):
            if c is not None and (c.bridge is not None or c.role is not None
                                  or c.device in self.hints_by_device
                                  or any(m.state_interface == c.device
                                         for q in self.queues.values() for m in q.members)):
                return True
        return False

    def closure(self, ch, alive):
        """The channels that end with ch: its Local half, a basic bridge's
        other parties (the bridge dissolves) and theirs, a channel it is
        dialling, spyers that exit with it (ChanSpy option E)."""
        gone, todo = [], [ch]
        while todo:
            c = todo.pop(0)
            if c is None or c in gone or id(c) not in alive:
                continue
            gone.append(c)
            todo.append(c.peer)
            if c.bridge is not None and c.bridge.conference is None:
                todo.extend(c.bridge.channels)
            r = c.role
            if r is not None:
                todo.extend(s for s in r.spyers if s.role.spy_exit)
                todo.append(getattr(r, "dialed", None))
        return gone

    def hangup(self, ch, cause, remote=False):
        """Everything Asterisk sends when ch hangs up (Hangup action, a
        remote hangup with remote=True), ordered like events-call-bridged:
        requests, the applications' ends, the bridge, Hangups, device states."""
        world = self.world
        alive = {id(c) for c in world.channels}
        if id(ch) not in alive:
            return []
        gone = self.closure(ch, alive)
        evs = []
        if remote:
            evs.append(ev_chan("HangupRequest", "call", ch, ["Cause: %d" % cause]))
        peer = ch.peer if ch.peer in gone else None
        if peer is not None:
            evs.append(ev_chan("HangupRequest", "call", peer, ["Cause: %d" % cause]))
        busy = {id(c) for c in gone if c.bridge is not None or c.role is not None}
        for c in gone:
            self.leave_app(c, ch, evs)
        for c in gone:
            # A spyer whose spyee goes stops (and with option E went too).
            for spyer in list(c.role.spyers if c.role is not None else ()):
                self.spy_stop(spyer, evs)
        bridges = []
        for c in gone:
            if c.bridge is not None and c.bridge not in bridges:
                bridges.append(c.bridge)
        for br in bridges:
            self.dissolve(br, evs)
        done = set()
        for c in gone:
            # A Local half that goes asks its other half to go (local_hangup).
            other = c.peer
            if c not in (ch, peer) and other in gone and other not in (ch, peer) \
                    and id(other) not in done:
                evs.append(ev_chan("HangupRequest", "call", other, ["Cause: 16"]))
            done.add(id(c))
            if c is not ch and (c is peer or c.name.endswith(";2")):
                evs.append(ev_chan("SoftHangupRequest", "call", c, ["Cause: 16"]))
            simple = c is ch or (c is peer and id(c) not in busy and id(ch) not in busy)
            evs.append(ev_hangup(c, cause if simple else 16))
        for c in gone:
            c.gone = True
            world.detach(c)
            if c.role is not None and c.role.traffic:
                self.free_exts.append(c.device.split("/", 1)[1])
        self.emitted = set()
        self.channel_devices(gone, evs)
        for c in gone:
            call = c.role.agent if c.role is not None else None
            if call is not None and c is call.caller:
                if id(call.member) not in self.emitted:
                    evs.append(ev_member("QueueMemberStatus", call.queue, call.member))
                self.connect_members(call.queue, evs)
        return evs

    # --- redirect and transfer -----------------------------------------------

    def needs_move(self, ch, context, exten):
        app = dialplan_app(context, exten)[0]
        return ch.bridge is not None or ch.role is not None or app in ("ConfBridge", "Queue")

    def redirect(self, moves):
        """Redirect (one or two channels): each leaves its application and
        its bridge and runs the dialplan at its target; the other party of
        a basic bridge that no channel of moves was in goes on in its own
        dialplan, which (Dial, Queue in the captured dialplan) then ends."""
        evs = []
        movers = [m[0] for m in moves]
        for ch in movers:
            self.leave_app(ch, ch, evs, result="REDIRECT")
        others = []
        for ch in movers:
            br = ch.bridge
            if br is not None:
                others += [c for c in br.channels if c not in movers and c not in others]
                self.dissolve(br, evs)
        for ch, context, exten, priority in moves:
            ch.context, ch.exten, ch.priority = context, exten, priority
            ch.app, ch.appdata = dialplan_app(context, exten)
            evs.append(ev_newexten(ch))
            self.enter_app(ch, evs)
        for c in others:
            evs += self.hangup(c, 16)
        return evs

    def blind_transfer(self, ch, context, exten):
        """ast_bridge_transfer_blind() for a two-party call: the other party
        goes to exten@context, the transferer leaves and hangs up; a
        channel in no bridge: Result Invalid; in a conference: Not Permitted."""
        br = ch.bridge
        tail = ["IsExternal: Yes", "Context: " + context, "Extension: " + exten]
        if br is None or br.conference is not None:
            result = "Invalid" if br is None else "Not Permitted"
            lines = ["Result: " + result] + chan_blob(ch, "Transferer") + tail
            err = "Transfer invalid" if br is None else "Transfer not permitted"
            return err, [Event.build("BlindTransfer", PERM["call"], lines)]
        other = next(c for c in br.channels if c is not ch)
        evs = [Event.build("BlindTransfer", PERM["call"], ["Result: Success"]
                           + chan_blob(ch, "Transferer") + chan_blob(other, "Transferee")
                           + br.blob() + tail)]
        self.leave_app(ch, ch, evs, result="TRANSFER")
        self.dissolve(br, evs)
        other.context, other.exten, other.priority = context, exten, 1
        other.app, other.appdata = dialplan_app(context, exten)
        evs.append(ev_newexten(other))
        self.enter_app(other, evs)
        evs += self.hangup(ch, 16)
        return None, evs

    def hold(self, ch, on, evs):
        role_of(ch).hold = on
        evs.append(ev_chan("Hold" if on else "Unhold", "call", ch))
        if not ch.device.startswith("Local/"):
            self.channel_devices([ch], evs)

    def channel_map(self, ch, seen=None):
        """action_coreshowchannelmap(): the other channels of ch's bridge,
        following each Local channel to its other half and that half's
        bridge."""
        seen = [] if seen is None else seen
        br = ch.bridge
        for c in (br.channels if br is not None else ()):
            if c is ch or c.name in seen:
                continue
            seen.append(c.name)
            if c.name.startswith("Local") and c.peer is not None and c.peer.name not in seen:
                seen.append(c.peer.name)
                if c.peer.bridge is not None:
                    self.channel_map(c.peer, seen)
        return seen

    # --- the --calls world and its traffic -----------------------------------

    def endpoint_channel(self, ext, context, exten, state, linkedid=None):
        """A PJSIP/<ext>-<seq> channel of a --calls endpoint."""
        world = self.world
        with world.lock:
            world.local_seq += 1
            seq = world.local_seq
        uid = world.uniqueid()
        ch = Channel("PJSIP/%s-%08x" % (ext, seq), uid, linkedid or uid, context, exten,
                     "PJSIP/" + ext)
        ch.cid_num, ch.cid_name = ext, self.names.get(ext, "")
        ch.state = state
        role_of(ch).traffic = True
        return ch

    def endpoints(self, n):
        """n more endpoints 1000, 1001, ..., each with a hint in from-internal."""
        base = 1000 + len(self.names)
        exts = [str(base + i) for i in range(n)]
        for i, ext in enumerate(exts):
            self.names[ext] = person(base - 1000 + i)
            self.devices["PJSIP/" + ext] = "NOT_INUSE"
            self.add_hint(ext, "from-internal", "PJSIP/" + ext)
        return exts

    def ring(self, caller_ext, callee_ext, evs):
        """A call from one endpoint to another, ringing (Dial() running)."""
        caller = self.endpoint_channel(caller_ext, "from-internal", callee_ext, 4)
        caller.app, caller.appdata = "Dial", "PJSIP/%s,30" % callee_ext
        callee = self.endpoint_channel(callee_ext, "from-internal", callee_ext, 0,
                                       linkedid=caller.uniqueid)
        callee.app, callee.appdata = "AppDial", "(Outgoing Line)"
        callee.conn_num, callee.conn_name = caller.cid_num, caller.cid_name
        role_of(caller).dialed, role_of(callee).dialed = callee, caller
        self.world.attach([caller, callee])
        with self.world.lock:
            self.world.processed += 1
        evs += [ev_chan("Newchannel", "call", caller), ev_newexten(caller),
                ev_varset(caller, "DIALSTATUS", ""), ev_chan("Newchannel", "call", callee),
                ev_chan("NewConnectedLine", "call", callee),
                ev_two("DialBegin", "call", caller, callee, ["DialString: " + callee_ext])]
        callee.state = 5
        evs.append(ev_chan("Newstate", "call", callee))
        self.channel_devices([caller, callee], evs)
        return caller, callee

    def answer(self, caller, callee, evs):
        callee.role.dialed = caller.role.dialed = None
        callee.state = caller.state = 6
        callee.answered = caller.answered = time.time()
        caller.conn_num, caller.conn_name = callee.cid_num, callee.cid_name
        evs += [ev_chan("Newstate", "call", callee), ev_chan("NewConnectedLine", "call", caller),
                ev_two("DialEnd", "call", caller, callee, ["DialStatus: ANSWER"]),
                ev_chan("Newstate", "call", caller), ev_varset(caller, "DIALSTATUS", "ANSWER")]
        self.bridge_two(callee, caller, evs)
        self.channel_devices([callee], evs)
        self.calls.append((caller, callee))

    def precreate_calls(self, n):
        """--calls N: N answered two-party calls between endpoints, bridged,
        up for a while already (no events: they were up before anyone came)."""
        if n <= 0:
            return
        exts = self.endpoints(2 * n + 20)
        self.free_exts = exts[2 * n:]
        now = time.time()
        for i in range(n):
            evs = []
            caller, callee = self.ring(exts[2 * i], exts[2 * i + 1], evs)
            self.answer(caller, callee, evs)
            caller.created = callee.created = now - random.uniform(5, 900)
            caller.answered = callee.answered = caller.created + random.uniform(1, 5)
        self.target = n

    def traffic_step(self):
        """One step of --calls traffic: answer the call that rings, else hang
        up a call at random (a phone puts down) and let a new one ring, so
        that about --calls calls stay up."""
        evs = []
        while self.ringing:
            caller, callee = self.ringing.pop(0)
            if not getattr(caller, "gone", False) and not getattr(callee, "gone", False):
                self.answer(caller, callee, evs)
                return evs
        while self.calls and len(self.calls) >= self.target:
            i = random.randrange(len(self.calls))
            call = self.calls[i]
            self.calls[i] = self.calls[-1]
            self.calls.pop()
            if not getattr(call[0], "gone", False):
                evs += self.hangup(random.choice(call), 16, remote=True)
                break
        if len(self.free_exts) >= 2 and len(self.calls) < self.target:
            a = self.free_exts.pop(random.randrange(len(self.free_exts)))
            b = self.free_exts.pop(random.randrange(len(self.free_exts)))
            self.ringing.append(self.ring(a, b, evs))
        return evs

    def set_calls(self, n):
        """FakePBX Operation: calls: up or down to n calls now."""
        evs = []
        self.target = n
        if len(self.free_exts) < 2 * n:
            self.free_exts += self.endpoints(2 * n - len(self.free_exts))
        guard = 4 * (n + len(self.calls)) + 10
        while guard and (self.ringing or len([c for c in self.calls
                                              if not getattr(c[0], "gone", False)]) != n):
            guard -= 1
            evs += self.traffic_step()
        return evs

    def precreate_conferences(self, rooms, size):
        """--conferences N: rooms 700, 701, ... with --conference-size
        endpoints each, in ConfBridge."""
        for r in range(rooms):
            room = str(700 + r)
            for ext in self.endpoints(size):
                ch = self.endpoint_channel(ext, "confbridge", room, 6)
                ch.app, ch.appdata = "ConfBridge", room
                ch.created = ch.answered = time.time() - random.uniform(10, 600)
                self.world.attach([ch])
                self.conf_join(ch, room, [])
                self.set_device(ch.device, "INUSE", [])

    def precreate_queue_callers(self, n):
        """--queue-callers N: N external callers (PJSIP/trunk) waiting in
        queue support, the longest for N * 7 s."""
        q = self.queues["support"]
        now = time.time()
        for i in range(n):
            with self.world.lock:
                self.world.local_seq += 1
                seq = self.world.local_seq
            uid = self.world.uniqueid()
            ch = Channel("PJSIP/trunk-%08x" % seq, uid, uid, "test", "queue", "PJSIP/trunk")
            ch.cid_num, ch.cid_name = "+4930555%04d" % i, person(i + 7)
            ch.state, ch.priority = 6, 2
            ch.app, ch.appdata = dialplan_app("test", "queue")
            ch.created = ch.answered = now - (n - i) * 7
            self.world.attach([ch])
            self.queue_join(ch, q, [])
            ch.role.joined = ch.created + 1
        if n:
            self.devices["PJSIP/trunk"] = "INUSE"


def run_traffic(world, rate):
    """--calls with --event-rate: the PBX lives, about rate events a second
    (every session gets those its mask and filters let through)."""
    next_at = time.monotonic()
    while not world.stop.is_set():
        with world.lock:
            evs = world.pbx.traffic_step()
            world.post_all(evs)
        next_at += max(len(evs), 1) / rate
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1.0:
            next_at = time.monotonic()      # fell behind: no burst to catch up


# ---------------------------------------------------------------------------
# Originate into the live PBX: the Local/<exten>@<context> calls whose ;2
# leg runs Dial(), Queue() or ConfBridge(), with the events in the order of
# events-call-bridged, events-queue and events-confbridge.

def local_bridge(legs):
    lb = chan_blob(legs[0], "LocalOne") + chan_blob(legs[1], "LocalTwo")
    lb += ["Context: " + legs[1].context, "Exten: " + legs[1].exten, "LocalOptimization: Yes"]
    return Event.build("LocalBridge", PERM["call"], lb)


def flush(world, evs):
    world.post_all(evs)
    del evs[:]


def first_leg_app(world, o, one, evs):
    """The ;1 leg runs the Originate's Application, or goes to its
    Context/Exten/Priority (a Newexten), once answered."""
    if o.app:
        one.app, one.appdata = o.app, o.appdata
    else:
        one.context, one.exten, one.priority = o.context, o.exten, o.pi
        one.app, one.appdata = dialplan_app(o.context, o.exten)
        evs.append(ev_newexten(one))
    world.pbx.enter_app(one, evs)


def answer_both(one, two, evs):
    for ch in (two, one):
        ch.state, ch.answered = 6, time.time()
        evs.append(ev_chan("Newstate", "call", ch))


def flow_conference(world, o, legs, app, report, evs):
    one, two = legs
    two.app, two.appdata = app
    evs.append(ev_newexten(two))
    answer_both(one, two, evs)
    evs.append(ev_dial("DialEnd", one, "DialStatus: ANSWER"))
    flush(world, evs)
    report(True, 4, one)
    world.pbx.channel_devices(legs, evs)
    first_leg_app(world, o, one, evs)
    world.pbx.enter_app(two, evs)


def flow_queue(world, o, legs, app, report, evs):
    one, two = legs
    two.app, two.appdata = "Answer", ""
    evs.append(ev_newexten(two))
    two.state, two.answered = 6, time.time()
    evs.append(ev_chan("Newstate", "call", two))
    flush(world, evs)
    report(True, 4, one)
    world.pbx.channel_devices([two], evs)
    one.state, one.answered = 6, time.time()
    evs.append(ev_chan("Newstate", "call", one))
    evs.append(ev_dial("DialEnd", one, "DialStatus: ANSWER"))
    world.pbx.channel_devices([one], evs)
    first_leg_app(world, o, one, evs)
    two.priority = 2
    two.app, two.appdata = app
    evs.append(ev_newexten(two))
    evs += [ev_varset(two, v, "") for v in QUEUE_VARS]
    world.pbx.enter_app(two, evs)


def flow_dial(world, o, legs, app, report, evs):
    """Local/dial@test: its ;2 leg runs Dial(Local/wait20@test,30), which
    answers; both are bridged (events-call-bridged)."""
    pbx = world.pbx
    one, two = legs
    two.app, two.appdata = app
    evs.append(ev_newexten(two))
    evs += [ev_varset(two, v, "") for v in DIAL_VARS]
    target = app[1].split(",")[0]
    tech, _, rest = target.partition("/")
    callee = world.new_legs(tech, rest)
    c1 = callee[0]
    for c in callee:
        c.linkedid = two.linkedid
        evs.append(ev_chan("Newchannel", "call", c))
    cid = two.cid_num or two.exten
    evs.append(ev_varset(c1, "DIALEDPEERNUMBER", rest))
    c1.cid_num, c1.cid_name, c1.exten = cid, two.cid_name, two.exten
    c1.app, c1.appdata = "AppDial", "(Outgoing Line)"
    evs += [ev_newexten(c1), ev_callerid(c1)[0]]
    if len(callee) == 2:
        c2 = callee[1]
        c2.conn_num, c2.conn_name = cid, two.cid_name
        evs += [ev_varset(c2, "DIALEDPEERNUMBER", rest),
                ev_chan("NewConnectedLine", "call", c2), local_bridge(callee)]
    evs.append(ev_two("DialBegin", "call", two, c1, ["DialString: " + rest]))
    world.attach(callee)
    if len(callee) == 2:
        c2.app, c2.appdata = "Answer", ""
        evs.append(ev_newexten(c2))
        c2.state, c2.answered = 6, time.time()
        evs.append(ev_chan("Newstate", "call", c2))
        pbx.channel_devices([c2], evs)
    c1.state, c1.answered = 6, time.time()
    evs.append(ev_chan("Newstate", "call", c1))
    pbx.channel_devices([c1], evs)
    evs += [ev_varset(two, "DIALSTATUS", "ANSWER"), ev_varset(two, "DIALEDPEERNAME", c1.name),
            ev_varset(two, "DIALEDPEERNUMBER", rest)]
    c1.exten = ""
    evs.append(ev_two("DialEnd", "call", two, c1, ["DialStatus: ANSWER"]))
    answer_both(one, two, evs)
    flush(world, evs)
    report(True, 4, one)
    evs.append(ev_dial("DialEnd", one, "DialStatus: ANSWER"))
    pbx.channel_devices(legs, evs)
    pbx.bridge_two(c1, two, evs, before_enter=[ev_newexten(c1)])
    if len(callee) == 2:
        answer_leg(c2)
        evs.append(ev_newexten(c2))
    first_leg_app(world, o, one, evs)


LOCAL_FLOWS = {"Dial": flow_dial, "Queue": flow_queue, "ConfBridge": flow_conference}


def originate_into_pbx(world, o, legs, report):
    """True when the call was placed here (a Local call whose ;2 leg runs
    Dial, Queue or ConfBridge); False leaves it to the generic answer."""
    if len(legs) != 2:
        return False
    app = dialplan_app(legs[1].context, legs[1].exten)
    flow = LOCAL_FLOWS.get(app[0])
    if flow is None:
        return False
    with world.lock:
        evs = originate_setup(o, legs)
        world.attach(legs)
        flow(world, o, legs, app, report, evs)
        world.post_all(evs)
    return True


def answered_into_pbx(world, o, legs, evs):
    """After the generic answer: queue members and hints see the new
    channels, and the ;1 leg's application (ChanSpy, ConfBridge, Queue)
    does its part."""
    with world.lock:
        world.pbx.channel_devices(legs, evs, effects_only=True)
        world.pbx.enter_app(legs[0], evs)


# ---------------------------------------------------------------------------
# --flood-mix: a synthetic --events corpus.

MIX_VARS = [("BRIDGEPEER", ""), ("DIALSTATUS", "ANSWER"), ("CDR(userfield)", "crm-4711"),
            ("__TRANSFER_CONTEXT", "from-internal"), ("RTPAUDIOQOS", "ssrc=1;themssrc=2")]
MIX_APPS = [("Set", "__FROM_DID=4930555"), ("NoOp", "inbound"), ("GotoIf", "$[1]?ok"),
            ("Dial", "PJSIP/201,30"), ("Gosub", "sub-record,s,1")]


def mix_corpus(spec):
    """Events in the proportions of SPEC ("VarSet=70,Newexten=20,Hangup=10"),
    shuffled with a fixed seed, spread over 50 channels of which the first
    is PJSIP/100-... and the others PJSIP/201 to PJSIP/249: a filter on
    Channel=PJSIP/100* keeps 1 event in 50."""
    weights = []
    for item in spec.split(","):
        name, _, weight = item.partition("=")
        weights.append((name.strip(), int(weight or 1)))
    names = [name for name, w in weights for _ in range(w)]
    rng = random.Random(1)
    chans = []
    for i in range(50):
        ext = "100" if i == 0 else str(200 + i)
        ch = Channel("PJSIP/%s-%08x" % (ext, 0x100 + i), "1795000000.%d" % i,
                     "1795000000.%d" % i, "from-internal", "s", "PJSIP/" + ext)
        ch.state, ch.cid_num, ch.cid_name = 6, ext, person(i)
        ch.app, ch.appdata = MIX_APPS[i % len(MIX_APPS)]
        chans.append(ch)
    evs, n = [], 0
    for _ in range(50):
        rng.shuffle(names)
        for name in names:
            ch = chans[n % 50]
            n += 1
            if name == "VarSet":
                var, value = MIX_VARS[n % len(MIX_VARS)]
                evs.append(ev_varset(ch, var, value))
            elif name == "Newexten":
                ch.app, ch.appdata = MIX_APPS[n % len(MIX_APPS)]
                evs.append(ev_newexten(ch))
            elif name == "Hangup":
                evs.append(ev_hangup(ch, 16))
            else:
                evs.append(ev_chan(name, "call", ch))
    return evs


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


def bridge_id(ch):
    return ch.bridge.uniqueid if ch.bridge is not None else ""


def ess(n):
    return "" if n == 1 else "s"


def cli_channels(world, concise):
    with world.lock:
        chans = list(world.channels)
        processed = world.processed
    if concise:
        return ["%s!%s!%s!%d!%s!%s!%s!%s!%s!!3!%d!%s!%s" % (
            c.name, c.context, c.exten, c.priority, STATE_DESC.get(c.state, "Unknown"), c.app,
            c.appdata, c.cid_num, c.account, c.seconds(), bridge_id(c), c.uniqueid)
            for c in chans]
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
             "core show help", "dialplan show", "module show", "manager show connected",
             "manager show settings", "manager show user", "manager show users",
             "manager kick session"]


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
    manager = cli_manager(world, words)
    if manager is not None:
        return manager[0], manager[1], False
    return False, cli_unknown(words), False


# ---------------------------------------------------------------------------
# CLI "manager ..." commands (main/manager.c: handle_manager_show_settings,
# handle_showmanager, handle_showmanagers, handle_showmanconn,
# handle_kickmanconn), for ami doctor.

def yes_no(flag):
    return "Yes" if flag else "No"


def user_authority_to_str(mask):
    """The classes a user has in full (manager show user lists "all" only
    when every class is there)."""
    labels = [label for label, num in PERMS[:-1] if num and mask & num == num]
    return ",".join(labels) if labels else "<none>"


def cli_show_settings(world):
    fmt, fmt2, fmt3 = "  %-25.25s  %-15.55s", "  %-25.25s  %-15d", "  %-25.25s  %s"
    opts = world.opts
    tls_port = getattr(world, "tls_port", 0)
    return ["", "Global Settings:", "----------------",
            fmt % ("Manager (AMI):", "Yes"),
            fmt % ("Web Manager (AMI/HTTP):", yes_no(MANAGER.webenabled)),
            fmt % ("TCP Bindaddress:", "127.0.0.1:%d" % world.port),
            fmt2 % ("HTTP Timeout (seconds):", getattr(opts, "httptimeout", 60)),
            fmt % ("TLS Enable:", yes_no(tls_port)),
            fmt % ("TLS Bindaddress:", "127.0.0.1:%d" % tls_port if tls_port else "Disabled"),
            fmt % ("TLS Certfile:", getattr(opts, "cert", None) or "asterisk.pem"),
            fmt % ("TLS Privatekey:", getattr(opts, "key", None) or ""),
            fmt % ("TLS Cipher:", ""),
            fmt % ("Allow multiple login:", yes_no(MANAGER.allowmultiplelogin)),
            fmt % ("Display connects:", yes_no(MANAGER.displayconnects)),
            fmt % ("Timestamp events:", yes_no(MANAGER.timestampevents)),
            fmt3 % ("Channel vars:", ",".join(MANAGER.channelvars)),
            fmt3 % ("Disabled events:", ",".join(MANAGER.disabledevents)),
            fmt % ("Debug:", "No")]


def cli_show_user(words):
    if len(words) != 4:
        return False, [" Usage: manager show user <user>",
                       "        Display all information related to the manager user specified."]
    user = find_user(words[3])
    if user is None:
        return True, ["There is no manager called %s" % words[3]]
    return True, ["", "          username: " + user.name, "            secret: <Set>",
                  "               ACL: no",
                  "         read perm: " + user_authority_to_str(user.readperm),
                  "        write perm: " + user_authority_to_str(user.writeperm),
                  "   displayconnects: yes",
                  "allowmultiplelogin: " + ("yes" if MANAGER.allowmultiplelogin else "no"),
                  "         Variables: "]


def session_fd(s):
    """A file descriptor number for manager show connected and kick: HTTP
    sessions have none (-1)."""
    return s.conn_id + 40 if isinstance(s.sink, TcpConnection) else -1


def cli_show_connected(world):
    fmt1 = "  %-15.15s  %-55.55s  %-10.10s  %-10.10s  %-8.8s  %-8.8s  %-10.10s  %-10.10s"
    fmt2 = "  %-15.15s  %-55.55s  %-10d  %-10d  %-8d  %-8d  %-10.10d  %-10.10d"
    out = [fmt1 % ("Username", "IP Address", "Start", "Elapsed", "FileDes", "HttpCnt",
                   "ReadPerms", "WritePerms")]
    now = time.time()
    with world.lock:
        sessions = sorted(world.sessions, key=lambda s: s.conn_id)
    for s in sessions:
        start = s.session_tv or now
        out.append(fmt2 % (s.user.name if s.user else "", s.sink.remote_address.split("/")[2],
                           int(start), int(now - start), session_fd(s), 0, s.readperm,
                           s.writeperm))
    out.append("%d users connected." % len(sessions))
    return out


def cli_kick(world, words):
    if len(words) != 4:
        return False, ["Usage: manager kick session <file descriptor>",
                       "\tKick an active Asterisk Manager Interface session"]
    fd = leading_int(words[3]) or 0
    if fd <= 0:
        return False, ["Invalid AMI file descriptor: %s" % words[3]]
    with world.lock:
        found = [s for s in world.sessions if session_fd(s) == fd]
    if not found:
        return True, ["No manager session found using file descriptor %d" % fd]
    # The session ends once it has answered what it is doing (the kicking
    # session gets its answer first).
    threading.Timer(0.1, found[0].sink.abort).start()
    return True, ["Kicking manager session connected using file descriptor %d" % fd]


def cli_manager(world, words):
    """(ok, lines) for the manager CLI commands, None for any other."""
    low = [w.lower() for w in words]
    if low[:3] == ["manager", "show", "settings"] and len(low) == 3:
        return True, cli_show_settings(world)
    if low[:3] == ["manager", "show", "user"]:
        return cli_show_user(words)
    if low == ["manager", "show", "users"]:
        names = [u.name for u in USERS]
        return True, ["", "username", "--------"] + names + [
            "-------------------", "%d manager users configured." % len(names)]
    if low == ["manager", "show", "connected"]:
        return True, cli_show_connected(world)
    if low[:3] == ["manager", "kick", "session"]:
        return cli_kick(world, words)
    return None


# ---------------------------------------------------------------------------
# The actions of the live PBX (Session inherits them).

class PbxActions:
    """List actions an operator panel reads, queue and conference control,
    transfers, and the test-only FakePBX action."""

    def send_list(self, req, message, items, complete, extra=()):
        """A list answer: start, the (name, lines, ActionID last) items in one
        write (2,000 channels go out at once), then the Complete event."""
        self.list_start(req, message)
        aid = self.aid(req)
        aid_line = ["ActionID: " + aid] if aid else []
        chunks = [encode(["Event: " + name] + (lines + aid_line if last else aid_line + lines))
                  for name, lines, last in items]
        if chunks:
            self.sink.write(b"".join(chunks))
        self.list_complete(req, complete, len(items), extra)

    # --- bridges -------------------------------------------------------------

    def act_bridgelist(self, req):
        tech = req.get("BridgeType")
        with self.world.lock:
            items = [("BridgeListItem", br.blob(), False)
                     for br in self.world.pbx.bridges.values() if not tech or br.kind[1] == tech]
        self.send_list(req, "Bridge listing will follow", items, "BridgeListComplete")
        return None

    def act_bridgeinfo(self, req):
        uid = req.get("BridgeUniqueid")
        if not uid:
            self.error(req, "BridgeUniqueid must be provided")
            return None
        with self.world.lock:
            br = self.world.pbx.bridges.get(uid)
            if br is not None:
                items = [("BridgeInfoChannel", chan_blob(c), False) for c in br.channels]
                blob = br.blob()
        if br is None:
            self.error(req, "Specified BridgeUniqueid not found")
            return None
        self.send_list(req, "Bridge channel listing will follow", items, "BridgeInfoComplete",
                       blob)
        return None

    def act_coreshowchannelmap(self, req):
        name = req.get("Channel")
        if not name:
            self.error(req, "CoreShowChannelMap requires a channel.\n")
            return None
        ch = self.world.find_channel(name)
        if ch is None:
            self.error(req, "Could not get channel snapshot\n")
            return None
        with self.world.lock:
            names = self.world.pbx.channel_map(ch)
        self.send_list(req, "Channel map will follow",
                       [("CoreShowChannelMap", ["Channel: " + name, "ConnectedChannel: " + n],
                         False) for n in names], "CoreShowChannelMapComplete")
        return None

    # --- ConfBridge ----------------------------------------------------------

    def act_confbridgelistrooms(self, req):
        with self.world.lock:
            items = [("ConfbridgeListRooms", [
                "Conference: " + c.name, "Parties: %d" % len(c.members), "Marked: 0",
                "Locked: " + yes_no(c.locked), "Muted: No"], False)
                for c in self.world.pbx.confs.values()]
        if not items:
            self.error(req, "No active conferences.")
            return None
        self.send_list(req, "Confbridge conferences will follow", items,
                       "ConfbridgeListRoomsComplete")
        return None

    def act_confbridgelist(self, req):
        room, pbx = req.get("Conference"), self.world.pbx
        err = None
        with self.world.lock:
            if not room:
                err = "No Conference name provided."
            elif not pbx.confs:
                err = "No active conferences."
            elif room not in pbx.confs:
                err = "No Conference by that name found."
            else:
                now = time.time()
                items = [("ConfbridgeList", [
                    "Conference: " + room, "Admin: No", "MarkedUser: No", "WaitMarked: No",
                    "EndMarked: No", "EndMarkedAny: No", "Waiting: No",
                    "Muted: " + yes_no(c.role.muted), "Talking: " + yes_no(c.role.talking),
                    "AnsweredTime: %d" % (now - (c.answered or c.created))] + chan_blob(c), False)
                    for c in pbx.confs[room].members]
        if err:
            self.error(req, err)
            return None
        self.send_list(req, "Confbridge user list will follow", items, "ConfbridgeListComplete")
        return None

    def conf_control(self, req, done):
        """ConfbridgeKick/Mute/Unmute: the member, then done(conf, ch, evs)."""
        with self.world.lock:
            found, err = self.world.pbx.conf_member(req.get("Conference"), req.get("Channel"))
            if err:
                self.error(req, err)
                return None
            evs = []
            message = done(found[1], evs)
            self.ack(req, message)
            self.world.post_all(evs)
        return None

    def act_confbridgekick(self, req):
        pbx = self.world.pbx

        def kick(ch, evs):
            # ConfBridge() returns (CONFBRIDGE_RESULT KICKED) and the dialplan
            # of the captured PBX ends there.
            pbx.conf_leave(ch, evs, "KICKED")
            evs += pbx.hangup(ch, 16)
            return "User kicked"
        return self.conf_control(req, kick)

    def act_confbridgemute(self, req):
        return self.conf_control(req, lambda ch, evs: self.world.pbx.conf_mute(ch, True, evs)
                                 or "User muted")

    def act_confbridgeunmute(self, req):
        return self.conf_control(req, lambda ch, evs: self.world.pbx.conf_mute(ch, False, evs)
                                 or "User unmuted")

    # --- queues ------------------------------------------------------------------

    def act_queuestatus(self, req):
        qname, member = req.get("Queue"), req.get("Member")
        now = time.time()
        items = []
        with self.world.lock:
            for q in self.world.pbx.queues.values():
                if qname and q.name.lower() != qname.lower():
                    continue
                items.append(("QueueParams", [
                    "Queue: " + q.name, "Max: 0", "Strategy: ringall",
                    "Calls: %d" % len(q.callers), "Holdtime: %d" % q.holdtime,
                    "TalkTime: %d" % q.talktime, "Completed: %d" % q.completed,
                    "Abandoned: %d" % q.abandoned, "ServiceLevel: 0", "ServicelevelPerf: 0.0",
                    "ServicelevelPerf2: 0.0", "Weight: 0"], True))
                items += [("QueueMember", ["Queue: " + q.name] + m.fields(list_item=True), True)
                          for m in q.members
                          if not member or member in (m.interface, m.name)]
                items += [("QueueEntry", [
                    "Queue: " + q.name, "Position: %d" % (i + 1), "Channel: " + c.name,
                    "Uniqueid: " + c.uniqueid, "CallerIDNum: " + unknown_plain(c.cid_num),
                    "CallerIDName: " + unknown_plain(c.cid_name),
                    "ConnectedLineNum: " + unknown_plain(c.conn_num),
                    "ConnectedLineName: " + unknown_plain(c.conn_name),
                    "Wait: %d" % (now - c.role.joined), "Priority: 0"], True)
                    for i, c in enumerate(q.callers)]
        self.send_list(req, "Queue status will follow", items, "QueueStatusComplete")
        return None

    def act_queuesummary(self, req):
        qname = req.get("Queue")
        now = time.time()
        with self.world.lock:
            items = [("QueueSummary", [
                "Queue: " + q.name,
                "LoggedIn: %d" % len([m for m in q.members if m.status not in (4, 5)]),
                "Available: %d" % len(q.available()), "Callers: %d" % len(q.callers),
                "HoldTime: %d" % q.holdtime, "TalkTime: %d" % q.talktime,
                "LongestHoldTime: %d" % max([now - c.role.joined for c in q.callers] or [0])],
                True) for q in self.world.pbx.queues.values()
                if not qname or q.name.lower() == qname.lower()]
        self.send_list(req, "Queue summary will follow", items, "QueueSummaryComplete")
        return None

    def queue_change(self, req, message, change):
        """QueueAdd/Remove/Pause: the answer, then the events."""
        with self.world.lock:
            err, evs = change(self.world.pbx)
            if err:
                self.error(req, err)
            else:
                self.ack(req, message)
                self.world.post_all(evs)
        return None

    def act_queueadd(self, req):
        qname, iface = req.get("Queue"), req.get("Interface")
        if not qname:
            self.error(req, "'Queue' not specified.")
            return None
        if not iface:
            self.error(req, "'Interface' not specified.")
            return None
        paused = req.get("Paused").lower() in AST_TRUE
        penalty = leading_int(req.get("Penalty")) or 0
        return self.queue_change(req, "Added interface to queue", lambda pbx: pbx.queue_add(
            qname, iface, req.get("MemberName"), penalty, paused, req.get("Reason")))

    def act_queueremove(self, req):
        qname, iface = req.get("Queue"), req.get("Interface")
        if not qname or not iface:
            self.error(req, "Need 'Queue' and 'Interface' parameters.")
            return None
        return self.queue_change(req, "Removed interface from queue",
                                 lambda pbx: pbx.queue_remove(qname, iface))

    def act_queuepause(self, req):
        iface, paused = req.get("Interface"), req.get("Paused")
        if not iface or not paused:
            self.error(req, "Need 'Interface' and 'Paused' parameters.")
            return None
        on = paused.lower() in AST_TRUE
        return self.queue_change(
            req, "Interface paused successfully" if on else "Interface unpaused successfully",
            lambda pbx: pbx.queue_pause(req.get("Queue"), iface, on, req.get("Reason")))

    # --- device, extension and presence states ------------------------------

    def act_devicestatelist(self, req):
        with self.world.lock:
            items = [("DeviceStateChange", ["Device: " + d, "State: " + s], False)
                     for d, s in self.world.pbx.devices.items()]
        self.send_list(req, "Device State Changes will follow", items, "DeviceStateListComplete")
        return None

    def act_extensionstatelist(self, req):
        with self.world.lock:
            items = [("ExtensionStatus", [
                "Exten: " + exten, "Context: " + context, "Hint: " + hint[0],
                "Status: %d" % hint[1], "StatusText: " + EXTEN_STATE_TEXT.get(hint[1], "Unknown")],
                False) for (exten, context), hint in self.world.pbx.hints.items()]
        self.send_list(req, "Extension Statuses will follow", items,
                       "ExtensionStateListComplete")
        return None

    def act_presencestatelist(self, req):
        self.send_list(req, "Presence State Changes will follow", [],
                       "PresenceStateListComplete")
        return None

    def act_extensionstate(self, req):
        exten, context = req.get("Exten"), req.get("Context") or "default"
        if not exten:
            self.error(req, "Extension not specified")
            return None
        with self.world.lock:
            hint = self.world.pbx.hints.get((exten, context))
        status = hint[1] if hint else -1
        self.send(self.response(req, "Success", [
            "Message: Extension Status", "Exten: " + exten, "Context: " + context,
            "Hint: " + (hint[0] if hint else ""), "Status: %d" % status,
            "StatusText: " + EXTEN_STATE_TEXT.get(status, "Unknown")]), hold=True)
        return None

    # --- transfers -----------------------------------------------------------

    def transfer_target(self, req):
        """The channel of BlindTransfer/Atxfer, or None after the error."""
        if not req.get("Channel"):
            self.error(req, "No channel specified")
            return None
        if not req.get("Exten"):
            self.error(req, "No extension specified")
            return None
        ch = self.world.find_channel(req.get("Channel"))
        if ch is None:
            self.error(req, "Channel specified does not exist")
        return ch

    def act_blindtransfer(self, req):
        ch = self.transfer_target(req)
        if ch is None:
            return None
        with self.world.lock:
            err, evs = self.world.pbx.blind_transfer(ch, req.get("Context") or ch.context,
                                                     req.get("Exten"))
            if err:
                self.error(req, err)
            else:
                self.ack(req, "Transfer succeeded")
            self.world.post_all(evs)
        return None

    def act_atxfer(self, req):
        # features.conf of the captured PBX (stock) has no atxfer code.
        if self.transfer_target(req) is not None:
            self.error(req, "No attended transfer feature code found")
        return None

    # --- FakePBX: what a test cannot make a real PBX do through AMI ----------

    def act_fakepbx(self, req):
        """Action: FakePBX, Operation: hold|unhold (Channel), talk (Channel,
        Talking: on|off; a conference member), calls (Count: keep that many
        --calls calls up), drop (close every other session)."""
        op, world = req.get("Operation").lower(), self.world
        if op == "drop":
            with world.lock:
                others = [s for s in world.sessions if s is not self]
            for s in others:
                s.sink.abort()
            self.ack(req, "Dropped %d sessions" % len(others))
            return None
        if op == "calls":
            with world.lock:
                evs = world.pbx.set_calls(max(0, leading_int(req.get("Count")) or 0))
                world.post_all(evs)
            self.ack(req, "Calls set")
            return None
        if op not in ("hold", "unhold", "talk"):
            self.error(req, "Unknown operation")
            return None
        ch = world.find_channel(req.get("Channel"))
        if ch is None:
            self.error(req, "No such channel")
            return None
        with world.lock:
            evs = []
            if op == "talk":
                if ch.role is None or ch.role.conf is None:
                    self.error(req, "Channel is not in a conference")
                    return None
                world.pbx.conf_talk(ch, req.get("Talking").lower() in AST_TRUE, evs)
            else:
                world.pbx.hold(ch, op == "hold", evs)
            world.post_all(evs)
        self.ack(req, "Done")
        return None


# ---------------------------------------------------------------------------
# One AMI session: requests in, responses and events out through a sink.

ACTIONS = action_table()


class Session(PbxActions):
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
        self.criteria_filters = 0       # refuse-every-second-filter
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
        if self.hostile == "escape-seq":
            message += " " + EVIL
        self.send(self.response(req, "Success", ["Message: " + message]), hold=True)

    def error(self, req, message):
        if self.hostile == "escape-seq":
            message += " " + EVIL
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

    def delayed(self, req):
        only = self.world.opts.delay_only
        return not only or (req.get("Action") or "").lower() in only.lower().split(",")

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
        if self.world.opts.response_delay and self.delayed(req):
            time.sleep(self.world.opts.response_delay)     # a far or busy PBX
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
        if low == "fakepbx":
            return self.act_fakepbx(req)
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

    def logged_in_elsewhere(self, name):
        with self.world.lock:
            return any(s.user is not None and s.user.name.lower() == name.lower()
                       for s in self.world.sessions if s is not self)

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
        if not MANAGER.allowmultiplelogin and self.logged_in_elsewhere(req.get("Username")):
            # authenticate() refuses it like a wrong secret.
            time.sleep(1)
            self.error(req, "Authentication failed")
            return CLOSE
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
        if self.hostile in ("ping-error", "escape-seq"):
            self.error(req, "Ping failed")
            return None
        t = time.time() + MANAGER.clock_offset
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
        if self.hostile == "refuse-every-second-filter" and req.get("MatchCriteria"):
            self.criteria_filters += 1
            if self.criteria_filters % 2 == 0:
                self.error(req, FILTER_FORMAT)
                return None
        err = self.filters.add(req.get("MatchCriteria"), req.get("Filter"),
                               MANAGER.match_criteria())
        if err:
            self.error(req, err)
        else:
            self.ack(req, "Success")
        return None

    def act_listcommands(self, req):
        # action_listcommands() lists only the actions the user may run.
        allowed = [line for name, line, mask in ACTIONS.values()
                   if not mask or self.writeperm & mask]
        self.send(self.response(req, "Success", allowed), hold=True)
        return None

    def act_coresettings(self, req):
        self.send(self.response(req, "Success", coresettings()), hold=True)
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
        if self.hostile == "escape-seq":
            output = output + ["evil: " + EVIL]
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
            items = [("CoreShowChannel", chan_blob(ch) + [
                "Application: " + ch.app, "ApplicationData: " + ch.appdata,
                "Duration: " + ch.duration(), "BridgeId: " + bridge_id(ch)], False)
                for ch in self.world.channels]
        self.send_list(req, "Channels will follow", items, "CoreShowChannelsComplete")
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
                "EffectiveConnectedLineName: " + ch.conn_name, "TimeToHangup: 0",
                "BridgeID: " + bridge_id(ch),
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
            if func == "DEVICE_STATE":
                with w.lock:
                    return w.pbx.device_state(arg)
            if func == "EXTENSION_STATE":
                exten, _, context = arg.partition("@")
                hint = w.pbx.hints.get((exten, context or "default"))
                return EXTEN_STATE_FUNC.get(hint[1], "UNKNOWN") if hint else "UNKNOWN"
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
        elif m and m.group(1).upper() == "DEVICE_STATE" and \
                m.group(2)[:7].lower() == "custom:":
            # func_devstate: only Custom: devices can be set; the events
            # follow the answer.
            self.ack(req, "Variable Set")
            with self.world.lock:
                evs = []
                self.world.pbx.set_custom("Custom:" + m.group(2)[7:], value, evs)
                self.world.post_all(evs)
            return None
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
        if self.redirect_live(req, ch):
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

    def redirect_live(self, req, ch):
        """A Redirect that bridges, conferences or queues are part of:
        the live PBX moves the channels (tcp-redirect-extrachannel: both
        ;2 legs join ConfBridge 700). False leaves it to move()."""
        g = req.get
        moves = [(ch, g("Context"), g("Exten"), leading_int(g("Priority")))]
        if g("ExtraChannel"):
            ch2 = self.world.find_channel(g("ExtraChannel"))
            if ch2 is None:
                return False        # move() answers the error
            if g("ExtraContext"):
                moves.append((ch2, g("ExtraContext"), g("ExtraExten"),
                              leading_int(g("ExtraPriority"))))
            else:
                moves.append((ch2,) + moves[0][1:])
        pbx = self.world.pbx
        if not any(pbx.needs_move(c, context, exten) for c, context, exten, _ in moves):
            return False
        self.ack(req, "Dual Redirect successful" if len(moves) == 2 else "Redirect successful")
        with self.world.lock:
            self.world.post_all(pbx.redirect(moves))
        return True

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
    for i in range(opts.events):
        if session.closing:
            return
        ev = world.corpus[i % len(world.corpus)] if opts.events_from_start else world.corpus_next()
        if session.post_event(ev):
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
        self.sent = 0           # bytes written, logged at the close
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
            self.sent += len(item)
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
        self.world.rec.log("SENT %d %s" % (self.sent, self.peer))
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
        self.write(BANNER if mode != "escape-seq" else BANNER[:-2] + to_bytes(" " + EVIL + "\r\n"))
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
    p.add_argument("--events-from-start", action="store_true")
    p.add_argument("--write-timeout", type=float, default=0.0,
                   help="ms; disconnect a client that takes nothing for that long")
    p.add_argument("--corpus")
    p.add_argument("--hostile", choices=HOSTILE_MODES)
    p.add_argument("--user", action="append", default=[], metavar="NAME:SECRET[:READ:WRITE]")
    p.add_argument("--calls", type=int, default=0)
    p.add_argument("--conferences", type=int, default=0)
    p.add_argument("--conference-size", type=int, default=3)
    p.add_argument("--queue-callers", type=int, default=0)
    p.add_argument("--flood-mix", metavar="NAME=WEIGHT,...")
    p.add_argument("--asterisk-version", default="22.10.1")
    p.add_argument("--clock-offset", type=float, default=0.0)
    p.add_argument("--response-delay", type=float, default=0.0)
    p.add_argument("--delay-only", default="")
    p.add_argument("--webenabled", choices=["yes", "no"], default="yes")
    p.add_argument("--allowmultiplelogin", choices=["yes", "no"], default="yes")
    p.add_argument("--timestampevents", action="store_true")
    p.add_argument("--channelvars", default="")
    p.add_argument("--disabledevents", default="")
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


def add_user(spec):
    """--user NAME:SECRET (all permissions) or NAME:SECRET:READ:WRITE with
    manager.conf's class lists (the last two fields; the secret may hold
    colons then)."""
    parts = spec.split(":")
    if len(parts) >= 4:
        USERS.append(User(parts[0], ":".join(parts[1:-2]), get_perm(parts[-2]),
                          get_perm(parts[-1])))
    else:
        name, _, secret = spec.partition(":")
        USERS.append(User(name, secret, INT_MAX, INT_MAX))


def configure_manager(opts):
    MANAGER.webenabled = opts.webenabled == "yes"
    MANAGER.allowmultiplelogin = opts.allowmultiplelogin == "yes"
    MANAGER.timestampevents = opts.timestampevents
    MANAGER.channelvars = tuple(v for v in opts.channelvars.split(",") if v)
    MANAGER.disabledevents = tuple(v for v in opts.disabledevents.split(",") if v)
    MANAGER.clock_offset = opts.clock_offset
    claim_version(opts.asterisk_version)


def make_world(opts):
    """The PBX of the options: the --user accounts, manager.conf settings,
    the --events corpus, the --channels, --calls, --conferences and
    --queue-callers already up, and the --calls traffic."""
    for spec in opts.user:
        add_user(spec)
    configure_manager(opts)
    world = World(opts, Recorder(opts.log, opts.violations))
    world.pbx = Pbx(world)
    if opts.events and opts.flood_mix:
        world.corpus = mix_corpus(opts.flood_mix)
    elif opts.events:
        world.load_corpus(opts.corpus or os.environ.get("FAKE_AMI_CORPUS", DEFAULT_CORPUS))
    world.precreate(opts.channels)
    with world.lock:
        world.pbx.precreate_calls(opts.calls)
        world.pbx.precreate_conferences(opts.conferences, opts.conference_size)
        world.pbx.precreate_queue_callers(opts.queue_callers)
    if opts.calls and opts.event_rate and not opts.events:
        threading.Thread(target=run_traffic, args=(world, opts.event_rate), daemon=True).start()
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
