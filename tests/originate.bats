#!/usr/bin/env bats
# ami originate against the test server: targets, every Originate header,
# --wait for answered / busy / no answer / failed / timed-out calls,
# --wait=hangup, --sync, JSON, Variable escaping, and every usage error.
load helper

setup() { setup_common; }
teardown() { stop_fake_ami; }

log() { cat "$BATS_TEST_TMPDIR/ami.log"; }

# The Originate line of the server's log (the last one).
sent() { grep "RECV Originate" "$BATS_TEST_TMPDIR/ami.log" | tail -n 1; }

# True when the server's log has an Originate with header NAME=VALUE.
sent_has() { sent | grep -qF -- " $1"; }

# Nothing reached the server: a usage error must stop before connecting.
assert_nothing_sent() {
	! grep -q "RECV Originate" "$BATS_TEST_TMPDIR/ami.log" 2>/dev/null
}

# --- targets and the wire ------------------------------------------------------

@test "context/exten target with --wait: answered, exit 0, Async and ChannelId sent" {
	start_fake_ami
	run --separate-stderr ami originate Local/100@from-internal --context default --exten 200 --wait
	assert_success
	assert_output --regexp '^answered: Local/100@from-internal-[0-9a-f]{8};1 uniqueid=ami-[0-9]+-[0-9]+-1 reason=4 \(answered\)$'
	assert_equal "$stderr" ""
	sent_has "Channel=Local/100@from-internal"
	sent_has "Context=default"
	sent_has "Exten=200"
	sent_has "Priority=1"
	sent_has "Async=true"
	sent | grep -qE " ChannelId=ami-[0-9]+-[0-9]+-1( |$)"
}

@test "the issue's example: --wait && echo answered" {
	start_fake_ami
	run bash -c 'ami -q originate Local/100@from-internal --context default --exten 200 --wait && echo answered'
	assert_success
	assert_output answered
}

@test "the uniqueid printed is the ChannelId sent" {
	start_fake_ami
	run ami originate Local/100@test --app Wait --data 5 --wait
	assert_success
	local id=${output#*uniqueid=}
	id=${id%% *}
	sent_has "ChannelId=$id"
}

@test "application target: Application and Data, no Context" {
	start_fake_ami
	run ami originate Local/100@test --app Playback --data tt-weasels --wait
	assert_success
	sent_has "Application=Playback"
	sent_has "Data=tt-weasels"
	! sent | grep -q "Context="
}

@test "--priority: a number and a label are sent as given" {
	start_fake_ami
	run ami originate Local/1@test --context test --exten 200 --priority 3
	assert_success
	sent_has "Priority=3"
	# The test server has no dialplan labels: it answers like Asterisk
	# does for a label it cannot find.
	run --separate-stderr ami originate Local/1@test --context test --exten 200 --priority start
	assert_failure 1
	sent_has "Priority=start"
	assert_equal "$stderr" "ami originate: Invalid priority"
}

@test "without --wait: queued, exit 0, no ChannelId, logged in with Events: off" {
	start_fake_ami
	run --separate-stderr ami originate Local/100@test --app Wait --data 5
	assert_success
	assert_output "queued: Local/100@test"
	if sent | grep -q "ChannelId="; then fail "a ChannelId was sent without --wait: $(sent)"; fi
	grep "RECV Login" "$BATS_TEST_TMPDIR/ami.log" | grep -q "Events=off"
}

@test "with --wait: logged in with Events: call" {
	start_fake_ami
	run ami originate Local/100@test --app Wait --wait
	assert_success
	grep "RECV Login" "$BATS_TEST_TMPDIR/ami.log" | grep -q "Events=call"
}

@test "every option becomes its Originate header" {
	start_fake_ami
	run ami originate PJSIP/100 --context test --exten 200 --priority 2 \
		--callerid '"Wake-up" <700>' --ring-timeout 2.5 --var A=1 --var B=2 \
		--account acct42 --codecs ulaw,alaw --early-media --channel-id my-id-1 \
		--other-channel-id my-id-2 --predial-gosub sub,s,1 -q
	assert_success
	sent_has 'CallerID="Wake-up" <700>'
	sent_has "Timeout=2500"
	sent_has "Variable=A=1 Variable=B=2"
	sent_has "Account=acct42"
	sent_has "Codecs=ulaw,alaw"
	sent_has "EarlyMedia=true"
	sent_has "ChannelId=my-id-1"
	sent_has "OtherChannelId=my-id-2"
	sent_has "PreDialGoSub=sub,s,1"
	sent_has "Async=true"
}

@test "--channel-id given is used by --wait (no second id is made up)" {
	start_fake_ami
	run ami originate Local/100@test --app Wait --channel-id call-7 --wait
	assert_success
	assert_output --regexp ' uniqueid=call-7 reason=4 '
	assert_equal "$(sent | grep -o 'ChannelId=[^ ]*')" "ChannelId=call-7"
}

@test "without --ring-timeout no Timeout header is sent (Asterisk's 30 s default)" {
	start_fake_ami
	run ami originate Local/100@test --app Wait
	assert_success
	! sent | grep -q "Timeout="
}

# --- Variable escaping -------------------------------------------------------------

@test "--var: commas, quotes, backslashes, parentheses are escaped on the wire" {
	start_fake_ami
	run ami originate Local/100@test --app Wait --var 'E2E=a,b "c" \d (e) [f]'
	assert_success
	sent_has 'Variable=E2E=a\,b \"c\" \\d \(e\) \[f\]'
}

@test "--var: the value stored by the server is exactly what was typed" {
	start_fake_ami
	local v ch got
	for v in 'a,b,c' 'say "hi, there"' 'c:\dir,x' 'x,OTHER=y' 'a=b=c' \
		'  spaced  value ' '(open,[x]' 'end\' '"' ')(,' 'café, ü'; do
		run ami originate Local/keep@test --app Wait --var "E2E=$v" --wait
		assert_success
		ch=$(awk '{ print $2 }' <<<"$output")
		run ami action Getvar "Channel=$ch" Variable=E2E --json
		assert_success
		got=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["Value"], end="")' "$output")
		assert_equal "$got" "$v"
	done
}

@test "--var: a value with a comma does not set a second variable" {
	start_fake_ami
	run ami originate Local/keep@test --app Wait --var 'E2E=x,OTHER=y' --wait
	assert_success
	local ch
	ch=$(awk '{ print $2 }' <<<"$output")
	run ami action Getvar "Channel=$ch" Variable=OTHER
	assert_success
	assert_line --regexp '^Value: *$'
}

# --- outcomes ------------------------------------------------------------------------

@test "busy: exit 1, reason 5 on stderr, nothing on stdout" {
	start_fake_ami
	run --separate-stderr ami originate Local/busy@test --app Wait --wait
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "ami originate: not answered: Local/busy@test uniqueid=$(sent | grep -o 'ChannelId=[^ ]*' | cut -d= -f2) reason=5 (busy)"
}

@test "no answer: exit 1, reason 3 (ringing), Timeout in ms" {
	start_fake_ami
	run --separate-stderr ami originate Local/noanswer@test --app Wait --ring-timeout 0.3 --wait
	assert_failure 1
	sent_has "Timeout=300"
	[[ $stderr == *"reason=3 (ringing)"* ]]
}

@test "congestion: exit 1, reason 8 (congested)" {
	start_fake_ami
	run --separate-stderr ami originate Local/congest@test --app Wait --wait
	assert_failure 1
	[[ $stderr == *"reason=8 (congested)"* ]]
}

@test "failed calls: exit 1, reason 0, the dial string as the channel" {
	start_fake_ami
	local chan
	for chan in Local/fail@test Local/hangup@test Local/nonexistent@test Bogus/thing; do
		run --separate-stderr ami originate "$chan" --app Wait --wait
		assert_failure 1
		[[ $stderr == "ami originate: not answered: $chan uniqueid="*" reason=0 (failed)" ]]
	done
}

@test "Asterisk refuses the action: its message on stderr, exit 1" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --context test --exten nonexistent --wait
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "ami originate: Extension does not exist."
}

@test "permission denied: exit 1" {
	start_fake_ami
	AMI_SECRET=limited run --separate-stderr ami -u limited originate Local/1@test --app Wait
	assert_failure 1
	assert_equal "$stderr" "ami originate: Permission denied"
}

@test "-t before the answer: exit 6, says it waited for the OriginateResponse" {
	start_fake_ami
	run --separate-stderr ami originate Local/slow@test --app Wait --wait -t 0.3
	assert_failure 6
	assert_output ""
	[[ $stderr == *"timed out after 0."*" s waiting for the OriginateResponse event"* ]]
}

@test "-t before the hangup: the answer is printed, then exit 6" {
	start_fake_ami
	run --separate-stderr ami originate Local/keep@test --app Wait --wait=hangup -t 0.5
	assert_failure 6
	assert_output --regexp '^answered: Local/keep@test-[0-9a-f]{8};1 uniqueid=.* reason=4 \(answered\)$'
	[[ $stderr == *"waiting for Local/keep@test-"*";1 (uniqueid ami-"*") to hang up" ]]
}

@test "--wait=hangup: answered, then the hangup with its cause" {
	start_fake_ami
	run --separate-stderr ami originate Local/short@test --app Wait --wait=hangup
	assert_success
	assert_line --index 0 --regexp '^answered: Local/short@test-[0-9a-f]{8};1 uniqueid=ami-[^ ]+ reason=4 \(answered\)$'
	assert_line --index 1 --regexp '^hangup: Local/short@test-[0-9a-f]{8};1 uniqueid=ami-[^ ]+ cause=16 \(Normal Clearing\)$'
	assert_equal "${#lines[@]}" 2
}

@test "--wait=hangup of a call that fails: exit 1 at once" {
	start_fake_ami
	run --separate-stderr ami originate Local/busy@test --app Wait --wait=hangup -t 5
	assert_failure 1
	[[ $stderr == *"reason=5 (busy)"* ]]
}

@test "--wait=answer is the same as --wait" {
	start_fake_ami
	run ami originate Local/100@test --app Wait --wait=answer
	assert_success
	assert_output --partial "answered: "
}

@test "-q with --wait: nothing printed, the exit code says it" {
	start_fake_ami
	run --separate-stderr ami -q originate Local/100@test --app Wait --wait
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
}

@test "the connection is lost while waiting: exit 5" {
	start_fake_ami --lifetime 2
	run --separate-stderr ami originate Local/keep@test --app Wait --wait=hangup
	assert_failure 5
}

# --- --sync --------------------------------------------------------------------------

@test "--sync sends Async: false and reports the answer" {
	start_fake_ami
	run --separate-stderr ami originate Local/100@test --app Wait --sync
	assert_success
	sent_has "Async=false"
	assert_output --regexp '^answered: Local/100@test uniqueid=ami-[^ ]+ reason=4 \(answered\)$'
	grep "RECV Login" "$BATS_TEST_TMPDIR/ami.log" | grep -q "Events=off"
}

@test "--sync failure: Asterisk's Originate failed, exit 1" {
	start_fake_ami
	run --separate-stderr ami originate Local/busy@test --app Wait --sync
	assert_failure 1
	assert_equal "$stderr" "ami originate: Originate failed"
}

@test "--sync --wait=hangup follows the call to its end" {
	start_fake_ami
	run ami originate Local/short@test --app Wait --sync --wait=hangup
	assert_success
	assert_line --index 1 --partial "cause=16 (Normal Clearing)"
}

@test "--sync with -t shorter than the ring: exit 6, waiting for the response" {
	start_fake_ami
	run --separate-stderr ami originate Local/slow@test --app Wait --sync -t 0.3
	assert_failure 6
	[[ $stderr == *"waiting for the response to Originate"* ]]
}

# --- output formats ------------------------------------------------------------------

@test "--json without --wait prints the response" {
	start_fake_ami
	run ami originate Local/100@test --app Wait --json
	assert_success
	assert_output --regexp '^\{"Response":"Success","ActionID":"[^"]+","Message":"Originate successfully queued"\}$'
}

@test "--json --wait prints one object with the outcome" {
	start_fake_ami
	run ami originate Local/100@test --app Wait --wait --channel-id j1 --json
	assert_success
	assert_output --regexp '^\{"response":"Success","channel":"Local/100@test-[0-9a-f]{8};1","uniqueid":"j1","reason":4,"reason_text":"answered","cause":null,"cause_txt":null\}$'
}

@test "--json --wait=hangup adds the cause" {
	start_fake_ami
	run ami originate Local/short@test --app Wait --wait=hangup --json
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_output --partial '"reason":4,"reason_text":"answered","cause":16,"cause_txt":"Normal Clearing"}'
}

@test "--json --wait of a busy call: the object on stdout, exit 1" {
	start_fake_ami
	run --separate-stderr ami originate Local/busy@test --app Wait --wait --json
	assert_failure 1
	assert_output --partial '"response":"Failure","channel":"Local/busy@test"'
	assert_output --partial '"reason":5,"reason_text":"busy"'
}

@test "--json of a refused action prints Asterisk's response" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --context test --exten nonexistent --json
	assert_failure 1
	assert_output --partial '"Response":"Error"'
	assert_output --partial '"Message":"Extension does not exist."'
}

@test "--format raw --wait prints the response and the OriginateResponse" {
	start_fake_ami
	run ami originate Local/100@test --app Wait --wait --format raw
	assert_success
	assert_output --partial $'Message: Originate successfully queued\r'
	assert_output --partial $'Event: OriginateResponse\r'
	assert_output --partial $'Reason: 4\r'
}

# --- warnings ------------------------------------------------------------------------

@test "--predial-gosub warns that async originates ignore it; -q hides it" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --context test --exten 200 --predial-gosub s,1,1
	assert_success
	[[ $stderr == *"ignores --predial-gosub with an async originate"* ]]
	run --separate-stderr ami -q originate Local/1@test --context test --exten 200 --predial-gosub s,1,1
	assert_success
	assert_equal "$stderr" ""
}

@test "--predial-gosub with an application warns; with --sync and a dialplan target not" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --app Wait --sync --predial-gosub s,1,1
	assert_success
	[[ $stderr == *"ignores --predial-gosub when the target is an application"* ]]
	run --separate-stderr ami originate Local/1@test --context test --exten 200 --sync --predial-gosub s,1,1
	assert_success
	assert_equal "$stderr" ""
	sent_has "PreDialGoSub=s,1,1"
}

@test "applications and data on Asterisk's originate blacklist: a warning, still sent" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --app System --data 'echo hi'
	assert_success
	[[ $stderr == *'"system" write permission'* ]]
	sent_has "Application=System"
	run --separate-stderr ami originate Local/1@test --app Playback --data '${FILE(/etc/passwd)}'
	assert_success
	[[ $stderr == *'--data contains "FILE"'* ]]
	run --separate-stderr ami originate Local/1@test --app Queue --data 'support,,,,,agi-script'
	assert_success
	[[ $stderr == *"Queue with an AGI script"* ]]
	run --separate-stderr ami -q originate Local/1@test --app TrySystem --data x
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr ami originate Local/1@test --app Playback --data hello
	assert_equal "$stderr" ""
}

# --- usage errors: exit 2, nothing sent ------------------------------------------------

@test "usage: no channel" {
	start_fake_ami
	run --separate-stderr ami originate --app Wait
	assert_failure 2
	[[ $stderr == "ami originate: no channel given"* ]]
	assert_nothing_sent
}

@test "usage: no target says what to give" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test
	assert_failure 2
	[[ $stderr == *"no target: give --app APP [--data DATA], or --context C --exten E [--priority P]"* ]]
	assert_nothing_sent
}

@test "usage: both targets" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --app Wait --context c --exten e
	assert_failure 2
	[[ $stderr == *"give either --app or --context/--exten, not both"* ]]
	assert_nothing_sent
}

@test "usage: a half-given context/exten" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --context c
	assert_failure 2
	[[ $stderr == *"--context needs --exten E too"* ]]
	run --separate-stderr ami originate Local/1@test --exten e --priority 1
	assert_failure 2
	[[ $stderr == *"--exten needs --context C too"* ]]
	assert_nothing_sent
}

@test "usage: --data without --app, --priority without a dialplan target" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --context c --exten e --data x
	assert_failure 2
	[[ $stderr == *"--data goes with --app APP"* ]]
	run --separate-stderr ami originate Local/1@test --app Wait --priority 2
	assert_failure 2
	[[ $stderr == *"--priority goes with --context and --exten"* ]]
	assert_nothing_sent
}

@test "usage: a channel without Tech/" {
	start_fake_ami
	run --separate-stderr ami originate PJSIP100 --app Wait
	assert_failure 2
	[[ $stderr == *"CHANNEL must be Tech/resource"* ]]
	run --separate-stderr ami originate /100 --app Wait
	assert_failure 2
	assert_nothing_sent
}

@test "usage: bad priorities" {
	start_fake_ami
	local p
	for p in 0 2x -1 +3 ''; do
		run --separate-stderr ami originate Local/1@test --context c --exten e --priority "$p"
		assert_failure 2
	done
	assert_nothing_sent
}

@test "usage: bad --ring-timeout" {
	start_fake_ami
	local t
	for t in 0 -1 abc 1s ''; do
		run --separate-stderr ami originate Local/1@test --app Wait --ring-timeout "$t"
		assert_failure 2
		[[ $stderr == *"--ring-timeout"* ]]
	done
	assert_nothing_sent
}

@test "usage: --var without NAME=" {
	start_fake_ami
	local v
	for v in novalue =x ''; do
		run --separate-stderr ami originate Local/1@test --app Wait --var "$v"
		assert_failure 2
		[[ $stderr == *"--var: expected NAME=VALUE"* ]]
	done
	assert_nothing_sent
}

@test "usage: CR or LF in any value is refused" {
	start_fake_ami
	local opt val=$'x\r\nAction: Hangup'
	run --separate-stderr ami originate Local/1@test --app "$val"
	assert_failure 2
	[[ $stderr == "ami originate: --app contains a carriage return (CR); refusing to send it"* ]]
	for opt in --data --callerid --account --channel-id --other-channel-id --predial-gosub; do
		run --separate-stderr ami originate Local/1@test --app Wait "$opt" "$val"
		assert_failure 2
		[[ $stderr == "ami originate: $opt contains a carriage return (CR); refusing to send it"* ]]
	done
	run --separate-stderr ami originate Local/1@test --app Wait --var $'V=x\nAction: Hangup'
	assert_failure 2
	[[ $stderr == "ami originate: --var contains a line feed (LF); refusing to send it"* ]]
	run --separate-stderr ami originate $'Local/1@test\r' --app Wait
	assert_failure 2
	[[ $stderr == "ami originate: CHANNEL contains a carriage return (CR)"* ]]
	run --separate-stderr ami originate Local/1@test --context $'c\n' --exten e
	assert_failure 2
	[[ $stderr == "ami originate: --context contains a line feed (LF)"* ]]
	run --separate-stderr ami originate Local/1@test --context c --exten $'e\n'
	assert_failure 2
	run --separate-stderr ami originate Local/1@test --context c --exten e --priority $'1\n'
	assert_failure 2
	assert_nothing_sent
}

@test "usage: --channel-id longer than Asterisk's 149 characters" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --app Wait --channel-id "$(printf 'x%.0s' {1..150})"
	assert_failure 2
	[[ $stderr == *"longer than Asterisk's limit of 149"* ]]
	run --separate-stderr ami originate Local/1@test --app Wait --other-channel-id ''
	assert_failure 2
	run ami originate Local/1@test --app Wait --channel-id "$(printf 'x%.0s' {1..149})" -q
	assert_success
}

@test "usage: --codecs must be a list of codec names" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --app Wait --codecs 'ulaw alaw'
	assert_failure 2
	[[ $stderr == *"--codecs: expected a comma list"* ]]
	assert_nothing_sent
}

@test "usage: --wait with an unknown value, and --wait hangup without =" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --app Wait --wait=forever
	assert_failure 2
	[[ $stderr == *'--wait: expected answer or hangup, not "forever"'* ]]
	run --separate-stderr ami originate Local/1@test --app Wait --wait hangup
	assert_failure 2
	[[ $stderr == *'(write --wait=hangup)'* ]]
	assert_nothing_sent
}

@test "usage: a value beyond Asterisk's 1024-byte line or 128 headers" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test --app Wait --data "$(printf 'x%.0s' {1..1100})"
	assert_failure 2
	[[ $stderr == *"Asterisk accepts at most 1024"* ]]
	local args=() i
	for ((i = 0; i < 130; i++)); do args+=(--var "V$i=x"); done
	run --separate-stderr ami originate Local/1@test --app Wait "${args[@]}"
	assert_failure 2
	assert_nothing_sent
}

@test "usage: an extra argument, an unknown option" {
	start_fake_ami
	run --separate-stderr ami originate Local/1@test Local/2@test --app Wait
	assert_failure 2
	[[ $stderr == *'unexpected argument "Local/2@test"'* ]]
	run --separate-stderr ami originate Local/1@test --app Wait --bogus
	assert_failure 2
	assert_nothing_sent
}

@test "--help prints the usage and exits 0 without connecting" {
	run ami originate --help
	assert_success
	assert_line --index 0 --partial "usage: ami originate CHANNEL"
}
