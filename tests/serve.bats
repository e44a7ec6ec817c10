#!/usr/bin/env bats
# ami serve: a recording served as an AMI server, to ami itself and to a
# plain socket client; Asterisk's answers (Login plain and MD5, Events,
# Filter, Ping, Logoff, errors, junk), pacing, --loop, two clients, a client
# that reads nothing, SIGTERM/SIGINT, and a recording made by tail-events
# replayed to the same output as live.
load helper

setup() {
	setup_common
	export AMI_USER=demo AMI_SECRET=demo    # serve's demo user
	REC="$BATS_TEST_TMPDIR/rec.raw"
	OUT="$BATS_TEST_TMPDIR/out"
	SERVE_OUT="$BATS_TEST_TMPDIR/serve.out"
	SERVE_ERR="$BATS_TEST_TMPDIR/serve.err"
	write_client_lib
}

teardown() {
	if [ -n "${SERVE_PID:-}" ]; then
		kill -KILL "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
	fi
	stop_fake_ami
}

# start_serve [ami serve options...] FILE: listens on a free port (read from
# its "listening on" line into AMI_PORT); SERVE_PID.
start_serve() {
	local i n
	: >"$SERVE_OUT"
	ami serve --listen 127.0.0.1:0 "$@" >"$SERVE_OUT" 2>"$SERVE_ERR" 3>&- &
	SERVE_PID=$!
	n=$(awk -v s="$(time_bound 5)" 'BEGIN { print int(s * 20) }')
	for ((i = 0; i < n; i++)); do
		if grep -q '^listening on 127\.0\.0\.1:[0-9]*$' "$SERVE_OUT"; then
			AMI_PORT=$(sed -n 's/^listening on 127\.0\.0\.1://p' "$SERVE_OUT")
			export AMI_PORT
			return 0
		fi
		if ! kill -0 "$SERVE_PID" 2>/dev/null; then
			cat "$SERVE_ERR"
			return 1
		fi
		sleep 0.05
	done
	fail "ami serve did not say it listens: $(cat "$SERVE_ERR")"
}

# stop_serve [SIGNAL]: ami serve must end by itself with 0, at once.
stop_serve() {
	local i
	kill -"${1:-TERM}" "$SERVE_PID"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.05
	done
	SERVE_RC=0
	wait "$SERVE_PID" || SERVE_RC=$?
	SERVE_PID=
	assert_equal "$SERVE_RC" 0
}

# rec_event TIME HEADER...: one event as tail-events --format raw --timestamp
# writes it, received at 2026-12-06T<TIME>+00:00.
rec_event() {
	local t=$1
	shift
	printf '%s\r\n' "$@" "ReceivedAt: 2026-12-06T$t+00:00" ''
}

# Three events over a second, as recorded.
write_rec() {
	{
		rec_event 10:00:00.000 'Event: Newchannel' 'Privilege: call,all' \
			'Channel: PJSIP/100-00000001' 'Uniqueid: 1795000000.1'
		rec_event 10:00:00.500 'Event: VarSet' 'Privilege: dialplan,all' \
			'Channel: PJSIP/100-00000001' 'Variable: DIALSTATUS' 'Value: '
		rec_event 10:00:01.000 'Event: Hangup' 'Privilege: call,all' \
			'Channel: PJSIP/100-00000001' 'Cause: 16' 'Cause-txt: Normal Clearing'
	} >"$REC"
}

# What a client gets of a recording: the events without ReceivedAt.
as_sent() {
	grep -av '^ReceivedAt: ' "$1"
}

# N events of about 1 KiB, all at once: N-1 Newchannel then a Hangup.
write_big_rec() {
	awk -v n="$1" 'BEGIN {
		pad = sprintf("%900s", ""); gsub(/ /, "x", pad)
		for (i = 1; i < n; i++)
			printf "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/%d-%08d\r\nUniqueid: 1795000000.%d\r\nPad: %s\r\nReceivedAt: 2026-12-06T10:00:00.000+00:00\r\n\r\n", 100 + i % 50, i, i, pad
		printf "Event: Hangup\r\nPrivilege: call,all\r\nCause: 16\r\nReceivedAt: 2026-12-06T10:00:00.000+00:00\r\n\r\n"
	}' >"$REC"
}

# A small AMI client for python3 tests: amic.connect() gives one with
# send(), line(), msg() (the next block, blank line included), login(),
# closed() (the server closes once what it sent is read).
write_client_lib() {
	cat >"$BATS_TEST_TMPDIR/amic.py" <<'EOF'
import os, socket, time

PORT = int(os.environ["AMI_PORT"])

class Client:
    def __init__(self, rcvbuf=None):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(10)
        self.s.connect(("127.0.0.1", PORT))
        self.buf = b""

    def send(self, data):
        self.s.sendall(data.encode() if isinstance(data, str) else data)

    def _more(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("closed; unread: %r" % self.buf)
        self.buf += d

    def line(self):
        while b"\n" not in self.buf:
            self._more()
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out.decode("utf-8", "surrogateescape")

    def msg(self):
        while b"\r\n\r\n" not in self.buf:
            self._more()
        i = self.buf.index(b"\r\n\r\n") + 4
        out, self.buf = self.buf[:i], self.buf[i:]
        return out.decode("utf-8", "surrogateescape")

    def ask(self, request):
        self.send(request)
        return self.msg()

    def login(self, user="demo", secret="demo", events=None):
        assert self.line() == "Asterisk Call Manager/11.0.0\r\n"
        extra = "Events: %s\r\n" % events if events is not None else ""
        return self.ask("Action: Login\r\nUsername: %s\r\nSecret: %s\r\n%s\r\n"
                        % (user, secret, extra))

    def closed(self):
        """Reads (and drops) until the server closes; True then."""
        try:
            while self.s.recv(65536):
                pass
        except ConnectionResetError:
            pass
        return True

def connect(**kw):
    return Client(**kw)
EOF
}

# py SCRIPT: runs python3 with amic importable, bounded in time.
py() {
	PYTHONPATH="$BATS_TEST_TMPDIR" timeout "$(time_bound 20)" python3 -c "$1"
}

# ---------------------------------------------------------------- with ami

@test "tail-events gets the recording as it was recorded, ReceivedAt aside" {
	write_rec
	start_serve --speed max "$REC"
	run --separate-stderr ami tail-events --format raw --count 3
	assert_success
	assert_equal "$output" "$(as_sent "$REC")"
	ami tail-events -j --count 3 >"$OUT"
	assert_equal "$(sed -E 's/^\{"Event":"([^"]*)".*/\1/' "$OUT" | tr '\n' ' ')" 'Newchannel VarSet Hangup '
	stop_serve
}

@test "ping answers with Pong and a Timestamp; other actions get Asterisk's error" {
	write_rec
	start_serve "$REC"
	run --separate-stderr ami ping -c 2 -i 0.1
	assert_success
	assert_line --index 1 --regexp "^pong from 127\.0\.0\.1:$AMI_PORT: seq=2 time=[0-9.]+ ms$"
	run --separate-stderr ami action Ping --format raw
	assert_success
	assert_line --regexp '^Timestamp: [0-9]{10}\.[0-9]{6}'
	run --separate-stderr ami action CoreShowChannels --format raw
	assert_failure 1
	assert_output --partial $'\nMessage: Invalid/unknown command: CoreShowChannels. Use Action: ListCommands to show available commands.\r\n'

	run --separate-stderr ami action ListCommands --format raw
	assert_success
	assert_output --partial $'\nFilter: Dynamically add filters for the current manager session.  (Priv: system,all)\r\n'
	assert_equal "$(grep -c '(Priv: ' <<<"$output")" 7
	stop_serve
}

@test "MD5 login with a Challenge; a wrong secret fails after Asterisk's second" {
	write_rec
	start_serve "$REC"
	run --separate-stderr ami ping --auth md5
	assert_success
	local t0=$EPOCHREALTIME
	AMI_SECRET=wrong run --separate-stderr ami ping --auth md5
	assert_failure 4
	AMI_SECRET=wrong run --separate-stderr ami ping
	assert_failure 4
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a >= 1.9) }' ||
		fail "two failed logins were answered in under 2 s"
	stop_serve
}

@test "--user and --secret-file set the login; a secret file must be private" {
	write_rec
	printf 's3cret\n' >"$BATS_TEST_TMPDIR/secret"
	chmod 644 "$BATS_TEST_TMPDIR/secret"
	run --separate-stderr ami serve --user ops --secret-file "$BATS_TEST_TMPDIR/secret" "$REC"
	assert_failure 3
	chmod 600 "$BATS_TEST_TMPDIR/secret"
	start_serve --user ops --secret-file "$BATS_TEST_TMPDIR/secret" "$REC"
	AMI_USER=ops AMI_SECRET=s3cret run --separate-stderr ami ping
	assert_success
	AMI_USER=OPS AMI_SECRET=s3cret run --separate-stderr ami ping --auth md5
	assert_success          # Asterisk compares user names ignoring case
	run --separate-stderr ami ping
	assert_failure 4
	stop_serve
}

@test "two clients at once each get the whole recording" {
	write_rec
	start_serve --speed 4 "$REC"
	ami tail-events --format raw --count 3 >"$OUT.1" 2>&1 3>&- &
	local p1=$!
	ami tail-events --format raw --count 3 >"$OUT.2" 2>&1 3>&- &
	local p2=$!
	wait "$p1"
	wait "$p2"
	as_sent "$REC" >"$OUT"
	cmp "$OUT" "$OUT.1"
	cmp "$OUT" "$OUT.2"
	stop_serve
}

@test "tail-events filters are pushed to serve as Filter actions and applied there" {
	write_rec
	start_serve -v --speed max "$REC"
	run --separate-stderr ami tail-events -j -e 'hang*' --count 1
	assert_success
	assert_output --regexp '^\{"Event":"Hangup",'
	run --separate-stderr ami tail-events -j --exclude-event VarSet --count 2
	assert_success
	assert_equal "$(cut -c1-22 <<<"$output" | tr '\n' ' ')" '{"Event":"Newchannel", {"Event":"Hangup","Pri '
	stop_serve
}

@test "--speed paces by ReceivedAt; --speed max does not wait; --loop starts again" {
	write_rec
	start_serve --speed 2 "$REC"
	ami tail-events -j --timestamp --count 3 >"$OUT"
	python3 - "$OUT" <<'EOF'
import datetime, json, sys
t = [datetime.datetime.fromisoformat(json.loads(l)["ReceivedAt"]) for l in open(sys.argv[1])]
gaps = [(b - a).total_seconds() for a, b in zip(t, t[1:])]
# 0.5 s apart when recorded, at twice the speed: 0.25 s (loose bounds for a busy machine)
assert all(0.2 <= g <= 1.5 for g in gaps), gaps
EOF
	stop_serve
	start_serve --speed max --loop "$REC"
	local t0=$EPOCHREALTIME
	ami tail-events -j --count 9 >"$OUT"
	awk -v a="$t0" -v b="$EPOCHREALTIME" -v f="$TIME_FACTOR" 'BEGIN { exit !(b - a < 2 * f) }' ||
		fail "--speed max waited"
	assert_equal "$(sed -E 's/^\{"Event":"([^"]*)".*/\1/' "$OUT" | uniq -c | wc -l)" 9
	assert_equal "$(grep -c Hangup "$OUT")" 3
	stop_serve
}

@test "SIGTERM and SIGINT: clients get Shutdown, then the connection closes; exit 0" {
	write_rec
	local sig
	for sig in TERM INT; do
		start_serve "$REC"
		ami tail-events -j 2>/dev/null >"$OUT" 3>&- &
		local tail=$!
		for ((i = 0; i < 100; i++)); do
			grep -q Newchannel "$OUT" 2>/dev/null && break
			sleep 0.05
		done
		stop_serve "$sig"
		local rc=0
		wait "$tail" || rc=$?
		assert_equal "$rc" 5       # the connection went away
		grep -qxF '{"Event":"Shutdown","Privilege":"system,all","Shutdown":"Cleanly","Restart":"False"}' "$OUT"
	done
}

# ---------------------------------------------------------------- a plain client

@test "a plain socket client: banner, Permission denied, Login, FullyBooted, events, Logoff" {
	write_rec
	start_serve --speed max "$REC"
	py '
import amic
c = amic.connect()
assert c.line() == "Asterisk Call Manager/11.0.0\r\n"
assert c.ask("Action: Ping\r\nActionID: p1\r\n\r\n") == \
    "Response: Error\r\nActionID: p1\r\nMessage: Permission denied\r\n\r\n"
assert c.ask("Action: Login\r\nActionID: l1\r\nUsername: demo\r\nSecret: demo\r\n\r\n") == \
    "Response: Success\r\nActionID: l1\r\nMessage: Authentication accepted\r\n\r\n"
m = c.msg()
assert m.startswith("Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: "), m
assert m.endswith("\r\nStatus: Fully Booted\r\n\r\n"), m
names = [c.msg().split("\r\n")[0] for _ in range(3)]
assert names == ["Event: Newchannel", "Event: VarSet", "Event: Hangup"], names
r = c.ask("Action: Ping\r\nActionID: p2\r\n\r\n")
assert r.startswith("Response: Success\r\nActionID: p2\r\nPing: Pong\r\nTimestamp: "), r
assert c.ask("Action: Logoff\r\nActionID: bye\r\n\r\n") == \
    "Response: Goodbye\r\nActionID: bye\r\nMessage: Thanks for all the fish.\r\n\r\n"
assert c.closed()
'
	stop_serve
}

@test "a wrong secret is answered after a second and the connection closes" {
	write_rec
	start_serve "$REC"
	py '
import amic, time
c = amic.connect()
c.line()
t = time.monotonic()
c.send("Action: Login\r\nUsername: demo\r\nSecret: nope\r\n\r\nAction: Ping\r\n\r\n")
assert c.msg() == "Response: Error\r\nMessage: Authentication failed\r\n\r\n"
assert time.monotonic() - t >= 0.9
assert c.buf == b"" and c.s.recv(100) == b""     # nothing after it, not even for the Ping
'
	stop_serve
}

@test "Events: off, the Events action, and MatchCriteria and legacy filters" {
	write_rec
	start_serve --speed max "$REC"
	py '
import amic
c = amic.connect()
c.login(events="off")
# Events: Off for a bogus mask, as Asterisk; the replay starts once events are on
assert c.ask("Action: Events\r\nEventMask: bogus\r\n\r\n") == "Response: Success\r\nEvents: Off\r\n\r\n"
bad = "Response: Error\r\nMessage: Filter was formatted incorrectly.  Check the syntax of the filter given.\r\n\r\n"
assert c.ask("Action: Filter\r\nOperation: Add\r\nMatchCriteria: name(Hangup),method(sideways)\r\nFilter: x\r\n\r\n") == bad
assert c.ask("Action: Filter\r\nOperation: Add\r\n\r\n") == bad
ok = "Response: Success\r\nMessage: Success\r\n\r\n"
assert c.ask("Action: Filter\r\nOperation: Add\r\nMatchCriteria: action(include),name(Newchannel),header(Channel),method(starts_with)\r\nFilter: PJSIP/1\r\n\r\n") == ok
assert c.ask("Action: Filter\r\nOperation: Add\r\nFilter: Event: Hangup\r\n\r\n") == ok
assert c.ask("Action: Events\r\nEventMask: call\r\n\r\n") == "Response: Success\r\nEvents: On\r\n\r\n"
assert c.msg().startswith("Event: Newchannel\r\n")
assert c.msg().startswith("Event: Hangup\r\n")
assert c.ask("Action: Ping\r\n\r\n").startswith("Response: Success\r\nPing: Pong\r\n")
'
	stop_serve
}

@test "junk from a client gets Asterisk's answers; the server goes on" {
	write_rec
	start_serve --speed max "$REC"
	py '
import amic
c = amic.connect()
c.login(events="off")
err = lambda m, aid="": "Response: Error\r\n" + ("ActionID: %s\r\n" % aid if aid else "") + "Message: %s\r\n\r\n" % m
assert c.ask("no colon here\r\n\r\n") == err("Missing action in request")
assert c.ask("\r\n") == err("Missing action in request")
assert c.ask("Action: Ping\r\nActionID: long\r\nX: " + "y" * 2000 + "\r\n\r\n") == \
    err("Failed to parse message: line too long", "long")
assert c.ask("Action: Ping\r\nActionID: many\r\n" + "X: y\r\n" * 200 + "\r\n") == \
    err("Too many lines in message or allocation failure", "many")
assert c.ask(b"Action: Ping\r\nActionID: n\x00ul\r\n\r\n").startswith("Response: Success\r\nActionID: n\r\n")
assert c.ask(b"Action: \xff\xfe\r\n\r\n") == err("Invalid/unknown command: \udcff\udcfe. Use Action: ListCommands to show available commands.")
assert c.ask("Action: Ping\nActionID: lf\n\n").startswith("Response: Success\r\nActionID: lf\r\nPing: Pong")
'
	# and another client is served as before
	run --separate-stderr ami ping
	assert_success
	stop_serve
}

# 2 MiB: more than the kernel buffers for a client (serve's 256 KiB send
# buffer, the client's 4 KiB receive buffer).
@test "a client that takes nothing is dropped after --write-timeout; the others get everything" {
	write_big_rec 2000
	start_serve -v --speed max --write-timeout "$(time_bound 300)" "$REC"
	py '
import amic, time
c = amic.connect(rcvbuf=4096)
c.login()
time.sleep(1.5)
assert c.closed()
' &
	local slow=$!
	ami tail-events --format raw >"$OUT" --count 2000
	wait "$slow"
	assert_equal "$(grep -c '^Event: ' "$OUT")" 2000
	as_sent "$REC" | cmp - "$OUT"
	grep -q ': write timeout' "$SERVE_ERR"
	stop_serve
}

# ---------------------------------------------------------------- recordings

@test "a recording made by tail-events replays through serve to the same output as live" {
	AMI_USER=hello AMI_SECRET=world start_fake_ami --events 60
	AMI_USER=hello AMI_SECRET=world ami tail-events --format raw --timestamp --until StreamDone >"$REC"
	stop_fake_ami
	start_serve --speed max "$REC"
	ami tail-events --format raw --until StreamDone >"$OUT"
	as_sent "$REC" | cmp - "$OUT"
	assert_equal "$(grep -c '^Event: ' "$OUT")" "$(grep -c '^Event: ' "$REC")"
	stop_serve
}

@test "a JSON recording (--format json --timestamp) replays to the same output as live" {
	AMI_USER=hello AMI_SECRET=world start_fake_ami --events 60
	AMI_USER=hello AMI_SECRET=world ami tail-events -j --timestamp --until StreamDone >"$REC"
	stop_fake_ami
	start_serve --speed max "$REC"
	ami tail-events -j --until StreamDone >"$OUT"
	python3 - "$REC" "$OUT" <<'PY'
import json, sys
def rows(path, drop):
    out = []
    for line in open(path, encoding="utf-8"):
        obj = json.loads(line, object_pairs_hook=list)
        out.append([kv for kv in obj if kv[0] != drop])
    return out
live, replay = rows(sys.argv[1], "ReceivedAt"), rows(sys.argv[2], None)
assert len(live) == 61 and live == replay, (len(live), len(replay))
PY
	stop_serve
}

@test "a damaged recording: exit 7 naming the byte offset, nothing served" {
	write_rec
	head -c 150 "$REC" >"$BATS_TEST_TMPDIR/cut.raw"
	run --separate-stderr ami serve --listen 127.0.0.1:0 "$BATS_TEST_TMPDIR/cut.raw"
	assert_failure 7
	[[ $stderr == *"cut.raw: byte "* ]] || fail "no byte offset in: $stderr"
	assert_output ""
	printf '{"Event":"Hangup","ReceivedAt":"2026-12-06T10:00:00.000+00:00"}\n{"Event": nope}\n' \
		>"$BATS_TEST_TMPDIR/bad.json"
	run --separate-stderr ami serve --listen 127.0.0.1:0 "$BATS_TEST_TMPDIR/bad.json"
	assert_failure 7
	local at=${stderr##*bad.json: byte }
	at=${at%%:*}
	((at >= 67 && at < 83)) || fail "not an offset in the second line: $stderr"
	# from stdin too
	run --separate-stderr ami serve --listen 127.0.0.1:0 - <"$BATS_TEST_TMPDIR/cut.raw"
	assert_failure 7
	[[ $stderr == *"stdin: byte "* ]]
}

# ---------------------------------------------------------------- usage

@test "usage errors: no recording, bad --speed, --listen, client options; --help" {
	write_rec
	run --separate-stderr ami serve
	assert_failure 2
	run --separate-stderr ami serve --help
	assert_success
	assert_line --index 0 --partial "usage: ami serve"
	[[ -z $stderr ]] || fail "--help wrote to stderr: $stderr"
	run --separate-stderr ami serve --speed 0 "$REC"
	assert_failure 2
	run --separate-stderr ami serve --speed fast "$REC"
	assert_failure 2
	run --separate-stderr ami serve --listen nowhere:1 "$REC"
	assert_failure 2
	run --separate-stderr ami serve --listen 127.0.0.1:99999 "$REC"
	assert_failure 2
	run --separate-stderr ami serve --host 127.0.0.1 "$REC"
	assert_failure 2
	[[ $stderr == *"--host is for connecting"* ]]
	run --separate-stderr ami serve --listen 0.0.0.0:0 "$REC"
	assert_failure 2
	[[ $stderr == *"not a loopback address"* ]]
	run --separate-stderr ami serve "$BATS_TEST_TMPDIR/missing.raw"
	assert_failure 8
}
