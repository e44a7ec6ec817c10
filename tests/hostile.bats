#!/usr/bin/env bats
# The hostile-server catalogue (issue 8): one test per way a server can
# misbehave (tests/fake_ami.py --hostile MODE). Each asserts the exit code,
# a clear message on stderr and that ami ends within its deadline (-t 1 or
# -t 2, plus the Logoff's bound where the session was up), or, where the
# data is odd but valid AMI, that the output is right.
# The HTTP cases (500, a redirect loop, a wrong Content-Type, a truncated
# chunked body) are at the end.
load helper

setup() {
	setup_common
	# libcurl would send the HTTP tests' requests to the caller's proxy.
	unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
}

teardown() {
	[[ -z ${TMUX_SOCK:-} ]] || tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	stop_fake_ami
	netns_stop
}

# timed_run ARGS...: `run --separate-stderr ARGS` and its wall time, in
# seconds, in $ELAPSED.
timed_run() {
	local t0=$EPOCHREALTIME
	run --separate-stderr "$@"
	ELAPSED=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
}

# within SECONDS: the last timed_run ended within SECONDS (scaled under valgrind).
within() {
	local max
	max=$(time_bound "$1")
	awk -v e="$ELAPSED" -v m="$max" 'BEGIN { exit !(e <= m) }' ||
		fail "ami took $ELAPSED s, more than its bound of $max s"
}

# tty_run COMMAND: runs the shell line COMMAND on a terminal of its own (a
# private tmux server); every byte it writes to the terminal goes to
# $TTY_RAW, and "EXITED rc" when it ends. It starts once the capture is on.
tty_run() {
	command -v tmux >/dev/null || skip "tmux is not installed"
	TMUX_SOCK="$BATS_TEST_TMPDIR/tmux.sock" TTY_RAW="$BATS_TEST_TMPDIR/tty.raw"
	local go="$BATS_TEST_TMPDIR/tty.go"
	: >"$TTY_RAW"
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x 150 -y 45 \
		"while [ ! -e $go ]; do sleep 0.02; done; $1; echo EXITED \$?; sleep 60"
	tmux -S "$TMUX_SOCK" pipe-pane -o "cat >>$TTY_RAW"
	touch "$go"
}

# assert_stderr TEXT: stderr holds TEXT (a fixed string).
assert_stderr() {
	[[ "$stderr" == *"$1"* ]] || fail "stderr lacks \"$1\"; it is: $stderr"
}

# json_lines: every line of $output is a JSON document.
json_lines() {
	python3 -c 'import json, sys
for line in sys.stdin:
    json.loads(line)' <<<"$output"
}

# A UserEvent of 120 lines of 1000 bytes: about 120 KB, near the most an
# action may hold (128 lines of 1 KiB), so that it can fill small buffers.
big_action_args() {
	local v i
	v=$(head -c 990 /dev/zero | tr '\0' x)
	BIG=(UserEvent UserEvent=big)
	for ((i = 1; i <= 120; i++)); do
		BIG+=("H$i=$v")
	done
}

# ---- before the session: the greeting ------------------------------------

@test "no banner: the server accepts and says nothing -> exit 6" {
	start_fake_ami --hostile no-banner
	timed_run ami ping -t 1
	assert_failure 6
	assert_stderr "timed out waiting for the AMI greeting from 127.0.0.1:$AMI_PORT"
	within 2.5
}

@test "an HTTP server on the port -> exit 7, names what it said" {
	start_fake_ami --hostile http-banner
	timed_run ami ping -t 1
	assert_failure 7
	assert_stderr "127.0.0.1:$AMI_PORT is not an AMI server; it greeted with \"HTTP/1.1 400 Bad Request\""
	within 1.5
}

@test "an SSH server on the port -> exit 7, names what it said" {
	start_fake_ami --hostile ssh-banner
	timed_run ami ping -t 1
	assert_failure 7
	assert_stderr "is not an AMI server; it greeted with \"SSH-2.0-OpenSSH_9.2p1"
	within 1.5
}

@test "a 1 MiB greeting without a line end -> exit 7 at the line cap" {
	start_fake_ami --hostile huge-banner
	timed_run ami ping -t 2
	assert_failure 7
	assert_stderr "protocol error: line longer than 65536 bytes"
	within 2
}

@test "1 byte per second: the deadline bounds the whole greeting -> exit 6" {
	start_fake_ami --hostile drip
	timed_run ami ping -t 2
	assert_failure 6
	assert_stderr "timed out waiting for the AMI greeting"
	within 3.5
}

# ---- login ----------------------------------------------------------------

@test "banner, then silence: Login unanswered -> exit 6" {
	start_fake_ami --hostile silent-after-banner
	timed_run ami ping -t 1
	assert_failure 6
	assert_stderr "timed out after 1.0 s waiting for the response to Login"
	within 2.5
}

@test "banner, then the server closes -> exit 5" {
	start_fake_ami --hostile close-after-banner
	timed_run ami ping -t 2
	assert_failure 5
	assert_stderr "127.0.0.1:$AMI_PORT closed the connection during login"
	within 2
}

@test "the server closes in the middle of a message -> exit 5" {
	start_fake_ami --hostile close-mid-message
	timed_run ami ping -t 2
	assert_failure 5
	assert_stderr "closed the connection during login"
	within 2
}

@test "connection reset by the server -> exit 5, says reset" {
	start_fake_ami --hostile reset
	timed_run ami ping -t 2
	assert_failure 5
	assert_stderr "login to 127.0.0.1:$AMI_PORT failed: connection lost: Connection reset by peer"
	within 2
}

@test "Login answered twice: the extra answer is ignored, all works" {
	start_fake_ami --hostile double-login
	timed_run ami ping -c 2 -i 0 -t 2
	assert_success
	assert_equal "$(grep -c '^pong from' <<<"$output")" 2
	timed_run ami action CoreStatus -t 2
	assert_success
	assert_output --partial "CoreCurrentCalls"
	within 2
}

# ---- junk is never a response (issue 11) -----------------------------------

@test "Login answered with a block that is not AMI -> exit 7, never a login" {
	start_fake_ami --hostile junk-login
	timed_run ami ping -t 2
	assert_failure 7
	assert_stderr "the server does not speak AMI: its first message has neither Event: nor Response: (it begins \"Welcome to the chat service\")"
	within 2
}

@test "Login answered with neither Success nor Error -> exit 7" {
	start_fake_ami --hostile login-not-success
	timed_run ami ping -t 2
	assert_failure 7
	assert_stderr "127.0.0.1:$AMI_PORT answered Login with \"Response: Pending\", neither Success nor Error"
	within 2
}

@test "two blocks that are not AMI before each response: skipped, shown at -vv" {
	start_fake_ami --hostile two-junk-blocks
	timed_run ami ping -c 2 -i 0 -t 2 -vv
	assert_success
	assert_equal "$(grep -c '^pong from' <<<"$output")" 2
	assert_stderr "skipping a block with neither Event: nor Response: (2 in a row)"
	[[ "$stderr" != *"(3 in a row)"* ]] || fail "a third block was counted: $stderr"
	within 2
}

@test "three blocks that are not AMI in a row -> exit 7" {
	start_fake_ami --hostile three-junk-blocks
	timed_run ami ping -t 2
	assert_failure 7
	assert_stderr "the server does not speak AMI: 3 blocks in a row have neither Event: nor Response: (the last begins \"Welcome to the chat service\")"
	within 2
}

@test "events before the Login response are queued for the command, not junk" {
	start_fake_ami --hostile events-before-login
	timed_run ami tail-events --count 5 -t 2 -vv
	assert_success
	assert_equal "$(grep -cE '^[0-9:.]+ Early Privilege=system,all Seq=[1-5]$' <<<"$output")" 5
	[[ "$stderr" != *"skipping a block"* ]] || fail "an event was taken for junk: $stderr"
	within 2
}

@test "200 random byte streams instead of or after the banner: exit 5, 6 or 7 within -t + 1 s" {
	local cases=200 jobs=16
	# valgrind starts slowly: fewer cases, fewer at a time.
	[ "$VALGRIND_ON" = 1 ] && cases=20 jobs=2
	run python3 "$TESTS_DIR/junk_streams.py" --cases "$cases" --jobs "$jobs" \
		--seed "${JUNK_SEED:-$RANDOM$RANDOM}" --max-seconds "$(time_bound 1.5)" -- ami ping -t 0.5
	echo "$output"
	assert_success
	assert_output --regexp "^$cases cases, seed [0-9]+: exits "
}

# ---- no terminal injection from the server (issue 11) ---------------------
# --hostile escape-seq puts EVIL (an OSC that sets the terminal's title, a
# clear screen, CSI as the C1 control U+009B) in the greeting, in every
# Message, as a Ping's error and as a line of Command output.
EVIL=$'\e]0;title\a\e[2J\xc2\x9b31m'
EVIL_SHOWN='\x1b]0;title\x07\x1b[2J\xc2\x9b31m'

# no_raw_escape FILE|-: the text (a file, or stdin) has no ESC, BEL or C1 CSI.
no_raw_escape() {
	if LC_ALL=C grep -qaE $'\e|\a|\xc2\x9b' "${1:--}"; then
		fail "control bytes reached the terminal: $(od -c "${1:--}" | head -n 20)"
	fi
}

@test "escape sequences in an error Message: shown as \\x1b on stderr" {
	start_fake_ami --hostile escape-seq
	timed_run ami ping -t 2
	assert_failure 1
	assert_stderr "ping 1: Ping failed $EVIL_SHOWN"
	no_raw_escape <<<"$stderr"
	within 2
}

@test "escape sequences in -v and -vv traces: shown as \\x1b" {
	start_fake_ami --hostile escape-seq
	timed_run ami ping -t 2 -vv
	assert_failure 1
	assert_stderr "server greeting: Asterisk Call Manager/11.0.0 $EVIL_SHOWN"
	assert_stderr "<< Message: Ping failed $EVIL_SHOWN"
	no_raw_escape <<<"$stderr"
	within 2
}

@test "escape sequences in text output shown as \\x1b; raw keeps the bytes, JSON escapes them" {
	start_fake_ami --hostile escape-seq
	run --separate-stderr ami action UserEvent UserEvent=x -t 2
	assert_success
	assert_output --partial "Event Sent $EVIL_SHOWN"
	no_raw_escape <<<"$output"
	ami action UserEvent UserEvent=x --format raw -t 2 >"$BATS_TEST_TMPDIR/raw"
	LC_ALL=C grep -qaF "Message: Event Sent $EVIL"$'\r' "$BATS_TEST_TMPDIR/raw" ||
		fail "raw output changed the bytes: $(od -c "$BATS_TEST_TMPDIR/raw" | tail -n 5)"
	run --separate-stderr ami action UserEvent UserEvent=x --json -t 2
	assert_success
	assert_output --partial '"Message":"Event Sent \u001b]0;title\u0007\u001b[2J'
}

@test "escape sequences in event and header names: tail-events' text line shows \\x1b" {
	printf '%s\r\n' "Event: Evil$EVIL" 'Privilege: call,all' $'Key\e[2J: v' \
		$'C1: a\xc2\x9bb' '' >"$BATS_TEST_TMPDIR/corpus.raw"
	start_fake_ami --events 1 --corpus "$BATS_TEST_TMPDIR/corpus.raw"
	run --separate-stderr ami tail-events --until StreamDone -t 2
	assert_success
	assert_line --index 0 --partial " Evil$EVIL_SHOWN Privilege=call,all Key\\x1b[2J=v C1=\"a\\xc2\\x9bb\""
	no_raw_escape <<<"$output"
}

@test "escape sequences in a channel name the server reports: originate's text line shows \\x1b" {
	start_fake_ami
	run --separate-stderr ami originate $'Local/1\e[2J@test' --app Wait --data 1 --wait -t 3
	assert_success
	assert_output --regexp '^answered: Local/1\\x1b\[2J@test-[0-9]+;1 '
	no_raw_escape <<<"$output"
}

@test "escape sequences in Command output: a pipe gets the bytes, a terminal sees \\x1b" {
	start_fake_ami --hostile escape-seq
	ami command 'core show version' -t 2 >"$BATS_TEST_TMPDIR/piped"
	LC_ALL=C grep -qaxF "evil: $EVIL" "$BATS_TEST_TMPDIR/piped" ||
		fail "the pipe did not get the bytes: $(od -c "$BATS_TEST_TMPDIR/piped" | tail -n 5)"
	tty_run "ami command 'core show version' -t 2"
	wait_file "$TTY_RAW" '^EXITED 0'
	grep -qaF "evil: $EVIL_SHOWN" "$TTY_RAW" || fail "no escaped line: $(cat -v "$TTY_RAW")"
	no_raw_escape "$TTY_RAW"
}

@test "escape sequences in the shell's display (greeting, responses): shown as \\x1b" {
	start_fake_ami --hostile escape-seq
	tty_run "ami shell -t 2"
	wait_file "$TTY_RAW" "^Logged in to 127\.0\.0\.1:$AMI_PORT \(Asterisk Call Manager/11\.0\.0 \\\\x1b\]0;title"
	wait_file "$TTY_RAW" 'ami [^ ]+> '     # after readline's own escape sequences
	tmux -S "$TMUX_SOCK" send-keys -l 'action UserEvent UserEvent=x'
	tmux -S "$TMUX_SOCK" send-keys Enter
	wait_file "$TTY_RAW" '^Message: +Event Sent \\x1b\]0;title\\x07\\x1b\[2J\\xc2\\x9b31m'
	tmux -S "$TMUX_SOCK" send-keys C-d
	wait_file "$TTY_RAW" '^EXITED 0'
	# readline draws with escape sequences of its own: look for the server's.
	if LC_ALL=C grep -qaF $'\e]0;title' "$TTY_RAW"; then
		fail "the server's OSC reached the terminal: $(cat -v "$TTY_RAW")"
	fi
	[[ $(tmux -S "$TMUX_SOCK" display-message -p '#{pane_title}') != title ]] ||
		fail "the server retitled the terminal"
}

# ---- the parser's caps ------------------------------------------------------

@test "a 1 MiB header line -> exit 7 at the line cap" {
	start_fake_ami --hostile huge-line
	timed_run ami ping -t 2
	assert_failure 7
	assert_stderr "protocol error: line longer than 65536 bytes"
	within 2
}

@test "100,000 headers in one message -> exit 7 at the header cap" {
	start_fake_ami --hostile many-headers
	timed_run ami ping -t 2
	assert_failure 7
	assert_stderr "protocol error: more than 20000 headers in one message"
	within 2.5
}

@test "an 18 MB message of valid lines -> exit 7 at the message cap" {
	start_fake_ami --hostile huge-message
	timed_run ami ping -t 2
	assert_failure 7
	assert_stderr "protocol error: message larger than 16777216 bytes"
	within 3
}

# ---- odd bytes that are still AMI: must work ---------------------------------

@test "NUL bytes in a value: kept, JSON escapes them" {
	start_fake_ami --hostile nul-bytes
	timed_run ami action CoreStatus --json -t 2
	assert_success
	json_lines
	assert_output --partial '"Nul":"before\u0000after"'
	assert_output --partial '"CoreCurrentCalls":"0"'
	timed_run ami ping -t 2
	assert_success
	within 2
}

@test "invalid UTF-8: raw output keeps the bytes, JSON stays valid" {
	start_fake_ami --hostile bad-utf8
	ami action CoreStatus --format raw -t 2 >"$BATS_TEST_TMPDIR/raw"
	LC_ALL=C grep -qF $'BadUTF8: caf\xe9 \xc3\x28 \xff\xfe\r' "$BATS_TEST_TMPDIR/raw" ||
		fail "raw output changed the bytes: $(od -c "$BATS_TEST_TMPDIR/raw" | tail -n 5)"
	timed_run ami action CoreStatus --json -t 2
	assert_success
	json_lines
	assert_output --partial '"BadUTF8":'
	within 2
}

@test "LF-only line ends: everything works" {
	start_fake_ami --hostile lf-only
	timed_run ami ping -t 2
	assert_success
	timed_run ami action CoreStatus --json -t 2
	assert_success
	json_lines
	assert_output --partial '"CoreCurrentCalls":"0"'
	refute_output --partial '\r'
	timed_run ami command 'core show version' -t 2
	assert_success
	assert_output --regexp '^Asterisk [0-9.]+ built by'
	within 2
}

@test "\\n\\r\\n after Message lines: no stray CR or LF in the value" {
	start_fake_ami --hostile stray-lf
	timed_run ami action UserEvent UserEvent=x --json -t 2
	assert_success
	json_lines
	assert_output --partial '"Message":"Event Sent"}'
	timed_run ami ping -c 2 -i 0 -t 2
	assert_success
	assert_equal "$(grep -c '^pong from' <<<"$output")" 2
	within 2
}

@test "old Asterisk: Response: Follows with --END COMMAND-- works" {
	start_fake_ami --hostile old-command
	timed_run ami command 'core show version' -t 2
	assert_success
	assert_output --regexp '^Asterisk [0-9.]+ built by'
	refute_output --partial "END COMMAND"
	within 2
}

# ---- responses that do not fit -------------------------------------------------

@test "responses with another ActionID are ignored -> exit 6 after -t" {
	start_fake_ami --hostile wrong-actionid
	timed_run ami ping -t 1 -vv
	assert_failure 6
	assert_stderr "timed out after 1.0 s waiting for the response to Ping"
	assert_stderr "ignoring a response that is not for Ping"
	# 1 s for the Ping, at most 1 s more for the Logoff
	within 3
}

@test "responses out of order: each still reaches its action" {
	start_fake_ami --hostile out-of-order
	timed_run ami ping -c 3 -i 0 -t 2
	assert_success
	assert_equal "$(grep -c '^pong from' <<<"$output")" 3
	# The OriginateResponse event overtakes the held Originate response.
	timed_run ami originate Local/100@test --app Wait --data 1 --wait -t 3
	assert_success
	assert_output --regexp '^answered: Local/100@test-[0-9]+;1 '
	within 3
}

@test "an EventList that never completes -> exit 6, items printed" {
	start_fake_ami --hostile endless-eventlist --channels 1
	timed_run ami action CoreShowChannels -t 1
	assert_failure 6
	assert_stderr "timed out after 1.0 s waiting for the rest of the CoreShowChannels list"
	assert_output --partial "EventList: start"
	assert_output --regexp $'\nEvent: +CoreShowChannel\n'
	assert_output --partial "Local/loop@test-00000001;1"
	within 3
}

@test "Response: Follows without --END COMMAND-- -> exit 6" {
	start_fake_ami --hostile follows-no-end
	timed_run ami command 'core show version' -t 1
	assert_failure 6
	assert_stderr "timed out after 1.0 s waiting for the response to Command"
	within 3
}

@test "a Ping answered with Response: Error -> exit 1 with its Message" {
	start_fake_ami --hostile ping-error
	timed_run ami ping -t 2
	assert_failure 1
	assert_stderr "Ping failed"
	within 2
}

@test "the server closes right after Login -> exit 5" {
	start_fake_ami --hostile close-after-login
	timed_run ami ping -t 2
	assert_failure 5
	assert_stderr "connection closed by the server"
	within 2
}

@test "events without end and no response: the deadline still holds -> exit 6" {
	start_fake_ami --hostile event-flood
	timed_run ami ping -t 1
	assert_failure 6
	assert_stderr "timed out after 1.0 s waiting for the response to Ping"
	within 3
}

# ---- a server that stops reading ---------------------------------------------------

@test "the server stops reading, the action fits its buffers -> exit 6" {
	start_fake_ami --hostile no-read
	big_action_args
	timed_run ami action "${BIG[@]}" -t 1
	assert_failure 6
	assert_stderr "timed out after 1.0 s waiting for the response to UserEvent"
	within 3
}

# Linux grows a socket's send buffer up to 4 MiB, more than any AMI action
# holds, so our write only blocks with smaller buffers: a network namespace
# of the test's own (root only) gets tcp_wmem/tcp_rmem of 4 KiB.
netns_start() {
	[[ $EUID -eq 0 ]] || skip "needs root for a network namespace"
	command -v unshare >/dev/null && command -v nsenter >/dev/null ||
		skip "needs unshare and nsenter (util-linux)"
	unshare -n sleep 60 3>&- &
	NS_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(readlink "/proc/$NS_PID/ns/net") != "$(readlink /proc/self/ns/net)" ]] && break
		kill -0 "$NS_PID" 2>/dev/null || skip "cannot make a network namespace here"
		sleep 0.02
	done
	nsenter -t "$NS_PID" -n python3 -c '
import fcntl, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # SIOCSIFFLAGS lo: UP|LOOPBACK|RUNNING
fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40))' ||
		skip "cannot bring up lo in a network namespace"
	nsenter -t "$NS_PID" -n sh -c 'echo "4096 4096 4096" >/proc/sys/net/ipv4/tcp_wmem &&
		echo "4096 4096 4096" >/proc/sys/net/ipv4/tcp_rmem' ||
		skip "cannot set TCP buffer sizes in a network namespace"
}

netns_stop() {
	if [[ -n ${NS_PID:-} ]]; then
		kill "$NS_PID" 2>/dev/null || true
		wait "$NS_PID" 2>/dev/null || true
		NS_PID=
	fi
}

@test "the server stops reading and our write blocks -> exit 6, no Logoff glued on" {
	netns_start
	# start_fake_ami runs python3: have it start in the namespace.
	python3() { exec nsenter -t "$NS_PID" -n python3 "$@"; }
	start_fake_ami --hostile no-read
	unset -f python3
	big_action_args
	timed_run nsenter -t "$NS_PID" -n ami action "${BIG[@]}" -t 1
	assert_failure 6
	assert_stderr "timed out sending to the server (it stopped reading)"
	# No Logoff after a cut-short write: the deadline alone, no 1 s more.
	within 1.9
}

# ---- HTTP ----------------------------------------------------------------------------

# start_http_server [fake_ami_http.py options...]: the HTTP test server
# (start_fake_ami_http in helper.bash, with --http); its --http-hostile MODE
# answers every request in one bad way. Sets HTTP_URL.
start_http_server() {
	LOG="$BATS_TEST_TMPDIR/ami.log"
	start_fake_ami_http --http --lifetime 60 "$@"
	HTTP_URL="http://127.0.0.1:$HTTP_PORT/"
}

@test "HTTP: status 500 -> exit 7, names the status" {
	start_http_server --http-hostile status-500
	timed_run ami ping -t 2 --url "$HTTP_URL"
	assert_failure 7
	assert_stderr "HTTP 500 Internal Server Error from ${HTTP_URL}rawman"
	within 2
}

@test "HTTP: a redirect loop -> exit 7, redirects are not followed" {
	start_http_server --http-hostile redirect-loop
	timed_run ami ping -t 2 --url "$HTTP_URL"
	assert_failure 7
	assert_stderr "HTTP 302 Found from ${HTTP_URL}rawman to ${HTTP_URL}rawman: ami does not follow redirects"
	within 2
}

@test "HTTP: a wrong Content-Type (an HTML page) -> exit 7" {
	start_http_server --http-hostile html
	timed_run ami ping -t 2 --url "$HTTP_URL"
	assert_failure 7
	assert_stderr "answered with Content-Type text/html, not text/plain"
	within 2
}

@test "HTTP: a chunked body cut short -> exit 5" {
	start_http_server --http-hostile truncated-chunked
	timed_run ami ping -t 2 --url "$HTTP_URL"
	assert_failure 5
	assert_stderr "HTTP request to ${HTTP_URL}rawman failed: transfer closed with outstanding read data remaining"
	within 2
}
