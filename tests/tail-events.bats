#!/usr/bin/env bats
# ami tail-events against the test server: formats, filters (client and
# server side), stop conditions, SIGPIPE, signals, reconnect, a slow reader
# and the accounting of dropped events.
load helper

setup() {
	setup_common
	OUT="$BATS_TEST_TMPDIR/out"
	ERR="$BATS_TEST_TMPDIR/err"
	LOG="$BATS_TEST_TMPDIR/ami.log"
}

teardown() {
	if [ -n "${TAIL_PID:-}" ]; then
		kill -KILL "$TAIL_PID" 2>/dev/null || true
		wait "$TAIL_PID" 2>/dev/null || true
	fi
	stop_fake_ami
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.05 s; fails on timeout.
wait_for() {
	local n=$(($1 * 20))
	shift
	while ! "$@"; do
		((n-- > 0)) || return 1
		sleep 0.05
	done
}

# wait_exit PID SECONDS: waits (bounded) for a background ami; sets RC.
wait_exit() {
	wait_for "$2" eval '! kill -0 '"$1"' 2>/dev/null' || {
		kill -KILL "$1"
		fail "ami tail-events did not end within $2 s"
	}
	RC=0
	wait "$1" || RC=$?
	TAIL_PID=
}

lines_in() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# A corpus in the wire format: repeated headers, quotes, backslashes, UTF-8,
# a byte that is not UTF-8, an empty value.
write_corpus() {
	printf '%s\r\n' \
		'Event: TestEvent' 'Privilege: call,all' 'Variable: a=1' 'Variable: b=2' \
		'Name: Desk "1" \x' 'City: Zürich' "Bad: $(printf 'caf\xe9')" 'Empty: ' '' \
		'Event: Hangup' 'Privilege: call,all' 'Channel: PJSIP/100-00000001' \
		'Cause: 17' 'Cause-txt: User busy' '' \
		'Event: Hangup' 'Privilege: call,all' 'Channel: PJSIP/200-00000002' \
		'Cause: 16' 'Cause-txt: Normal Clearing' '' \
		'Event: Newchannel' 'Privilege: call,all' 'Channel: PJSIP/300-00000003' '' \
		>"$BATS_TEST_TMPDIR/corpus.raw"
}

json_field() {   # json_field FILE LINE KEY
	python3 -c 'import json, sys
print(json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])])[sys.argv[3]])' "$@"
}

# ---------------------------------------------------------------- formats

@test "text: one line per event, HH:MM:SS.mmm Event Key=Value, quoted when needed" {
	write_corpus
	start_fake_ami --events 4 --corpus "$BATS_TEST_TMPDIR/corpus.raw"
	run --separate-stderr ami tail-events --until StreamDone
	assert_success
	assert_equal "${#lines[@]}" 5
	assert_line --index 0 --regexp '^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{3} TestEvent Privilege=call,all Variable=a=1 Variable=b=2 Name="Desk \\"1\\" \\\\x" City=Zürich Bad="caf\\xe9" Empty=""$'
	assert_line --index 1 --regexp '^[0-9:.]{12} Hangup Privilege=call,all Channel=PJSIP/100-00000001 Cause=17 Cause-txt="User busy"$'
	assert_line --index 4 --regexp '^[0-9:.]{12} StreamDone$'
}

@test "json: one object per line, repeated headers as arrays, escapes, invalid UTF-8 kept" {
	write_corpus
	start_fake_ami --events 4 --corpus "$BATS_TEST_TMPDIR/corpus.raw"
	ami tail-events --format json --until StreamDone >"$OUT"
	assert_equal "$(wc -l <"$OUT")" 5
	python3 - "$OUT" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
first = rows[0]
assert list(first) == ["Event", "Privilege", "Variable", "Name", "City", "Bad", "Empty"], list(first)
assert first["Variable"] == ["a=1", "b=2"]
assert first["Name"] == 'Desk "1" \\x'
assert first["City"] == "Zürich"
assert first["Bad"] == "caf\u00e9"       # the Latin-1 reading of 0xe9
assert first["Empty"] == ""
assert [r["Event"] for r in rows] == ["TestEvent", "Hangup", "Hangup", "Newchannel", "StreamDone"]
EOF
}

@test "raw: the AMI wire blocks, byte for byte" {
	write_corpus
	start_fake_ami --events 4 --corpus "$BATS_TEST_TMPDIR/corpus.raw"
	ami tail-events --format raw --until StreamDone >"$OUT"
	printf 'Event: StreamDone\r\n\r\n' | cat "$BATS_TEST_TMPDIR/corpus.raw" - | cmp - "$OUT"
}

@test "raw with a header match (parsed path) gives the same blocks" {
	write_corpus
	start_fake_ami --events 4 --corpus "$BATS_TEST_TMPDIR/corpus.raw"
	ami tail-events --format raw --match 'Privilege=*' --count 4 >"$OUT"
	cmp "$BATS_TEST_TMPDIR/corpus.raw" "$OUT"
}

@test "a server with bare LF line ends: the same events with and without a header match" {
	start_fake_ami --events 300 --hostile lf-only
	ami tail-events -j --until StreamDone >"$OUT"
	stop_fake_ami
	start_fake_ami --events 300 --hostile lf-only   # the corpus from its start again
	ami tail-events -j --until StreamDone --match 'Event=*' >"$OUT.parsed"
	cmp "$OUT" "$OUT.parsed"
	assert_equal "$(wc -l <"$OUT")" 301
	ami tail-events --format raw --until StreamDone >"$OUT"
	assert_equal "$(grep -c '^Event: ' "$OUT")" 301
	! grep -q $'\r' "$OUT"       # passed through as received
}

@test "a server that streams from Login on: every event, as with a header match" {
	start_fake_ami --events 3000 --events-delay 0 --hostile stream-at-login
	run --separate-stderr ami tail-events -j --until StreamDone
	assert_success
	# The Login's own events (uptime, session id) differ between two runs.
	printf '%s\n' "$output" | grep -v '^{"Event":"\(FullyBooted\|SuccessfulAuth\)"' >"$OUT"
	stop_fake_ami
	start_fake_ami --events 3000 --events-delay 0 --hostile stream-at-login
	ami tail-events -j --until StreamDone --match 'Event=*' |
		grep -v '^{"Event":"\(FullyBooted\|SuccessfulAuth\)"' >"$OUT.parsed"
	cmp "$OUT" "$OUT.parsed"
	assert_equal "${#lines[@]}" 3003        # and the two of the Login
	assert_equal "$(tail -n 1 "$OUT")" '{"Event":"StreamDone"}'
}

# Every byte passes the one parser, whatever the format: an event with a
# line over the parser's 64 KiB cap ends the stream with exit 7 in raw,
# json and text alike (raw once printed it and let its queue grow), after
# the events before it; memory stays small.
@test "an 8 MiB line in an event: exit 7 in every format, after the events before it" {
	{
		printf 'Event: Before\r\nN: 1\r\n\r\n'
		printf 'Event: Huge\r\nHuge: '
		head -c $((8 << 20)) /dev/zero | tr '\0' x
		printf '\r\n\r\nEvent: After\r\n\r\n'
	} >"$BATS_TEST_TMPDIR/corpus.raw"
	local fmt
	for fmt in raw json text; do
		start_fake_ami --events 3 --corpus "$BATS_TEST_TMPDIR/corpus.raw"
		run --separate-stderr /usr/bin/time -f 'rss=%M' ami tail-events --format "$fmt" --count 3
		assert_failure 7
		[[ $stderr == *"protocol error: line longer than 65536 bytes"* ]]
		[[ $output == *Before* && $output != *Huge* && $output != *After* ]]
		rss=$(grep -o 'rss=[0-9]*' <<<"$stderr"); rss=${rss#rss=}
		# valgrind and ASan (its shadow memory and quarantine) measure themselves
		[ "$VALGRIND_ON" = 1 ] || ldd "$REPO_ROOT/ami" | grep -q libasan ||
			(( rss < 16384 )) || fail "$fmt: peak RSS $rss KiB"
		stop_fake_ami
	done
}

@test "--timestamp adds ReceivedAt (json, raw) and the full date (text)" {
	start_fake_ami --events 3
	ami tail-events -j --timestamp --count 2 >"$OUT"
	[[ "$(json_field "$OUT" 0 ReceivedAt)" =~ ^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-9:]{8}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2}$ ]]
	ami tail-events --format raw --timestamp --count 1 >"$OUT"
	grep -Eq $'^ReceivedAt: 20[0-9-]{8}T[0-9:.]{12}[+-][0-9:]{5}\r$' "$OUT"
	ami tail-events --timestamp --count 1 >"$OUT"
	grep -Eq '^20[0-9-]{8}T[0-9:]{8}\.[0-9]{3}[+-][0-9:]{5} [A-Za-z]+ ' "$OUT"
}

# ---------------------------------------------------------------- filters

@test "--event: shell glob, any case, repeatable; pushed to the server" {
	start_fake_ami --events 300
	run --separate-stderr ami tail-events -j -e 'newCHAN*' -e HANGUP --until StreamDone
	assert_success
	names=$(printf '%s\n' "${lines[@]}" | sed -E 's/^\{"Event":"([^"]*)".*/\1/' | sort -u)
	assert_equal "$names" $'Hangup\nNewchannel\nStreamDone'
	# Not spelled Asterisk's way: regexes that ignore case, as the client does.
	grep -q 'RECV Filter Operation=Add MatchCriteria=action(include),method(regex) Filter=^Event: \[Nn\]\[Ee\]\[Ww\]' "$LOG"
	grep -q 'RECV Filter .*Filter=^Event: \[Hh\]\[Aa\]' "$LOG"
	# The filters go in before events are switched on.
	assert_equal "$(grep -o 'RECV [A-Za-z]*' "$LOG" | head -6 | tr '\n' ' ')" \
		'RECV Login RECV CoreSettings RECV Filter RECV Filter RECV Filter RECV Events '
}

@test "--exclude-event drops those events (and is pushed as excludes)" {
	start_fake_ami --events 300
	ami tail-events -j --exclude-event 'new*' --exclude-event varset -c 100 >"$OUT"
	assert_equal "$(wc -l <"$OUT")" 100
	if grep -Eq '"Event":"(New[a-zA-Z]*|VarSet)"' "$OUT"; then fail "an excluded event was printed"; fi
	grep -q 'RECV Filter Operation=Add MatchCriteria=action(exclude),method(regex) Filter=^Event: \[Nn\]\[Ee\]\[Ww\]' "$LOG"
	grep -q 'RECV Filter Operation=Add MatchCriteria=action(exclude),name(VarSet) ' "$LOG"
}

@test "--no-server-filter: no Filter action, same output" {
	start_fake_ami --events 300
	ami tail-events -j -e Hangup --until StreamDone --no-server-filter >"$OUT"
	if grep -q 'RECV Filter' "$LOG"; then fail "a Filter action was sent despite --no-server-filter"; fi
	assert_equal "$(sed -E 's/^\{"Event":"([^"]*)".*/\1/' "$OUT" | sort -u)" $'Hangup\nStreamDone'
	[ "$(grep -c Hangup "$OUT")" -gt 5 ]
}

@test "Filter refused (no write=system): client-side only, said with -v" {
	start_fake_ami --events 300
	run --separate-stderr ami tail-events -u reader -v -j -e Hangup --until StreamDone
	assert_success
	[[ "$stderr" == *"server refused the Filter action (Permission denied)"* ]]
	names=$(printf '%s\n' "${lines[@]}" | sed -E 's/^\{"Event":"([^"]*)".*/\1/' | sort -u)
	assert_equal "$names" $'Hangup\nStreamDone'
	run --separate-stderr ami tail-events -u reader -j -e Hangup --until StreamDone
	assert_success
	assert_equal "$stderr" ""
}

@test "--match KEY=GLOB and KEY~REGEX: all must match" {
	start_fake_ami --events 300
	ami tail-events -j --match 'Channel=local/*;2' --match 'ChannelState~^[46]$' -c 20 >"$OUT"
	assert_equal "$(wc -l <"$OUT")" 20
	python3 - "$OUT" <<'EOF'
import json, re, sys
for line in open(sys.argv[1]):
    ev = json.loads(line)
    assert ev["Channel"].startswith("Local/") and ev["Channel"].endswith(";2"), ev
    assert re.fullmatch(r"[46]", ev["ChannelState"]), ev
EOF
}

@test "--events-mask goes in the Events action; Login has Events: off" {
	start_fake_ami --events 20
	run ami tail-events --events-mask call,user -c 1
	assert_success
	grep 'RECV Login' "$LOG" | grep -q 'Events=off'
	grep -q 'RECV Events EventMask=call,user' "$LOG"
}

# ---------------------------------------------------------------- stop conditions

@test "--count N: exactly N events, then Logoff and exit 0" {
	start_fake_ami --events 1000
	run --separate-stderr ami tail-events -j -c 7
	assert_success
	assert_equal "${#lines[@]}" 7
	grep -q 'RECV Logoff' "$LOG"
}

@test "--until EVENT:KEY=GLOB stops after (and prints) the first such event" {
	write_corpus
	start_fake_ami --events 4 --corpus "$BATS_TEST_TMPDIR/corpus.raw"
	run --separate-stderr ami tail-events -j -e Newchannel --until 'hangup:Cause=16'
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_line --index 0 --partial '"Channel":"PJSIP/200-00000002","Cause":"16"'
}

@test "--idle: no event for that long exits 6" {
	start_fake_ami --events 2
	SECONDS=0
	run --separate-stderr ami tail-events --idle 0.5
	assert_failure 6
	[ "$SECONDS" -le 3 ]
	assert_equal "${#lines[@]}" 3
	[[ "$stderr" == *"no event for 0.5 s"* ]]
}

@test "-t bounds connect and login only, not the stream" {
	start_fake_ami --events 6 --event-rate 5
	run --separate-stderr ami tail-events -t 0.3 --until StreamDone
	assert_success
	assert_equal "${#lines[@]}" 7
}

@test "usage errors exit 2" {
	run ami tail-events --count 0
	assert_failure 2
	run ami tail-events --buffer 1K
	assert_failure 2
	run ami tail-events --match nokey
	assert_failure 2
	run --separate-stderr ami tail-events --match 'Key~(['
	assert_failure 2
	[[ "$stderr" == *"bad regular expression"* ]]
	run ami tail-events --idle 0
	assert_failure 2
	run ami tail-events extra
	assert_failure 2
	run ami tail-events --events-mask $'call\r\nAction: Originate'
	assert_failure 2
	# Event names may go to the server in a Filter action.
	run ami tail-events -e $'Hangup\r\nAction: Originate'
	assert_failure 2
	run ami tail-events -e Newchannel --until $'Hangup\nAction: Originate'
	assert_failure 2
	run ami tail-events --until :Cause=16
	assert_failure 2
}

@test "nothing listening: exit 5" {
	run ami tail-events --port "$(free_port)"
	assert_failure 5
}

# ---------------------------------------------------------------- connection loss

@test "connection lost without --reconnect: exit 5" {
	start_fake_ami --events 100 --drop-after 10
	run --separate-stderr ami tail-events -j
	assert_failure 5
	assert_equal "${#lines[@]}" 10
	[[ "$stderr" == *"connection closed by the server"* ]]
}

@test "--reconnect: server killed and restarted on the same port; the gap is marked" {
	start_fake_ami --events 100000 --event-rate 100
	port=$AMI_PORT
	ami tail-events -j --reconnect --until StreamDone >"$OUT" 2>"$ERR" 3>&- &
	TAIL_PID=$!
	wait_for 5 lines_in "$OUT" 5
	stop_fake_ami
	sleep 0.5
	start_fake_ami --port "$port" --events 5
	wait_exit "$TAIL_PID" 20
	assert_equal "$RC" 0
	python3 - "$OUT" <<'EOF'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
marks = [i for i, r in enumerate(rows) if r["Event"] == "AmiReconnect"]
assert len(marks) == 1, marks
m = rows[marks[0]]
iso = r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"
assert re.fullmatch(iso, m["GapStart"]) and re.fullmatch(iso, m["GapEnd"]), m
assert float(m["GapSeconds"]) >= 0.4, m
assert m["Cause"] == "connection closed by the server", m
assert int(m["Attempts"]) >= 1
assert marks[0] >= 5                                   # events before the gap
assert len(rows) - marks[0] - 1 == 6                   # 5 events + StreamDone after it
assert rows[-1]["Event"] == "StreamDone"
EOF
	grep -q "reconnecting" "$ERR"
	grep -q "reconnected to 127.0.0.1:$port after" "$ERR"
	assert_equal "$(grep -c 'RECV Login' "$LOG")" 2   # one per server (same log)
}

@test "--reconnect re-sends the server filters and resumes (repeated drops)" {
	start_fake_ami --events 1000 --drop-after 5
	run --separate-stderr ami tail-events -j --reconnect -e 'New*' -c 12
	assert_success
	assert_equal "$(grep -c '"Event":"AmiReconnect"' <<<"$output")" 2
	assert_equal "$(grep -vc '"Event":"AmiReconnect"' <<<"$output")" 12
	assert_equal "$(grep -c 'RECV Login' "$LOG")" 3
	assert_equal "$(grep -c 'RECV Filter' "$LOG")" 3
	! grep -v AmiReconnect <<<"$output" | grep -vq '"Event":"New'
}

# ---------------------------------------------------------------- readers and signals

@test "SIGPIPE: | head -3 ends quietly" {
	start_fake_ami --events 100000
	SECONDS=0
	run bash -c 'ami tail-events -j 2>"$1" | head -3 >"$2"; echo "${PIPESTATUS[0]}"' _ "$ERR" "$OUT"
	assert_output 141
	[ "$SECONDS" -le 5 ]
	assert_equal "$(wc -l <"$OUT")" 3
	[ ! -s "$ERR" ]
	grep -q 'RECV Logoff' "$LOG"
}

@test "the reader leaving is noticed at once, even with no event coming" {
	start_fake_ami --events 10 --event-rate 0.3
	SECONDS=0
	run bash -c 'ami tail-events 2>"$1" | head -1 >/dev/null; echo "${PIPESTATUS[0]}"' _ "$ERR"
	assert_output 141
	[ "$SECONDS" -le 2 ]
	[ ! -s "$ERR" ]
}

@test "SIGINT: Logoff, output flushed, exit 130; SIGTERM: exit 143" {
	start_fake_ami --events 100000 --event-rate 50
	for sig in INT TERM; do
		: >"$OUT"
		ami tail-events -j >"$OUT" 2>"$ERR" 3>&- &
		TAIL_PID=$!
		wait_for 5 lines_in "$OUT" 3
		kill -$sig "$TAIL_PID"
		wait_exit "$TAIL_PID" 5
		if [ "$sig" = TERM ]; then
			assert_equal "$RC" 143
		else
			assert_equal "$RC" 130
		fi
		python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$OUT"
		[ ! -s "$ERR" ]
	done
	assert_equal "$(grep -c 'RECV Logoff' "$LOG")" 2
}

# 100000 events (40 MB) are more than the kernel's socket buffers can hold
# (up to 32 + 4 MiB here): a client that stopped reading during the pause
# would be disconnected by the server's 100 ms write timeout.
@test "slow reader (2 s pause): no disconnect, nothing lost" {
	# Asterisk's default is 100 ms; 500 ms keeps the test meaningful (the
	# pause is 2 s) without failing when a loaded CI machine deschedules
	# us for a moment.
	start_fake_ami --events 100000 --write-timeout 500
	run bash -c 'ami tail-events -j --until StreamDone 2>"$1" | { sleep 2; cat; } >"$2"; exit ${PIPESTATUS[0]}' _ "$ERR" "$OUT"
	assert_success
	assert_equal "$(wc -l <"$OUT")" 100001
	if grep -q AmiDropped "$OUT"; then fail "events were dropped (AmiDropped)"; fi
	if grep -q 'WRITE TIMEOUT' "$LOG"; then fail "the server hit its write timeout"; fi
	[ ! -s "$ERR" ]
}

@test "a stalled reader without the queue would be disconnected (the test server checks)" {
	start_fake_ami --events 100000 --write-timeout 100
	# A client that logs in and stops reading: the server must drop it.
	run python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"Action: Login\r\nActionID: 1\r\nUsername: hello\r\nSecret: world\r\n\r\n")
time.sleep(3)' "$AMI_PORT"
	grep -q 'WRITE TIMEOUT' "$LOG"
}

@test "overflow: the oldest events are dropped, counted in the stream and on stderr" {
	start_fake_ami --events 20000
	run bash -c 'ami tail-events -j --buffer 16K --until StreamDone 2>"$1" | { sleep 2; cat; } >"$2"' _ "$ERR" "$OUT"
	assert_success
	python3 - "$OUT" "$ERR" <<'EOF'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
marks = [r for r in rows if r["Event"] == "AmiDropped"]
events = [r for r in rows if r["Event"] != "AmiDropped"]
dropped = sum(int(m["Count"]) for m in marks)
assert marks and dropped > 0, "nothing was dropped"
assert len(events) + dropped == 20001, (len(events), dropped)   # + StreamDone
assert int(marks[-1]["TotalDropped"]) <= dropped
assert events[-1]["Event"] == "StreamDone"
err = open(sys.argv[2]).read()
assert re.search(r"dropped \d+ events", err), err
assert ("%d events dropped in all" % dropped) in err, err
EOF
}

@test "stderr on the same pipe (2>&1): warnings are not lost to EAGAIN, exit 0" {
	start_fake_ami --events 20000
	run bash -c 'ami tail-events -j --buffer 16K --until StreamDone 2>&1 | { sleep 2; cat; } >"$1"; echo "${PIPESTATUS[0]}"' _ "$OUT"
	assert_output 0
	grep -q '"Event":"AmiDropped"' "$OUT"
	grep -q 'warning: dropped [0-9]* events' "$OUT"    # said while stdout was full
	grep -q 'events dropped in all' "$OUT"
}
