#!/usr/bin/env bats
# ami top without a terminal: --once (text and JSON, every view), the
# snapshot when stdout is not a terminal, --watch, permissions (a refused
# list is named and --once exits 1), HTTP, and the usage and connection
# errors. The live panel is tested on a terminal in top-tty.bats.
load helper

LOG_FILE() { echo "$BATS_TEST_TMPDIR/ami.log"; }

# json_lines: checks that every line of $output is a JSON object with a
# "Type" and prints "Type key=value..." for the keys named in $@.
json_lines() {
	python3 -c '
import json, sys
keys = sys.argv[1:]
for line in sys.stdin:
    o = json.loads(line)
    assert isinstance(o, dict) and list(o)[0] == "Type", line
    print(" ".join([o["Type"]] + ["%s=%s" % (k, o.get(k)) for k in keys]))
' "$@" <<<"$output"
}

# wait_lines ERE N: waits (at most 10 s, scaled) until $BATS_TEST_TMPDIR/out
# has N lines that match.
wait_lines() {
	local i n
	n=$(awk -v s="$(time_bound 10)" 'BEGIN { print int(s * 10) }')
	for ((i = 0; i < n; i++)); do
		[ "$(grep -cE -- "$1" "$BATS_TEST_TMPDIR/out")" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "never $2 lines /$1/ in the output:"
	cat "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err"
	return 1
}

@test "--once: one row per call (a Local pair is one call), with a title line" {
	start_fake_ami --channels 4
	run --separate-stderr ami top --once
	assert_success
	assert_equal "$stderr" ""
	assert_line --index 0 --regexp '^STATE +TIME +FROM +TO +WHERE +CHANNELS$'
	assert_equal "${#lines[@]}" 3
	assert_line --index 1 --regexp '^up +[0-9]{2}:[0-9]{2} .* Wait\(3600\) +Local/loop@test-[0-9a-f]{8};1$'
	grep -q "RECV CoreShowChannels" "$(LOG_FILE)"
	# a snapshot needs no events
	grep -q "RECV Login .*Events=off" "$(LOG_FILE)"
}

@test "stdout not a terminal: a snapshot without --once; an idle PBX prints the titles only" {
	start_fake_ami
	run --separate-stderr ami top
	assert_success
	assert_output --regexp '^STATE +TIME +FROM +TO +WHERE +CHANNELS$'
}

@test "--json: one object per call per line, Type call first, numbers and arrays typed" {
	start_fake_ami --channels 4
	run --separate-stderr ami top --json
	assert_success
	assert_equal "${#lines[@]}" 2
	run json_lines State Application Channels
	assert_success
	assert_line --index 0 --regexp "^call State=up Application=Wait Channels=\['Local/loop@test-[0-9a-f]{8};1', 'Local/loop@test-[0-9a-f]{8};2'\]$"
	run --separate-stderr ami top --once --format json
	assert_success
	run python3 -c 'import json,sys; [print(type(json.loads(l)["Duration"]).__name__) for l in sys.stdin]' <<<"$output"
	assert_output $'int\nint'
}

@test "a caller ID with escape sequences: '?' in the text and the JSON, no control byte out" {
	start_fake_ami
	ami originate Local/loop@test --app Wait --data 60 \
		--callerid $'"Evil\e]0;title\a\xc2\x9b2J" <100>' >/dev/null
	run --separate-stderr ami top --once --view channels
	assert_success
	assert_output --partial '100 Evil?]0;title???2J'
	if LC_ALL=C grep -qaE $'\e|\a|\xc2\x9b' <<<"$output"; then
		fail "control bytes in the snapshot: $(od -c <<<"$output" | head)"
	fi
	run --separate-stderr ami top --json --view channels
	assert_success
	assert_output --partial '"CallerIDName":"Evil?]0;title???2J"'
}

@test "--view channels: one row per channel, text and JSON" {
	start_fake_ami --channels 3
	run --separate-stderr ami top --once --view channels
	assert_success
	assert_line --index 0 --regexp '^CHANNEL +STATE +TIME +CALLERID +CONNECTED +WHERE$'
	assert_equal "${#lines[@]}" 4
	run --separate-stderr ami top --json --view channels
	assert_success
	run json_lines ChannelStateDesc Context
	assert_output $'channel ChannelStateDesc=Up Context=test\nchannel ChannelStateDesc=Up Context=test\nchannel ChannelStateDesc=Up Context=test'
}

@test "--sort name --reverse, --filter: rows ordered and kept by the snapshot" {
	start_fake_ami --channels 6
	run --separate-stderr ami top --once --view channels --sort name
	assert_success
	local first=${lines[1]%% *} last=${lines[6]%% *}
	run --separate-stderr ami top --once --view channels --sort name --reverse
	assert_success
	assert_equal "${lines[1]%% *}" "$last"
	assert_equal "${lines[6]%% *}" "$first"
	run --separate-stderr ami top --once --view channels --filter ";2"
	assert_success
	assert_equal "${#lines[@]}" 4
	refute_output --partial ";1"
	run --separate-stderr ami top --once --view channels --filter "no such thing"
	assert_success
	assert_equal "${#lines[@]}" 1
}

@test "a call originated on the server shows up in the next snapshot" {
	start_fake_ami
	run ami originate Local/loop@test --app Wait --data 60
	assert_success
	run --separate-stderr ami top --json --view channels
	assert_success
	assert_equal "${#lines[@]}" 2
}

@test "a bridged two-party call: caller, callee, bridged, both channels" {
	start_fake_ami --calls 1
	run --separate-stderr ami top --once
	assert_success
	assert_line --index 1 --regexp '^up +[0-9:]+  1000 Alice Jones +1001 Bob Jones +bridged +PJSIP/1000-[0-9a-f]{8} -> PJSIP/1001-[0-9a-f]{8}$'
	run --separate-stderr ami top --json
	run json_lines CallerIDNum CalleeNum CalleeChannel
	assert_output --regexp '^call CallerIDNum=1000 CalleeNum=1001 CalleeChannel=PJSIP/1001-[0-9a-f]{8}$'
}

@test "every view has its rows and Types: conferences, queues, extensions and devices" {
	start_fake_ami --conferences 1 --queue-callers 2
	run --separate-stderr ami top --json --view conferences
	assert_success
	run json_lines Conference Members Channel
	assert_line --index 0 "conference Conference=700 Members=3 Channel=None"
	assert_equal "$(grep -c '^conference_member Conference=700 Members=None Channel=PJSIP/' <<<"$output")" 3
	run --separate-stderr ami top --json --view queues
	assert_success
	run json_lines Queue Position Name Waiting
	assert_line --index 0 "queue Queue=support Position=None Name=None Waiting=2"
	assert_line --index 1 "queue_caller Queue=support Position=1 Name=None Waiting=None"
	assert_line --index 2 "queue_caller Queue=support Position=2 Name=None Waiting=None"
	assert_line --index 3 "queue Queue=sales Position=None Name=None Waiting=0"
	assert_line --index 4 "queue_member Queue=sales Position=None Name=Agent Smith Waiting=None"
	run --separate-stderr ami top --json --view extensions
	assert_success
	run json_lines Exten Status Device
	assert_line --index 0 "extension Exten=100 Status=Unavailable Device=None"
	assert_output --partial "device Exten=None Status=None Device=Custom:lab100"
	run --separate-stderr ami top --once --view calls
	assert_success
	assert_equal "$(grep -cE '^up +[0-9:]+  10[0-9]{2} [A-Za-z ]+ +conference 700 +3 members +PJSIP/10' <<<"$output")" 3
}

@test "--once needs only the view's lists: a refused conference list does not fail the calls" {
	start_fake_ami --calls 1 --conferences 1 --user ops:pw:all:system
	export AMI_USER=ops AMI_SECRET=pw
	run --separate-stderr ami top --once
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 5
	run --separate-stderr ami top --once --view conferences
	assert_failure 1
	assert_equal "$stderr" "ami top: no conferences: ConfbridgeListRooms: Permission denied (manager.conf: write = reporting)"
	start_fake_ami --calls 1 --user ops2:pw:all:call
	AMI_USER=ops2 run --separate-stderr ami top --once
	assert_failure 1
	assert_equal "$stderr" "ami top: no channels: CoreShowChannels: Permission denied (manager.conf: write = system or reporting)"
}

@test "a refused list: named with the manager.conf class, what could be read printed, exit 1" {
	start_fake_ami
	export AMI_USER=limited AMI_SECRET=limited
	run --separate-stderr ami top --once --view extensions
	assert_failure 1
	assert_output --regexp '^EXTENSION / DEVICE +STATE +HINT$'
	assert_equal "$stderr" "ami top: no extensions: ExtensionStateList: Permission denied (manager.conf: write = call or reporting); no devices: DeviceStateList: Permission denied (manager.conf: write = call or reporting)"
}

@test "--watch: a snapshot every interval until SIGINT (130), each with its time" {
	start_fake_ami --channels 2
	ami top --watch 0.2 --json >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! rc=0
	wait_lines '^\{' 3
	kill -INT "$pid"
	wait "$pid" || rc=$?
	assert_equal "$rc" 130
	output=$(cat "$BATS_TEST_TMPDIR/out")
	run json_lines Time
	assert_success
	assert_line --index 0 --regexp '^call Time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2}$'
	[ "${#lines[@]}" -ge 3 ]
	# the session logged in with events on and off again cleanly
	grep -q "RECV Login .*Events=call,agent,dialplan,system" "$(LOG_FILE)"
	wait_log "RECV Logoff"
}

@test "--watch over HTTP: events come by WaitEvent; a call originated later shows in a snapshot" {
	unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	start_fake_ami_http --http --lifetime 60
	local url="http://127.0.0.1:$HTTP_PORT/"
	ami top --watch 0.2 --json --view channels --url "$url" >"$BATS_TEST_TMPDIR/out" \
		2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! rc=0
	wait_log 'RECV WaitEvent'     # the lists are read: what follows comes by events
	ami originate Local/loop@test --app Wait --data 60 --url "$url" >/dev/null
	wait_lines '"Channel":"Local/loop@test-[0-9a-f]{8};2"' 1
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	assert_equal "$rc" 143
	run grep -c 'RECV CoreShowChannels' "$(LOG_FILE)"
	assert_output 1     # the call came by events, not by reading the list again
}

@test "--watch text: '# time' before each snapshot, a blank line between them; SIGTERM 143" {
	start_fake_ami --channels 2
	ami top --watch 0.2 >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! rc=0
	wait_lines '^# ' 2
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	assert_equal "$rc" 143
	# bats drops blank lines from $lines: number them
	run grep -n '' "$BATS_TEST_TMPDIR/out"
	assert_line --index 0 --regexp '^1:# [0-9]{4}-[0-9]{2}-[0-9]{2}T'
	assert_line --index 1 --regexp '^2:STATE +TIME'
	assert_line --index 3 '4:'
	assert_line --index 4 --regexp '^5:# '
}

@test "--once over TCP, TLS and HTTP (cookie and digest) gives the same rows" {
	local pki=$BATS_TEST_TMPDIR
	timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$pki/key.pem" -out "$pki/cert.pem" 2>/dev/null
	unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	start_fake_ami_http --http --tls --cert "$pki/cert.pem" --key "$pki/key.pem" --channels 4 \
		--lifetime 60
	run --separate-stderr ami top --json --view channels --port "$TCP_PORT"
	assert_success
	local tcp=$output
	assert_equal "$(json_lines Channel | wc -l)" 4
	# Under valgrind OpenSSL's start outlasts the test server's 5 s handshake
	# deadline on a loaded machine: the TLS leg runs without valgrind.
	if [ "$VALGRIND_ON" != 1 ]; then
		run --separate-stderr ami top --json --view channels --tls --port "$TLS_PORT" \
			--cacert "$pki/cert.pem"
		assert_success
		assert_equal "$(json_lines Channel)" "$(output=$tcp json_lines Channel)"
	fi
	run --separate-stderr ami top --json --view channels --url "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_equal "$(json_lines Channel)" "$(output=$tcp json_lines Channel)"
	run --separate-stderr ami top --json --view channels --url "http://127.0.0.1:$HTTP_PORT/" \
		--http-auth digest
	assert_success
	assert_equal "$(json_lines Channel)" "$(output=$tcp json_lines Channel)"
}

@test "usage errors exit 2 before connecting" {
	run --separate-stderr ami top --view bogus
	assert_failure 2
	assert_equal "${stderr_lines[0]}" 'ami top: --view: expected calls, channels, conferences, queues or extensions, not "bogus"'
	run --separate-stderr ami top --sort size
	assert_failure 2
	run --separate-stderr ami top --watch 0
	assert_failure 2
	run --separate-stderr ami top --watch soon
	assert_failure 2
	run --separate-stderr ami top --once --watch 1
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "ami top: --once and --watch exclude each other"
	run --separate-stderr ami top --format raw
	assert_failure 2
	run --separate-stderr ami top extra
	assert_failure 2
	run --separate-stderr ami top --events-mask $'call\r\nAction: Hangup'
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "ami top: --events-mask contains a carriage return (CR); refusing to send it"
}

@test "connection refused: exit 5; wrong secret: exit 4" {
	AMI_PORT=$(free_port) run --separate-stderr ami top --once
	assert_failure 5
	start_fake_ami
	AMI_SECRET=wrong run --separate-stderr ami top --once
	assert_failure 4
}

@test "inside ami shell: top prints a snapshot on the shell's session" {
	start_fake_ami --channels 2
	run --separate-stderr ami shell <<<"top --once --json"
	assert_success
	run json_lines State
	assert_output "call State=up"
	assert_equal "$(grep -c 'RECV Login' "$(LOG_FILE)")" 1
}
