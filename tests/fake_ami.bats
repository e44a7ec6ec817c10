#!/usr/bin/env bats
# The test AMI server itself: the bytes it sends match the Asterisk 22
# captures, and it notices when a client breaks the protocol.
load helper

# ami_raw CHUNK... - connects to the server, sends each chunk (Python
# escapes such as \r\n are decoded) and prints every byte received, waiting
# until the server has been quiet for $AMI_RAW_IDLE (0.4) s after each
# chunk. Ends with "[EOF N.N s after the last chunk]" when the server closed
# the connection.
ami_raw() {
	python3 - "$AMI_PORT" "$@" <<'EOF'
import codecs, os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(float(os.environ.get("AMI_RAW_IDLE", "0.4")))
start, eof = time.monotonic(), None
def drain():
    global eof
    while eof is None:
        try:
            data = s.recv(65536)
        except socket.timeout:
            return
        if not data:
            eof = time.monotonic() - start
        sys.stdout.buffer.write(data)
drain()
for chunk in sys.argv[2:]:
    if eof is None:
        s.sendall(codecs.escape_decode(chunk.encode())[0])
        start = time.monotonic()
        drain()
if eof is not None:
    sys.stdout.write("\n[EOF %.1f s after the last chunk]" % eof)
EOF
}

LOGIN='Action: Login\r\nActionID: 1\r\nUsername: hello\r\nSecret: world\r\n\r\n'

@test "banner: one CRLF line, nothing else until the client speaks" {
	start_fake_ami
	run ami_raw
	assert_success
	assert_output $'Asterisk Call Manager/11.0.0\r'
}

@test "login, ping, logoff: the captured bytes, Goodbye then close" {
	start_fake_ami
	run ami_raw "$LOGIN" 'Action: Ping\r\nActionID: 2\r\n\r\n' 'Action: Logoff\r\nActionID: 3\r\n\r\n'
	assert_success
	assert_output --partial $'Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\n'
	assert_output --partial $'Event: SuccessfulAuth\r\nPrivilege: security,all\r\n'
	assert_output --partial $'UsingPassword: 0\r\n'
	assert_output --regexp $'Response: Success\r\nActionID: 2\r\nPing: Pong\r\nTimestamp: [0-9]+\\.[0-9]{6}\r\n\r\n'
	assert_output --partial $'Response: Goodbye\r\nActionID: 3\r\nMessage: Thanks for all the fish.\r\n\r\n\n[EOF 0.'
	grep -q '^CONNECT 127.0.0.1:' "$BATS_TEST_TMPDIR/ami.log"
	grep -qx 'RECV Login ActionID=1 Username=hello Secret=\*\*\*\*' "$BATS_TEST_TMPDIR/ami.log"
	grep -qx 'RECV Ping ActionID=2' "$BATS_TEST_TMPDIR/ami.log"
}

@test "wrong secret: Authentication failed after 1 s, then the server closes" {
	start_fake_ami
	AMI_RAW_IDLE=1.5 run ami_raw 'Action: Login\r\nActionID: 1\r\nUsername: hello\r\nSecret: nope\r\n\r\n'
	assert_success
	assert_output --partial $'Response: Error\r\nActionID: 1\r\nMessage: Authentication failed\r\n\r\n'
	assert_output --regexp 'EOF 1\.[0-9] s after'
}

@test "MD5 challenge login with Key = md5(challenge + secret)" {
	start_fake_ami
	run python3 - "$AMI_PORT" <<'EOF'
import hashlib, re, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(3)
f = s.makefile("rb")
f.readline()
s.sendall(b"Action: Challenge\r\nActionID: c\r\nAuthType: MD5\r\n\r\n")
resp = b"".join(iter(f.readline, b"\r\n"))
challenge = re.search(rb"Challenge: (\d{9})\r\n", resp).group(1)
key = hashlib.md5(challenge + b"world").hexdigest().encode()
s.sendall(b"Action: Login\r\nActionID: l\r\nAuthType: MD5\r\nUsername: hello\r\nKey: " + key + b"\r\n\r\n")
print(b"".join(iter(f.readline, b"\r\n")).decode())
EOF
	assert_success
	assert_output --partial "Message: Authentication accepted"
}

@test "a message without ActionID is a violation; stop_fake_ami reports it" {
	start_fake_ami
	run ami_raw "$LOGIN" 'Action: Ping\r\n\r\n'
	assert_output --partial "Ping: Pong"
	run stop_fake_ami
	assert_failure
	assert_output --partial "no ActionID in action 'Ping'"
}

@test "line too long, space before the colon and a stray blank line are violations" {
	start_fake_ami
	long=$(head -c 1100 /dev/zero | tr '\0' x)
	run ami_raw "$LOGIN" "Action: UserEvent\\r\\nActionID: 2\\r\\nData: $long\\r\\n\\r\\n" \
		'Action : Ping\r\nActionID: 3\r\n\r\n' '\r\n'
	assert_output --partial $'ActionID: 2\r\nMessage: Failed to parse message: line too long\r\n'
	assert_output --partial $'ActionID: 3\r\nMessage: Missing action in request\r\n'
	run stop_fake_ami
	assert_failure
	assert_output --partial "line longer than 1024 bytes"
	assert_output --partial "blank around the header name"
	assert_output --partial "empty message"
}

@test "limited user: Permission denied for Originate, Status still allowed" {
	start_fake_ami
	run ami_raw 'Action: Login\r\nActionID: 1\r\nUsername: limited\r\nSecret: limited\r\n\r\n' \
		'Action: Originate\r\nActionID: 2\r\nChannel: Local/loop@test\r\nApplication: Wait\r\nData: 5\r\n\r\n' \
		'Action: Status\r\nActionID: 3\r\n\r\n'
	assert_output --partial $'Response: Error\r\nActionID: 2\r\nMessage: Permission denied\r\n'
	assert_output --partial $'Event: StatusComplete\r\nActionID: 3\r\nEventList: Complete\r\nListItems: 0\r\nItems: 0\r\n'
	refute_output --partial "SuccessfulAuth"
}

@test "Originate Variable: values are split at commas like Asterisk does" {
	start_fake_ami
	run ami_raw 'Action: Login\r\nActionID: 1\r\nUsername: hello\r\nSecret: world\r\nEvents: off\r\n\r\n' \
		'Action: Originate\r\nActionID: 2\r\nChannel: Local/wait20@test\r\nApplication: Wait\r\nData: 5\r\nAsync: true\r\nVariable: A=a,b,c\r\nVariable: B="a,b,c"\r\nVariable: C=x\\,y,D=z\r\n\r\n' \
		'Action: Getvar\r\nActionID: 3\r\nChannel: Local/wait20@test-00000001;1\r\nVariable: A\r\n\r\n' \
		'Action: Getvar\r\nActionID: 4\r\nChannel: Local/wait20@test-00000001;1\r\nVariable: B\r\n\r\n' \
		'Action: Getvar\r\nActionID: 5\r\nChannel: Local/wait20@test-00000001;1\r\nVariable: C\r\n\r\n' \
		'Action: Getvar\r\nActionID: 6\r\nChannel: Local/wait20@test-00000001;1\r\nVariable: D\r\n\r\n'
	assert_output --partial $'ActionID: 3\r\nVariable: A\r\nValue: a\r\n'
	assert_output --partial $'ActionID: 4\r\nVariable: B\r\nValue: a,b,c\r\n'
	assert_output --partial $'ActionID: 5\r\nVariable: C\r\nValue: x,y\r\n'
	assert_output --partial $'ActionID: 6\r\nVariable: D\r\nValue: z\r\n'
	grep -q 'RECV Originate .* Variable=A=a,b,c Variable=B="a,b,c"' "$BATS_TEST_TMPDIR/ami.log"
}

@test "Async Originate to a busy channel: OriginateResponse Failure, Reason 5" {
	start_fake_ami
	run ami_raw 'Action: Login\r\nActionID: 1\r\nUsername: hello\r\nSecret: world\r\nEvents: call\r\n\r\n' \
		'Action: Originate\r\nActionID: 2\r\nChannel: Local/busy@test\r\nApplication: Wait\r\nData: 5\r\nAsync: true\r\n\r\n'
	assert_output --partial $'Response: Success\r\nActionID: 2\r\nMessage: Originate successfully queued\r\n'
	assert_output --partial $'Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: 2\r\nResponse: Failure\r\nChannel: Local/busy@test\r\nApplication: Wait\r\nData: 5\r\nReason: 5\r\nUniqueid: <unknown>\r\n'
}

@test "--events N streams N corpus events then StreamDone" {
	start_fake_ami --events 5
	run ami_raw 'Action: Login\r\nActionID: 1\r\nUsername: hello\r\nSecret: world\r\nEvents: call\r\n\r\n'
	assert_output --partial $'Event: StreamDone\r\n'
	refute_output --partial "FullyBooted"
	[ "$(grep -c $'^Event: ' <<<"$output")" -le 6 ]
}

@test "--hostile lf-only: bare LF everywhere" {
	start_fake_ami --hostile lf-only
	run ami_raw "$LOGIN"
	assert_output --partial $'Asterisk Call Manager/11.0.0\nResponse: Success\nActionID: 1\n'
	refute_output --partial $'\r'
}

@test "--lifetime: the server exits by itself" {
	start_fake_ami --lifetime 0.5
	sleep 1
	run kill -0 "$FAKE_AMI_PID"
	assert_failure
}

# --- the live PBX, compared with the captures --------------------------------

CHECK="$TESTS_DIR/capture_check.py"

# listen FILE [tail-events options...]: an ami tail-events session in the
# background writing raw events to FILE; returns once it gets events.
listen() {
	local out=$1
	shift
	ami tail-events --format raw "$@" >"$out" 2>/dev/null 3>&- &
	LISTEN_PID=$!
	wait_log 'RECV Events EventMask=on'
	ami action UserEvent UserEvent=ListenerReady >/dev/null
	wait_file "$out" 'UserEvent: ListenerReady'
}

unlisten() {
	kill "$LISTEN_PID" 2>/dev/null || true
	wait "$LISTEN_PID" 2>/dev/null || true
}

# captured_events NAME [EXCEPT...]: the event names of a capture but the
# login's own (and EXCEPT: the answers to actions).
captured_events() {
	local f="$TESTS_DIR/captures/asterisk-22/$1.recv.raw" x args=(-e FullyBooted -e SuccessfulAuth)
	shift
	for x in "$@"; do args+=(-e "$x"); done
	grep -a '^Event: ' "$f" | tr -d '\r' | sed 's/^Event: //' | sort -u | grep -vx "${args[@]}"
}

# originate CHANNEL CHANNELID: an Async Originate (Application Wait, as in
# the captures, so that OriginateResponse comes) that returns once the call
# is placed ($ev is the listener's file).
originate() {
	ami action Originate Channel="$1" Application=Wait Data=60 ChannelId="$2" Async=true >/dev/null
	wait_file "$ev" "^Uniqueid: $2"$'\r'"\$"
}

# The name of the live channel whose name matches ERE.
channel() {
	ami command core show channels concise | cut -d'!' -f1 | grep -E -- "$1" | head -n 1
}

@test "idle PBX: every list action answers as tcp-state-lists-idle, header by header" {
	start_fake_ami
	run python3 "$CHECK" replay "$AMI_PORT" tcp-state-lists-idle
	assert_success
	assert_output ""
}

@test "busy PBX (a bridged call, a conference, a queue caller, a device state): tcp-state-lists-busy" {
	start_fake_ami
	# As in the capture: made beforehand on another connection.
	ami action Originate Channel=Local/dial@test Application=Wait Data=60 ChannelId=busy-dial
	ami action Originate Channel=Local/700@confbridge Application=Wait Data=60 ChannelId=busy-conf1
	ami action Originate Channel=Local/700@confbridge Application=Wait Data=60 ChannelId=busy-conf2
	ami action Originate Channel=Local/queue@test Application=Wait Data=60 ChannelId=busy-queue
	ami action Setvar 'Variable=DEVICE_STATE(Custom:lab100)' Value=INUSE
	local bridge dial
	bridge=$(ami action BridgeList BridgeType=simple_bridge --json | grep -o '"BridgeUniqueid":"[^"]*"' | cut -d'"' -f4)
	dial=$(channel '^Local/dial@test-.*;1$')
	[ -n "$bridge" ] && [ -n "$dial" ]
	run python3 "$CHECK" replay "$AMI_PORT" tcp-state-lists-busy \
		"3dd14c3a-2c02-4941-8f1a-62b3fc9925ca=$bridge" "Local/dial@test-00000023;1=$dial"
	assert_success
	assert_output ""
}

@test "CoreSettings, CoreStatus, Ping: tcp-coresettings-corestatus" {
	start_fake_ami
	run python3 "$CHECK" replay "$AMI_PORT" tcp-coresettings-corestatus
	assert_success
	assert_output ""
}

@test "a two-party call over Local/dial@test: the events of events-call-bridged" {
	start_fake_ami
	local ev="$BATS_TEST_TMPDIR/events"
	listen "$ev"
	originate Local/dial@test ev-dial
	run ami action CoreShowChannels --json
	assert_equal "$(grep -c '"Linkedid":"ev-dial"' <<<"$output")" 4
	assert_equal "$(grep -c '"BridgeId":"[0-9a-f-]\{36\}"' <<<"$output")" 2
	ami action Hangup 'Channel=Local/dial@test-00000001;1'
	wait_file "$ev" 'Channel: Local/wait20@test-00000002;2'
	wait_file "$ev" '^Event: BridgeDestroy'
	wait_file "$ev" 'QueueMemberStatus'
	unlisten
	# shellcheck disable=SC2046
	run python3 "$CHECK" events events-call-bridged "$ev" $(captured_events events-call-bridged)
	assert_success
	assert_output ""
	run ami action CoreShowChannels
	assert_output --partial "ListItems: 0"
}

@test "queues: a caller waits, QueueAdd connects Bob, pause, remove, sales: the events of events-queue" {
	start_fake_ami
	local ev="$BATS_TEST_TMPDIR/events"
	listen "$ev"
	originate Local/queue@test q-caller
	run ami action QueueStatus Queue=support
	assert_output --partial "CallerIDNum:       unknown"
	run ami action QueueAdd Queue=support Interface=Local/wait20@test MemberName=Bob Penalty=0
	assert_output --partial "Message:  Added interface to queue"
	run ami action QueueAdd Queue=support Interface=Local/wait20@test
	assert_failure 1
	assert_output --partial "Unable to add interface: Already there"
	ami action Hangup 'Channel=Local/queue@test-00000001;1'
	ami action QueuePause Queue=support Interface=Local/wait20@test Paused=true Reason=lunch
	ami action QueuePause Queue=support Interface=Local/wait20@test Paused=false
	ami action QueueRemove Queue=support Interface=Local/wait20@test
	run ami action QueueRemove Queue=sales Interface=Local/wait20@test
	assert_output --partial "Member not dynamic"
	originate Local/sales@test q-sales
	ami action Hangup 'Channel=/^Local/sales@test-.*;1$/'
	wait_file "$ev" 'CallsTaken: 1'
	wait_file "$ev" '^Event: QueueMemberRemoved'
	wait_file "$ev" 'Channel: Local/wait20@test-00000004;2'
	unlisten
	# shellcheck disable=SC2046
	run python3 "$CHECK" events events-queue "$ev" $(captured_events events-queue)
	assert_success
	assert_output ""
	run ami action QueueSummary Queue=sales
	assert_output --partial "Available:       1"
}

@test "a caller who hangs up while waiting: QueueCallerAbandon, then QueueCallerLeave" {
	start_fake_ami --queue-callers 2
	local ev="$BATS_TEST_TMPDIR/events"
	listen "$ev" --event 'QueueCaller*' --event UserEvent
	ami action Hangup Channel="$(channel '^PJSIP/trunk-')"
	wait_file "$ev" '^Event: QueueCallerLeave'
	unlisten
	run cat "$ev"
	assert_output --regexp $'Event: QueueCallerAbandon\r\nPrivilege: agent,all\r\nChannel: PJSIP/trunk-[0-9a-f]{8}\r\n'
	assert_output --partial $'Queue: support\r\nPosition: 1\r\nOriginalPosition: 1\r\nHoldTime: '
	assert_output --partial $'Queue: support\r\nPosition: 1\r\nCount: 1\r\n'
}

@test "a conference: ConfBridge 701 with two members, then both leave: the events of events-confbridge" {
	start_fake_ami
	local ev="$BATS_TEST_TMPDIR/events"
	listen "$ev"
	originate Local/701@confbridge cf-a
	originate Local/701@confbridge cf-b
	run ami action ConfbridgeList Conference=701
	assert_output --partial "ListItems: 2"
	run ami action ConfbridgeList Conference=702
	assert_failure 1
	assert_output --partial "No Conference by that name found."
	ami action FakePBX Operation=talk 'Channel=Local/701@confbridge-00000001;2' Talking=on
	ami action Hangup 'Channel=Local/701@confbridge-00000001;1'
	ami action Hangup 'Channel=Local/701@confbridge-00000003;1'
	wait_file "$ev" '^Event: ConfbridgeEnd'
	wait_file "$ev" 'Device: CBAnn/701'
	unlisten
	# shellcheck disable=SC2046
	run python3 "$CHECK" events events-confbridge "$ev" $(captured_events events-confbridge ConfbridgeList ConfbridgeListComplete)
	assert_success
	assert_output ""
	run cat "$ev"
	assert_output --regexp $'Event: ConfbridgeTalking\r\nPrivilege: call,all\r\nConference: 701\r\nBridgeUniqueid: [0-9a-f-]{36}\r\nBridgeType: base\r\nBridgeTechnology: softmix\r\nBridgeCreator: ConfBridge\r\nBridgeName: 701\r\nBridgeNumChannels: 3\r\nBridgeVideoSourceMode: none\r\nChannel: Local/701@confbridge-00000001;2\r\n'
	assert_output --partial $'Linkedid: cf-a\r\nTalkingStatus: on\r\nAdmin: No\r\n\r\n'
	run ami action ConfbridgeListRooms
	assert_failure 1
	assert_output --partial "No active conferences."
}

@test "device states: DEVICE_STATE(Custom:lab100) as in events-devicestate, ExtensionState, Getvar" {
	start_fake_ami
	local ev="$BATS_TEST_TMPDIR/events" st
	listen "$ev"
	for st in INUSE INUSE RINGING NOT_INUSE UNAVAILABLE; do
		ami action Setvar 'Variable=DEVICE_STATE(Custom:lab100)' Value=$st
	done
	wait_file "$ev" 'StatusText: Unavailable'
	unlisten
	run python3 "$CHECK" events events-devicestate "$ev" DeviceStateChange ExtensionStatus
	assert_success
	assert_equal "$(grep -c 'State: INUSE' "$ev")" 1
	run ami action ExtensionState Exten=100 Context=test
	assert_output --partial $'Hint:       Custom:lab100\nStatus:     4\nStatusText: Unavailable'
	run ami action Getvar 'Variable=DEVICE_STATE(Custom:lab100)'
	assert_output --partial "Value:    UNAVAILABLE"
	run ami action Setvar 'Variable=DEVICE_STATE(PJSIP/100)' Value=INUSE
	assert_failure 1
	assert_output --partial "Variable not set"
}

@test "Filter: tcp-filter-matchcriteria's answers, and only wait20's Newchannel events arrive" {
	start_fake_ami
	run python3 "$CHECK" replay "$AMI_PORT" tcp-filter-matchcriteria
	assert_success
	assert_output ""
	run python3 - "$AMI_PORT" <<-'PY'
	import socket, subprocess, sys, time
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
	s.sendall(b"Action: Login\r\nActionID: 1\r\nUsername: hello\r\nSecret: world\r\n\r\n"
	          b"Action: Filter\r\nActionID: 2\r\nOperation: Add\r\nMatchCriteria: "
	          b"action(include),name(Newchannel),header(Channel),method(starts_with)\r\n"
	          b"Filter: Local/wait20\r\n\r\n")
	buf = b""
	while b"ActionID: 2\r\n" not in buf:
	    buf += s.recv(65536)
	for dial in ("Local/short@test", "Local/wait20@test"):
	    subprocess.run(["ami", "action", "Originate", "Channel=" + dial, "Application=Wait",
	                    "Data=5"], check=True, stdout=subprocess.DEVNULL)
	s.sendall(b"Action: Ping\r\nActionID: 3\r\n\r\n")
	while b"ActionID: 3\r\n" not in buf:
	    buf += s.recv(65536)
	events = [b.split(b"\r\n")[2] for b in buf.split(b"\r\n\r\n") if b.startswith(b"Event: ")]
	print(b" ".join(events[2:]).decode())
	PY
	assert_success
	assert_output "Channel: Local/wait20@test-00000002;1 Channel: Local/wait20@test-00000002;2"
}

# filter_events CRITERIA|PATTERN... [-- CRITERIA|PATTERN...]...: for each
# group, a session (all events) adds each Filter ("-" leaves MatchCriteria or
# Filter out) and prints the answers ("1 filter 2: Message: Success" for the
# group's 1st Filter); then six UserEvents are sent (A with Foo: bar, A with
# Foo: barn, B with Foo: bar, A with an empty Foo, A with foo: bar, C with
# Foo: Xbar and Other: 1) and it prints those it got: "1 got: A(Foo: bar) ...".
filter_events() {
	python3 - "$AMI_PORT" "$@" <<-'PY'
	import socket, sys
	class Session:
	    def __init__(self, events):
	        self.sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
	        self.buf = b""
	        send(self, "Login", "Username: hello\r\nSecret: world\r\nEvents: %s\r\n" % events)
	def send(s, action, body="", aid=[0]):
	    aid[0] += 1
	    s.sock.sendall(("Action: %s\r\nActionID: %d\r\n%s\r\n" % (action, aid[0], body)).encode())
	    key = ("ActionID: %d\r\n" % aid[0]).encode()
	    while key not in s.buf:
	        s.buf += s.sock.recv(65536)
	    return s.buf.split(key)[1].split(b"\r\n")[0].decode()
	sender = Session("off")
	for g, specs in enumerate((a.split("\0") for a in "\0".join(sys.argv[2:]).split("\0--\0")), 1):
	    listener = Session("on")
	    for n, spec in enumerate(specs, 1):
	        crit, _, pat = spec.partition("|")
	        body = "Operation: Add\r\n" + ("MatchCriteria: %s\r\n" % crit if crit != "-" else "")
	        body += "Filter: %s\r\n" % pat if pat != "-" else ""
	        print("%d filter %d: %s" % (g, n, send(listener, "Filter", body)))
	    for ev in ("A|Foo: bar", "A|Foo: barn", "B|Foo: bar", "A|Foo: ", "A|foo: bar",
	               "C|Foo: Xbar|Other: 1"):
	        name, *headers = ev.split("|")
	        send(sender, "UserEvent",
	             "UserEvent: %s\r\n" % name + "".join(h + "\r\n" for h in headers))
	    send(listener, "Ping")
	    got = [b.split(b"\r\n") for b in listener.buf.split(b"\r\n\r\n")
	           if b.startswith(b"Event: UserEvent")]
	    print("%d got: " % g + " ".join(
	        next(l for l in e if l.startswith(b"UserEvent: "))[11:].decode()
	        + "(" + ",".join(l.decode() for l in e if l.lower().startswith(b"foo:")) + ")"
	        for e in got))
	PY
}

@test "Filter rules of manager.c: includes, excludes, header match (case, empty values), '!', bad criteria" {
	start_fake_ami
	run filter_events \
		'name(UserEvent),header(Foo),method(exact)|bar' -- \
		'header(Foo),method(starts_with)|ba' 'action(exclude),name(UserEvent),header(UserEvent),method(exact)|B' -- \
		'header(Foo),method(ends_with)|!rn' 'header(Other),method(contains)|!1' -- \
		'-|Foo: bar[[:cntrl:]]' -- \
		'name(UserEvent),header(Foo),method(none)|-' '-|!UserEvent: B' -- \
		'name(UserEvent)|x' 'name(UserEvent),method(exact)|-' 'nme(UserEvent)|x' 'method(none)|-' \
		'-|a(' '-|-' 'action(include),name(UserEvent)|-'
	# exact on a header: only "Foo: bar" (not barn, not foo:, not empty Foo:)
	assert_line "1 filter 1: Message: Success"
	assert_line "1 got: A(Foo: bar) B(Foo: bar)"
	# an include, then an exclude by name: includes first, then excludes
	assert_line "2 got: A(Foo: bar) A(Foo: barn)"
	# '!' makes the advanced filter an exclude one too; ends_with, contains
	assert_line "3 got: A(Foo: bar) B(Foo: bar) A(Foo: ) A(foo: bar)"
	# a legacy regex on the whole event text (case matters; a POSIX ERE: "\\r"
	# would be a plain "r", a CR is [[:cntrl:]])
	assert_line "4 got: A(Foo: bar) B(Foo: bar)"
	# method(none) needs no pattern: a non-empty Foo; a legacy '!' excludes
	assert_line "5 filter 2: Message: Success"
	assert_line "5 got: A(Foo: bar) A(Foo: barn) C(Foo: Xbar)"
	# the errors: a pattern with method none (the default), no pattern with a
	# method, an unknown option, no name or header, a bad regex, no Filter
	local bad="Message: Filter was formatted incorrectly.  Check the syntax of the filter given."
	assert_line "6 filter 1: $bad"
	assert_line "6 filter 2: $bad"
	assert_line "6 filter 3: $bad"
	assert_line "6 filter 4: $bad"
	assert_line "6 filter 5: Message: Filter did not compile.  Check the syntax of the filter given."
	assert_line "6 filter 6: $bad"
	assert_line "6 filter 7: Message: Success"
	assert_line "6 got: A(Foo: bar) A(Foo: barn) B(Foo: bar) A(Foo: ) A(foo: bar) C(Foo: Xbar)"
}

@test "Filter regexes are POSIX EREs: bracket classes such as [[:cntrl:]] (a line end), backslashes" {
	start_fake_ami
	run filter_events 'action(include),method(regex)|UserEvent: A[[:cntrl:]]' -- \
		'header(Foo),method(regex)|^ba[[:alpha:]]$' -- \
		'header(Foo),method(regex)|[[:bogus:]]' '-|UserEvent: [\]*C'
	assert_line "1 got: A(Foo: bar) A(Foo: barn) A(Foo: ) A(foo: bar)"
	assert_line "2 got: A(Foo: bar) B(Foo: bar)"
	assert_line "3 filter 1: Message: Filter did not compile.  Check the syntax of the filter given."
	assert_line "3 filter 2: Message: Success"
	# in brackets a backslash is a plain byte: [\]* is any number of them
	assert_line "3 got: C(Foo: Xbar)"
}

@test "--hostile refuse-every-second-filter: of the Filters with MatchCriteria the 2nd and 4th are refused" {
	start_fake_ami --hostile refuse-every-second-filter
	run filter_events 'name(UserEvent),header(UserEvent),method(exact)|A' \
		'name(UserEvent),header(UserEvent),method(exact)|B' '-|UserEvent: C' \
		'name(UserEvent),header(Foo),method(exact)|barn' 'action(include),name(UserEvent),header(Other),method(exact)|1'
	assert_line "1 filter 1: Message: Success"
	assert_line "1 filter 2: Message: Filter was formatted incorrectly.  Check the syntax of the filter given."
	assert_line "1 filter 3: Message: Success"
	assert_line "1 filter 4: Message: Success"
	assert_line "1 filter 5: Message: Filter was formatted incorrectly.  Check the syntax of the filter given."
	assert_line "1 got: A(Foo: bar) A(Foo: barn) A(Foo: ) A(foo: bar) C(Foo: Xbar)"
}

@test "--events-from-start: each session streams the corpus from its first event" {
	local a="$BATS_TEST_TMPDIR/a" b="$BATS_TEST_TMPDIR/b"
	start_fake_ami --events 20 --flood-mix VarSet=3,Hangup=1 --events-from-start
	ami tail-events -j --until StreamDone >"$a"
	ami tail-events -j --until StreamDone >"$b"
	assert_equal "$(wc -l <"$a")" 21
	cmp "$a" "$b"
	stop_fake_ami
	start_fake_ami --events 20 --flood-mix VarSet=3,Hangup=1
	ami tail-events -j --until StreamDone >"$a"
	ami tail-events -j --until StreamDone >"$b"
	if cmp -s "$a" "$b"; then fail "without it the second session should go on in the corpus"; fi
}

@test "--asterisk-version 18.20.0: banner 7.0.3, CoreSettings, and no MatchCriteria (legacy regex)" {
	start_fake_ami --asterisk-version 18.20.0
	run ami_raw "$LOGIN" 'Action: CoreSettings\r\nActionID: 2\r\n\r\n' \
		'Action: Filter\r\nActionID: 3\r\nOperation: Add\r\nMatchCriteria: name(Newchannel),method(sideways)\r\nFilter: x\r\n\r\n' \
		'Action: Filter\r\nActionID: 4\r\nOperation: Add\r\n\r\n' 'Action: Command\r\nActionID: 5\r\nCommand: core show version\r\n\r\n'
	assert_output --partial $'Asterisk Call Manager/7.0.3\r\nResponse: Success\r\n'
	assert_output --partial $'ActionID: 2\r\nAMIversion: 7.0.3\r\nAsteriskVersion: 18.20.0\r\nSystemName: \r\n'
	assert_output --partial $'ActionID: 3\r\nMessage: Success\r\n'
	assert_output --partial $'ActionID: 4\r\nMessage: Success\r\n'
	assert_output --partial $'Output: Asterisk 18.20.0 built by root'
	# the empty legacy Filter matches everything; MatchCriteria is ignored
	run filter_events '-|-' -- 'name(UserEvent),header(Foo),method(exact)|barn'
	assert_line "1 got: A(Foo: bar) A(Foo: barn) B(Foo: bar) A(Foo: ) A(foo: bar) C(Foo: Xbar)"
	assert_line "2 got: A(Foo: barn)"
}

@test "--calls 3: six PJSIP channels in three basic bridges, hints and device states, a channel map" {
	start_fake_ami --calls 3
	run ami action CoreShowChannels --json
	assert_equal "$(grep -c '"Event":"CoreShowChannel"' <<<"$output")" 6
	assert_equal "$(grep -c '"BridgeId":"[0-9a-f-]\{36\}"' <<<"$output")" 6
	assert_output --regexp '"Channel":"PJSIP/1000-[0-9a-f]{8}","ChannelState":"6","ChannelStateDesc":"Up","CallerIDNum":"1000","CallerIDName":"Alice Jones","ConnectedLineNum":"1001","ConnectedLineName":"Bob Jones"'
	assert_output --partial '"Application":"Dial","ApplicationData":"PJSIP/1001,30"'
	assert_output --partial '"Application":"AppDial","ApplicationData":"(Outgoing Line)"'
	run ami action BridgeList
	assert_equal "$(grep -c 'BridgeTechnology: *simple_bridge' <<<"$output")" 3
	run ami action ExtensionStateList
	assert_output --regexp 'Exten: +1000'$'\n''Context: +from-internal'$'\n''Hint: +PJSIP/1000'$'\n''Status: +1'$'\n''StatusText: InUse'
	run ami action DeviceStateList
	assert_output --regexp 'Device: +PJSIP/1005'$'\n''State: +INUSE'
	run ami action CoreShowChannelMap Channel="$(channel '^PJSIP/1000-')"
	assert_output --regexp 'ConnectedChannel: PJSIP/1001-[0-9a-f]{8}'
	assert_output --partial "ListItems: 1"
	run ami action CoreShowChannelMap Channel=PJSIP/nobody
	assert_failure 1
	assert_output --partial "Could not get channel snapshot"
}

@test "--calls with --event-rate: calls end, ring and are answered at about that rate, about as many stay up" {
	start_fake_ami --calls 20 --event-rate 400
	local ev="$BATS_TEST_TMPDIR/events" n
	listen "$ev"
	wait_file "$ev" '^Event: BridgeDestroy'
	wait_file "$ev" 'DialStatus: ANSWER'
	sleep 1
	unlisten
	n=$(grep -c '^Event: ' "$ev")
	[ "$n" -gt 100 ] || fail "only $n events in a second and more at 400/s"
	grep -q '^Event: ExtensionStatus' "$ev"
	grep -q '^Event: HangupRequest' "$ev"
	n=$(ami action CoreShowChannels | grep -c '^Event: *CoreShowChannel$')
	[ "$n" -ge 36 ] && [ "$n" -le 42 ] || fail "$n channels up, not about 40"
}

@test "--conferences and --queue-callers: rooms with members, callers waiting with caller IDs" {
	start_fake_ami --conferences 2 --conference-size 2 --queue-callers 3
	run ami action ConfbridgeListRooms
	assert_output --partial $'Conference: 700\nParties:    2'
	assert_output --partial $'Conference: 701\nParties:    2'
	run ami action BridgeList BridgeType=softmix
	assert_equal "$(grep -c 'BridgeNumChannels: *3$' <<<"$output")" 2
	run ami action QueueStatus Queue=support
	assert_equal "$(grep -c '^Event: *QueueEntry' <<<"$output")" 3
	assert_output --regexp 'CallerIDNum: +\+49305550000'
	run ami action QueueSummary Queue=support
	assert_output --partial "Callers:         3"
	run ami action DeviceStateList
	assert_output --regexp 'Device: +Queue:support'$'\n''State: +RINGING'
}

@test "Redirect of a bridged call's leg: it leaves the bridge, the other party hangs up; BlindTransfer" {
	start_fake_ami --calls 2
	local ev="$BATS_TEST_TMPDIR/events" a b
	a=$(channel '^PJSIP/1000-') b=$(channel '^PJSIP/1003-')
	listen "$ev"
	run ami action Redirect Channel="$a" Context=confbridge Exten=700 Priority=1
	assert_output --partial "Redirect successful"
	run ami action BlindTransfer Channel="$b" Context=park Exten=1234
	assert_output --partial "Transfer succeeded"
	run ami action BlindTransfer Channel="$a" Exten=1
	assert_failure 1
	assert_output --partial "Transfer not permitted"
	run ami action Atxfer Channel="$a" Exten=1
	assert_output --partial "No attended transfer feature code found"
	wait_file "$ev" '^Event: BlindTransfer'
	unlisten
	run ami command core show channels concise
	assert_line --regexp "^PJSIP/1000-[0-9a-f]{8}!confbridge!700!1!Up!ConfBridge!700!1000!!!3!.*![0-9a-f-]{36}!"
	assert_line --regexp "^PJSIP/1002-[0-9a-f]{8}!park!1234!1!Up!Wait!600!"
	refute_output --partial "PJSIP/1001-"
	refute_output --partial "PJSIP/1003-"
	run cat "$ev"
	assert_output --regexp $'Event: BlindTransfer\r\nPrivilege: call,all\r\nResult: Success\r\nTransfererChannel: PJSIP/1003-'
	assert_output --regexp $'TransfereeChannel: PJSIP/1002-[0-9a-f]{8}\r\n'
	assert_output --partial $'BridgeVideoSourceMode: none\r\nIsExternal: Yes\r\nContext: park\r\nExtension: 1234\r\n'
	assert_output --regexp $'Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/1001-'
}

@test "two legs redirected into a conference (tcp-redirect-extrachannel): both join ConfBridge 700" {
	start_fake_ami --channels 4
	run ami action Redirect 'Channel=Local/loop@test-00000001;2' 'ExtraChannel=Local/loop@test-00000002;2' \
		Context=confbridge Exten=700 Priority=1 ExtraContext=confbridge ExtraExten=700 ExtraPriority=1
	assert_output --partial "Dual Redirect successful"
	run ami action ConfbridgeList Conference=700
	assert_output --partial "ListItems: 2"
	run ami action Hangup 'Channel=/^Local\/loop@test-.*;1$/'
	run ami action ConfbridgeListRooms
	assert_output --partial "No active conferences."
}

@test "ChanSpy originated at a call: ChanSpyStart, ChanSpyStop; FakePBX hold, unhold, calls, drop" {
	start_fake_ami --calls 1
	local ev="$BATS_TEST_TMPDIR/events" a
	a=$(channel '^PJSIP/1000-')
	listen "$ev"
	ami action Originate Channel=PJSIP/supervisor Application=ChanSpy Data=PJSIP/1001,qE
	run ami action FakePBX Operation=hold Channel="$a"
	assert_output --partial "Message:  Done"
	ami action FakePBX Operation=unhold Channel="$a"
	run ami action FakePBX Operation=hold Channel=nosuch
	assert_output --partial "No such channel"
	ami action FakePBX Operation=calls Count=0
	wait_file "$ev" '^Event: ChanSpyStop'
	unlisten
	run cat "$ev"
	assert_output --regexp $'Event: ChanSpyStart\r\nPrivilege: call,all\r\nSpyerChannel: PJSIP/supervisor-[0-9a-f]{8}\r\nSpyerChannelState: 6\r\n'
	assert_output --regexp $'SpyeeChannel: PJSIP/1001-[0-9a-f]{8}\r\nSpyeeChannelState: 6\r\n'
	assert_output --regexp $'Event: Hold\r\nPrivilege: call,all\r\nChannel: PJSIP/1000-'
	assert_output --partial $'Device: PJSIP/1000\r\nState: ONHOLD\r\n'
	assert_output --partial $'Hint: PJSIP/1000\r\nStatus: 16\r\nStatusText: Hold\r\n'
	assert_output --regexp $'Event: Unhold\r\nPrivilege: call,all\r\nChannel: PJSIP/1000-'
	# option E: the spyer went with its spyee
	run ami action CoreShowChannels
	assert_output --partial "ListItems: 0"
	ami action FakePBX Operation=calls Count=2
	run ami action BridgeList
	assert_output --partial "ListItems: 2"
	listen "$ev"
	run ami action FakePBX Operation=drop
	assert_output --partial "Dropped 1 sessions"
	wait "$LISTEN_PID" || true
}

@test "manager show settings, show user, show users, show connected, kick session: manager.c's output" {
	start_fake_ami --user 'ops:s3cret:all:call,reporting' --channelvars FOO,BAR \
		--disabledevents Newexten,VarSet --timestampevents
	run ami command manager show settings
	assert_line --index 0 "Global Settings:"
	assert_output --partial $'----------------\n  Manager (AMI):             Yes            \n  Web Manager (AMI/HTTP):    Yes            \n'
	assert_output --partial "  TCP Bindaddress:           127.0.0.1:$AMI_PORT"
	assert_output --partial $'  HTTP Timeout (seconds):    60             \n'
	assert_output --partial $'  Timestamp events:          Yes            \n  Channel vars:              FOO,BAR\n  Disabled events:           Newexten,VarSet\n'
	run ami command manager show user ops
	assert_output --partial $'          username: ops\n            secret: <Set>\n               ACL: no\n         read perm: system,call,log,verbose,command,agent,user,config,dtmf,reporting,cdr,dialplan,originate,agi,cc,aoc,test,security,message,all\n        write perm: call,reporting\n   displayconnects: yes\nallowmultiplelogin: yes\n         Variables: '
	run ami command manager show user nobody
	assert_output "There is no manager called nobody"
	run ami command manager show users
	assert_output --partial $'username\n--------\nhello\nlimited\nreader\nops\n-------------------\n4 manager users configured.'
	run ami command manager show connected
	assert_line --index 0 --regexp '^  Username +IP Address +Start +Elapsed +FileDes +HttpCnt +ReadPerms +WritePerms$'
	assert_line --index 1 --regexp '^  hello +127\.0\.0\.1 +[0-9]{10} +0 +[0-9]+ +0 +2147483647  2147483647$'
	assert_line "1 users connected."
	run ami command manager kick session 7
	assert_output "No manager session found using file descriptor 7"
	local ev="$BATS_TEST_TMPDIR/events" fd
	listen "$ev"
	fd=$(ami command manager show connected | awk '$1 == "hello" { print $5; exit }')
	run ami command manager kick session "$fd"
	assert_output "Kicking manager session connected using file descriptor $fd"
	wait "$LISTEN_PID" || true
	wait_log '^CLOSE '
}

@test "--user NAME:SECRET:READ:WRITE: no originate, command or system; --clock-offset shifts Ping" {
	start_fake_ami --user 'ops:s3cret:all:call,reporting' --clock-offset 3600
	AMI_SECRET=s3cret run ami -u ops action Originate Channel=Local/loop@test Application=Wait Data=1
	assert_failure 1
	assert_output --partial "Permission denied"
	AMI_SECRET=s3cret run ami -u ops command core show uptime
	assert_failure 1
	AMI_SECRET=s3cret run ami -u ops action QueueStatus
	assert_success
	run ami action Ping
	local ts
	ts=$(awk '/^Timestamp:/ { print int($2) }' <<<"$output")
	[ $((ts - $(date +%s))) -ge 3590 ] && [ $((ts - $(date +%s))) -le 3610 ] || fail "Timestamp $ts is not an hour ahead"
}

@test "--webenabled no: CoreSettings says so, and HTTP answers 404 for /rawman" {
	start_fake_ami_http --http --webenabled no --lifetime 30
	AMI_PORT=$TCP_PORT run ami action CoreSettings
	assert_output --partial "CoreHTTPenabled:       No"
	run ami --url "http://127.0.0.1:$HTTP_PORT/" ping
	assert_failure 7
	assert_output --partial "HTTP 404"
	wait_log '^HTTP POST /rawman'
}

@test "--flood-mix: the --events corpus in those proportions, 1 event in 50 on PJSIP/100" {
	start_fake_ami --events 1000 --flood-mix VarSet=70,Newexten=20,Newchannel=5,Hangup=5
	local ev="$BATS_TEST_TMPDIR/events"
	ami tail-events --format raw --until StreamDone >"$ev"
	assert_equal "$(grep -c '^Event: VarSet' "$ev")" 700
	assert_equal "$(grep -c '^Event: Newexten' "$ev")" 200
	assert_equal "$(grep -c '^Event: Hangup' "$ev")" 50
	assert_equal "$(grep -c '^Channel: PJSIP/100-' "$ev")" 20
	grep -q $'^Variable: BRIDGEPEER\r$' "$ev"
}

@test "SENT <bytes> at each close; --timestampevents, --channelvars, --disabledevents shape the events" {
	start_fake_ami --timestampevents --channelvars FOO --disabledevents Newexten,VarSet
	local ev="$BATS_TEST_TMPDIR/events"
	listen "$ev"
	ami action Originate Channel=Local/loop@test Application=Wait Data=5 'Variable=FOO=bar'
	wait_file "$ev" '^DialStatus: ANSWER'
	unlisten
	run cat "$ev"
	assert_output --regexp $'Event: Newchannel\r\nPrivilege: call,all\r\nTimestamp: [0-9]+\\.[0-9]{6}\r\nChannel: Local/loop@test-00000001;1\r\n'
	assert_output --regexp $'Linkedid: [0-9.]+\r\nChanVariable: FOO=\r\n'
	assert_output --regexp $'ChanVariable: FOO=bar\r\n'
	refute_output --partial "Event: Newexten"
	refute_output --partial "Event: VarSet"
	# the listener's session sent at least what it printed
	wait_log '^SENT [0-9]+ 127\.0\.0\.1:[0-9]+$'
	local most
	most=$(awk '/^SENT / { if ($2 > m) m = $2 } END { print m }' "$BATS_TEST_TMPDIR/ami.log")
	[ "$most" -ge "$(wc -c <"$ev")" ]
}

@test "--allowmultiplelogin no: a second Login of a user logged in fails like a wrong secret" {
	start_fake_ami --allowmultiplelogin no
	ami tail-events >/dev/null 2>&1 3>&- &
	LISTEN_PID=$!
	wait_log 'RECV Events EventMask=on'
	run ami ping
	assert_failure 4
	AMI_USER=reader run ami ping
	assert_success
	unlisten
}
