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
