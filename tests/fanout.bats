#!/usr/bin/env bats
# Many PBXes at once: -p pbx1,pbx2 and -p @group for ping, action, command
# and tail-events (cmd/parts/fanout.c): one child ami per profile, records tagged
# with AmiProfile and never interleaved, exit codes, signals, no child left.

load helper

PIDS=()

# start_pbx NAME [fake_ami.py options]: a test server of its own for the
# profile NAME (log $BATS_TEST_TMPDIR/NAME.log), added to the config.
start_pbx() {
	local name=$1 out="$BATS_TEST_TMPDIR/$1.out" i words=()
	shift
	: >"$out"
	python3 "$FAKE_AMI" --lifetime 120 --log "$BATS_TEST_TMPDIR/$name.log" \
		--violations "$BATS_TEST_TMPDIR/$name.violations" "$@" \
		>"$out" 2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
	PIDS+=($!)
	for ((i = 0; i < 200; i++)); do
		read -r -a words <"$out" && [ "${words[0]:-}" = READY ] && break
		sleep 0.05
	done
	[ "${words[0]:-}" = READY ] || { cat "$BATS_TEST_TMPDIR/$name.err"; return 1; }
	add_profile "$name" "${words[1]}"
}

# add_profile NAME PORT [USER]
add_profile() {
	printf '[%s]\nhost = 127.0.0.1\nport = %s\nusername = %s\n' "$1" "$2" "${3:-hello}" \
		>>"$BATS_TEST_TMPDIR/profiles"
	write_profile <"$BATS_TEST_TMPDIR/profiles"
}

add_group() {     # add_group NAME "a, b, @c"
	printf '[%s]\nprofiles = %s\n' "$1" "$2" >>"$BATS_TEST_TMPDIR/profiles"
	write_profile <"$BATS_TEST_TMPDIR/profiles"
}

setup() {
	setup_common
	: >"$BATS_TEST_TMPDIR/profiles"
	unset AMI_HOST AMI_USER     # the profiles say which host and user
	CFG="$XDG_CONFIG_HOME/ami/config"
}

teardown() {
	local p v rc=0
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for v in "$BATS_TEST_TMPDIR"/*.violations; do
		[ -s "$v" ] || continue
		echo "the client broke the AMI protocol (${v##*/}):"
		cat "$v"
		rc=1
	done
	stop_fake_ami || rc=1
	return $rc
}

# profiles_in TEXT: the AmiProfile of each json line, in order.
profiles_in() {
	python3 -c 'import json, sys
print(" ".join(json.loads(l)["AmiProfile"] for l in sys.argv[1].splitlines()))' "$1"
}

# no_child_left: no ami started with this test's config (--config $CFG,
# which every child has in its arguments too) is still running.
no_child_left() {
	local i
	for ((i = 0; i < 60; i++)); do
		pgrep -f -- "--config $CFG" >/dev/null || return 0
		sleep 0.05
	done
	echo "still running:"
	pgrep -af -- "--config $CFG"
	return 1
}

@test "a list and a group: every profile at once, tagged, in the order named" {
	start_pbx pbx1
	start_pbx pbx2
	start_pbx branch3
	add_group @office "pbx1, pbx2"
	run --separate-stderr ami -p branch3,@office ping
	assert_success
	assert_equal "${#lines[@]}" 3
	[[ ${lines[0]} =~ ^branch3:\ pong\ from\ 127\.0\.0\.1: ]]
	[[ ${lines[1]} =~ ^pbx1:\ \ \ \ pong\ from ]]       # names padded to one width
	[[ ${lines[2]} =~ ^pbx2:\ \ \ \ pong\ from ]]
	assert_equal "$stderr" ""
	AMI_PROFILE=@office run ami ping -j
	assert_success
	assert_equal "$(profiles_in "$output")" "pbx1 pbx2"
}

@test "groups nest, @all is every profile, config --list shows the groups" {
	start_pbx a
	start_pbx b
	start_pbx c
	add_group @ab "a, b"
	add_group @all-sites "@ab, c, a"
	run ami config --list
	assert_success
	assert_output "a
b
c
@all = a, b, c
@ab = a, b
@all-sites = a, b, c"
	run ami -p @all-sites -j action Ping
	assert_success
	assert_equal "$(profiles_in "$output")" "a b c"
	run ami -p @all -j action Ping
	assert_success
	assert_equal "$(profiles_in "$output")" "a b c"
}

@test "a cycle, an unknown profile or group, [@all] defined, an empty name: exit 3 naming it" {
	add_profile a 5038
	add_group @x "a, @y"
	add_group @y "@x"
	run --separate-stderr ami -p @x ping
	assert_failure 3
	[[ $stderr == *"group @x names itself"* ]]
	run --separate-stderr ami -p a,nosuch ping
	assert_failure 3
	[[ $stderr == *'unknown profile "nosuch"'* ]]
	run --separate-stderr ami -p @nogroup ping
	assert_failure 3
	[[ $stderr == *'unknown group "@nogroup"'* ]]
	run --separate-stderr ami -p a,,a ping
	assert_failure 3
	[[ $stderr == *"an empty profile name"* ]]
	printf '[@all]\nprofiles = a\n' >>"$BATS_TEST_TMPDIR/profiles"
	write_profile <"$BATS_TEST_TMPDIR/profiles"
	run --separate-stderr ami -p @all ping
	assert_failure 3
	[[ $stderr == *"[@all] cannot be defined"* ]]
}

@test "tagging: json first key, text prefix on every line, raw header after the first line" {
	start_pbx p1
	start_pbx longer-name
	run ami -p p1,longer-name -j action CoreStatus
	assert_success
	python3 - "$output" <<'EOF'
import json, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines()]
assert [r["AmiProfile"] for r in rows] == ["p1", "longer-name"], rows
assert all(list(r)[0] == "AmiProfile" and r["Response"] == "Success" for r in rows)
EOF
	run ami -p p1,longer-name action CoreStatus
	assert_success
	# every line, blank ones too, carries its profile, padded to one width
	run grep -cvE '^(p1:          |longer-name: )' <<<"$output"
	assert_output 0
	ami -p p1,longer-name --format raw action CoreStatus >"$BATS_TEST_TMPDIR/raw"
	python3 - "$BATS_TEST_TMPDIR/raw" <<'EOF'
import sys
blocks = [b for b in open(sys.argv[1], "rb").read().split(b"\r\n\r\n") if b]
assert len(blocks) == 2, blocks
for b, name in zip(blocks, [b"p1", b"longer-name"]):
    lines = b.split(b"\r\n")
    assert lines[0] == b"Response: Success", lines
    assert lines[1] == b"AmiProfile: " + name, lines
EOF
}

# Each server sends a ~500 KiB EventList; three at once must come out as
# three whole units, each profile's blocks together and complete.
@test "no interleaving: three 500 KiB lists at once, in raw and json" {
	local n
	for n in s1 s2 s3; do start_pbx "$n" --channels 1200; done
	ami -p s1,s2,s3 --format raw action CoreShowChannels >"$BATS_TEST_TMPDIR/raw"
	python3 - "$BATS_TEST_TMPDIR/raw" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
assert len(data) > 3 * 500 * 1024, len(data)
blocks = [b for b in data.split(b"\r\n\r\n") if b]
tags = [b.split(b"\r\n")[1] for b in blocks]
runs = [t for i, t in enumerate(tags) if i == 0 or t != tags[i - 1]]
assert runs == [b"AmiProfile: s1", b"AmiProfile: s2", b"AmiProfile: s3"], runs
for b in blocks:
    assert sum(l.startswith(b"AmiProfile: ") for l in b.split(b"\r\n")) == 1
    assert b.startswith((b"Event: CoreShowChannel", b"Response: Success"))
EOF
	ami -p s1,s2,s3 -j action CoreShowChannels >"$BATS_TEST_TMPDIR/json"
	python3 - "$BATS_TEST_TMPDIR/json" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
names = [r["AmiProfile"] for r in rows]
assert names == sorted(names) and len(set(names)) == 3, "interleaved"
assert sum(r.get("Event") == "CoreShowChannel" for r in rows) == 3 * 1200
EOF
}

@test "answers in the order named by default, with --unordered as each completes" {
	start_pbx slow --response-delay 1.5
	start_pbx fast
	run ami -p slow,fast action Ping -j
	assert_success
	assert_equal "$(profiles_in "$output")" "slow fast"
	run ami -p slow,fast action Ping -j --unordered
	assert_success
	assert_equal "$(profiles_in "$output")" "fast slow"
}

@test "mixed failures: the first failed profile's status, a line each, a summary" {
	start_pbx ok1
	start_pbx ok2
	add_profile badauth "$(awk '/^port/{print $3; exit}' "$CFG")" nobody
	add_profile down "$(free_port)"
	run --separate-stderr ami -p ok1,badauth,down,ok2 ping
	assert_failure 4
	assert_equal "${#lines[@]}" 2
	[[ ${lines[0]} == "ok1:     pong from"* && ${lines[1]} == "ok2:     pong from"* ]]
	[[ $stderr == *'badauth: authentication failed for user "nobody"'*"(exit 4)"* ]]
	[[ $stderr == *"down:    cannot connect to 127.0.0.1 port "*"Connection refused (exit 5)"* ]]
	[[ $stderr == *"2 of 4 profiles failed"* ]]
	run --separate-stderr ami -q -p down,ok1,ok2 ping
	assert_failure 5
	assert_output ""        # -q: only the failures
	[[ $stderr == *"down: cannot connect"*"(exit 5)"* ]]
}

@test "a profile down and one that never answers: the run ends in the timeout + 1 s" {
	start_pbx ok
	start_pbx silent --hostile silent-after-banner
	add_profile down "$(free_port)"
	local t0=$SECONDS
	run --separate-stderr ami -t 1 -p ok,silent,down ping
	assert_failure 6
	[[ $stderr == *"silent: "*"(exit 6)"* && $stderr == *"down: "*"(exit 5)"* ]]
	(( SECONDS - t0 <= $(time_bound 3) ))
}

@test "doctor: one whole report per profile, every line tagged; the failed one decides the exit" {
	start_pbx up
	add_profile down "$(free_port)"
	run --separate-stderr ami --config "$CFG" -t 2 -p up,down doctor
	assert_failure 1
	[ "$(grep -c '^up:  *PASS  *login' <<<"$output")" = 1 ]
	[ "$(grep -c '^down: FAIL  *route' <<<"$output")" = 1 ]
	# the reports are whole: every up line before the first down line
	[ "$(grep -o '^[a-z]*:' <<<"$output" | uniq | tr -d '\n')" = "up:down:" ]
	[[ $stderr == *"1 of 2 profiles failed"* ]]
	run ami --config "$CFG" -t 2 -p up,down doctor --json
	[ "$(grep -c '^{"AmiProfile":"down","Check":"route","Status":"FAIL"' <<<"$output")" = 1 ]
}

@test "commands that act on one PBX refuse a list (exit 2); --secret-stdin too" {
	add_profile a 5038
	add_profile b 5038
	local c
	for c in "originate Local/1@x --app Echo" "redirect SIP/1-1 --context c --exten e" \
		"callfile SIP/1 --app Echo --print" "shell" "config"; do
		# shellcheck disable=SC2086
		run --separate-stderr ami -p a,b $c </dev/null
		assert_failure 2
		[[ $stderr == *"acts on one PBX"* ]]
	done
	run --separate-stderr ami -p a,b --secret-stdin ping <<<world
	assert_failure 2
	[[ $stderr == *"--secret-stdin reads one secret"* ]]
}

@test "command: each profile's CLI output as one unit, every line tagged" {
	start_pbx x1
	start_pbx x2
	run ami -p x1,x2 command core show uptime
	assert_success
	[[ ${lines[0]} == "x1: System uptime:"* ]]
	[[ $output == *$'\nx2: System uptime:'* ]]
}

@test "tail-events: streams merged in arrival order, records tagged, --count across them" {
	start_pbx e1 --events 200 --event-rate 400
	start_pbx e2 --events 200 --event-rate 400
	run ami --config "$CFG" -p e1,e2 tail-events -j --count 150
	assert_success
	python3 - "$output" <<'EOF'
import json, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines()]
assert len(rows) == 150, len(rows)
assert {r["AmiProfile"] for r in rows} == {"e1", "e2"}
assert all(list(r)[:2] == ["AmiProfile", "Event"] for r in rows)
EOF
	no_child_left
}

@test "tail-events: --until from any profile ends the merged stream; raw and text tagged" {
	start_pbx e1 --events 50
	start_pbx e2
	run ami --config "$CFG" -p e1,e2 tail-events --format raw --until StreamDone
	assert_success
	[[ $output == *$'Event: StreamDone\r\nAmiProfile: e1\r\n'* ]]
	run ami --config "$CFG" -p e1,e2 tail-events --until StreamDone
	assert_success
	[[ ${lines[-1]} =~ ^e1:\ [0-9:.]+\ StreamDone$ ]]
	no_child_left
}

@test "tail-events: a server killed mid-stream ends its own stream only (AmiDisconnected)" {
	start_pbx keep --events 100000 --event-rate 200
	start_pbx lost --events 100000 --event-rate 200
	ami --config "$CFG" -p keep,lost tail-events -j >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local tail=$!
	wait_file "$BATS_TEST_TMPDIR/out" '"AmiProfile":"lost"'
	kill "${PIDS[1]}"
	wait_file "$BATS_TEST_TMPDIR/out" '"AmiProfile":"lost","Event":"AmiDisconnected"'
	local n
	n=$(grep -c '"AmiProfile":"keep"' "$BATS_TEST_TMPDIR/out")
	wait_file "$BATS_TEST_TMPDIR/out" "\"AmiProfile\":\"keep\".*" 5
	sleep 0.5
	(( $(grep -c '"AmiProfile":"keep"' "$BATS_TEST_TMPDIR/out") > n ))  # keep goes on
	kill -INT "$tail"
	wait "$tail" || RC=$?
	assert_equal "${RC:-0}" 130
	grep -q '^lost: .*connection' "$BATS_TEST_TMPDIR/err"
	no_child_left
}

@test "tail-events --reconnect: a lost server comes back, the gap marker tagged" {
	start_pbx steady --events 100000 --event-rate 100
	start_pbx flaky --events 100000 --event-rate 100
	local port
	port=$(awk '/^\[flaky\]/{f=1} f && /^port/{print $3; exit}' "$CFG")
	ami --config "$CFG" -p steady,flaky tail-events -j --reconnect >"$BATS_TEST_TMPDIR/out" 2>/dev/null &
	local tail=$!
	wait_file "$BATS_TEST_TMPDIR/out" '"AmiProfile":"flaky","Event":"[^"]*","Privilege"'
	kill "${PIDS[1]}"
	wait "${PIDS[1]}" 2>/dev/null || true
	start_pbx back --port "$port" --events 100000 --event-rate 100
	wait_file "$BATS_TEST_TMPDIR/out" '"AmiProfile":"flaky","Event":"AmiReconnect"' 40
	kill -TERM "$tail"
	wait "$tail" || true
	refute grep -q '"AmiProfile":"flaky","Event":"AmiDisconnected"' "$BATS_TEST_TMPDIR/out"
	no_child_left
}

@test "Ctrl-C and | head -1 with 10 profiles: every child logs off, none is left behind" {
	local i
	start_pbx p0 --events 100000 --event-rate 50
	for i in 1 2 3 4 5 6 7 8 9; do
		add_profile "p$i" "$(awk '/^port/{print $3; exit}' "$CFG")"
	done
	ami --config "$CFG" -p @all tail-events -j >/dev/null 2>&1 &
	local tail=$!
	wait_file "$BATS_TEST_TMPDIR/p0.log" '(RECV Events.*){1}' 5
	for ((i = 0; i < 100; i++)); do
		(( $(grep -c 'RECV Events' "$BATS_TEST_TMPDIR/p0.log") >= 10 )) && break
		sleep 0.05
	done
	kill -INT "$tail"
	wait "$tail" || RC=$?
	assert_equal "${RC:-0}" 130
	no_child_left
	assert_equal "$(grep -c 'RECV Logoff' "$BATS_TEST_TMPDIR/p0.log")" 10
	run bash -c 'ami --config "$1" -p @all tail-events -j | head -n 1' _ "$CFG"
	assert_success
	[[ $output == '{"AmiProfile":"p'* ]]
	no_child_left
}
