#!/usr/bin/env bats
# ami redirect against the test server: one channel, both legs of a call
# (same target and own targets), Asterisk's errors, and every usage error.
load helper

setup() { setup_common; }
teardown() { stop_fake_ami; }

# The Redirect line of the server's log (the last one).
sent() { grep "RECV Redirect" "$BATS_TEST_TMPDIR/ami.log" | tail -n 1; }
sent_has() { sent | grep -qF -- " $1"; }

assert_nothing_sent() {
	! grep -q "RECV Redirect" "$BATS_TEST_TMPDIR/ami.log" 2>/dev/null
}

# Name of the Nth channel of the server (1-based), from the concise CLI list.
chan() {
	ami command core show channels concise | sed -n "${1}p" | cut -d'!' -f1
}

# "context!exten!priority" of channel $1 now.
where() {
	ami command core show channels concise | awk -F'!' -v c="$1" '$1 == c { print $2 "!" $3 "!" $4 }'
}

@test "one channel: Redirect successful, exit 0, the channel moved" {
	start_fake_ami --channels 2
	local ch
	ch=$(chan 2)
	run --separate-stderr ami redirect "$ch" --context park --exten 1234
	assert_success
	assert_output "redirected: $ch to park,1234,1"
	assert_equal "$stderr" ""
	sent_has "Channel=$ch Context=park Exten=1234 Priority=1"
	if sent | grep -q ExtraChannel; then fail "an ExtraChannel was sent for one channel: $(sent)"; fi
	assert_equal "$(where "$ch")" "park!1234!1"
}

@test "--priority: a number, and a label (the server has none: its error, exit 1)" {
	start_fake_ami --channels 2
	local ch
	ch=$(chan 1)
	run ami redirect "$ch" --context park --exten 1234 --priority 3
	assert_success
	sent_has "Priority=3"
	run --separate-stderr ami redirect "$ch" --context park --exten 1234 --priority start
	assert_failure 1
	sent_has "Priority=start"
	assert_equal "$stderr" "ami redirect: Priority is invalid"
}

@test "two channels, one target: both go to the conference" {
	start_fake_ami --channels 4
	local a b
	a=$(chan 2) b=$(chan 4)
	run --separate-stderr ami redirect "$a" --extra-channel "$b" --context confbridge --exten 700
	assert_success
	assert_line --index 0 "redirected: $a to confbridge,700,1"
	assert_line --index 1 "redirected: $b to confbridge,700,1"
	sent_has "Channel=$a Context=confbridge Exten=700 Priority=1 ExtraChannel=$b ExtraContext=confbridge ExtraExten=700 ExtraPriority=1"
	assert_equal "$(where "$a")" "confbridge!700!1"
	assert_equal "$(where "$b")" "confbridge!700!1"
}

@test "two channels, each its own target" {
	start_fake_ami --channels 4
	local a b
	a=$(chan 2) b=$(chan 4)
	run ami redirect "$a" --context ivr --exten s --extra-channel "$b" \
		--extra-context survey --extra-exten start --extra-priority 2
	assert_success
	assert_line --index 1 "redirected: $b to survey,start,2"
	sent_has "ExtraChannel=$b ExtraContext=survey ExtraExten=start ExtraPriority=2"
	assert_equal "$(where "$a")" "ivr!s!1"
	assert_equal "$(where "$b")" "survey!start!2"
}

@test "the extra leg takes what it lacks from the main target" {
	start_fake_ami --channels 4
	local a b
	a=$(chan 2) b=$(chan 4)
	run ami redirect "$a" --context conf --exten 700 --priority 2 --extra-channel "$b" --extra-exten 701
	assert_success
	sent_has "ExtraContext=conf ExtraExten=701 ExtraPriority=2"
}

@test "a channel that does not exist: Asterisk's text on stderr, exit 1" {
	start_fake_ami
	run --separate-stderr ami redirect 'Local/nosuch@test-00000000;1' --context park --exten 1234
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "ami redirect: Channel does not exist: Local/nosuch@test-00000000;1"
}

@test "an extra channel that does not exist: exit 1" {
	start_fake_ami --channels 2
	run --separate-stderr ami redirect "$(chan 1)" --extra-channel 'PJSIP/gone-00000009' \
		--context park --exten 1234
	assert_failure 1
	assert_equal "$stderr" "ami redirect: ExtraChannel does not exist: PJSIP/gone-00000009"
}

@test "--json prints Asterisk's response, also an error" {
	start_fake_ami --channels 4
	run ami redirect "$(chan 2)" --extra-channel "$(chan 4)" --context c --exten 1 --json
	assert_success
	assert_output --regexp '^\{"Response":"Success","ActionID":"[^"]+","Message":"Dual Redirect successful"\}$'
	run --separate-stderr ami redirect 'PJSIP/x-1' --context c --exten 1 --json
	assert_failure 1
	assert_output --partial '"Message":"Channel does not exist: PJSIP/x-1"'
}

@test "--format raw prints the response; -q prints nothing" {
	start_fake_ami --channels 2
	run ami redirect "$(chan 1)" --context c --exten 1 --format raw
	assert_success
	assert_output --partial $'Message: Redirect successful\r'
	run --separate-stderr ami -q redirect "$(chan 1)" --context c --exten 1
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
}

@test "logs in with Events: off" {
	start_fake_ami --channels 2
	run ami redirect "$(chan 1)" --context c --exten 1
	assert_success
	grep "RECV Login" "$BATS_TEST_TMPDIR/ami.log" | tail -n 1 | grep -q "Events=off"
}

# --- usage errors: exit 2, nothing sent ------------------------------------------------

@test "usage: no channel" {
	start_fake_ami
	run --separate-stderr ami redirect --context c --exten e
	assert_failure 2
	[[ $stderr == "ami redirect: no channel given"* ]]
	assert_nothing_sent
}

@test "usage: no target, or half a target" {
	start_fake_ami
	run --separate-stderr ami redirect PJSIP/1-1
	assert_failure 2
	[[ $stderr == *"no target: give --context C --exten E [--priority P]"* ]]
	run --separate-stderr ami redirect PJSIP/1-1 --context c
	assert_failure 2
	[[ $stderr == *"--context needs --exten E too"* ]]
	run --separate-stderr ami redirect PJSIP/1-1 --exten e
	assert_failure 2
	[[ $stderr == *"--exten needs --context C too"* ]]
	assert_nothing_sent
}

@test "usage: --extra-* options without --extra-channel" {
	start_fake_ami
	local opt
	for opt in --extra-context --extra-exten --extra-priority; do
		run --separate-stderr ami redirect PJSIP/1-1 --context c --exten e "$opt" 2
		assert_failure 2
		[[ $stderr == *"go with --extra-channel CH"* ]]
	done
	assert_nothing_sent
}

@test "usage: channel names without Tech/" {
	start_fake_ami
	run --separate-stderr ami redirect PJSIP1 --context c --exten e
	assert_failure 2
	[[ $stderr == *"CHANNEL must be a channel name"* ]]
	run --separate-stderr ami redirect PJSIP/1-1 --context c --exten e --extra-channel other
	assert_failure 2
	[[ $stderr == *"--extra-channel must be a channel name"* ]]
	assert_nothing_sent
}

@test "usage: bad priorities" {
	start_fake_ami
	local p
	for p in 0 -1 1x ''; do
		run --separate-stderr ami redirect PJSIP/1-1 --context c --exten e --priority "$p"
		assert_failure 2
		run --separate-stderr ami redirect PJSIP/1-1 --context c --exten e \
			--extra-channel PJSIP/2-2 --extra-priority "$p"
		assert_failure 2
		[[ $stderr == *"--extra-priority"* ]]
	done
	assert_nothing_sent
}

@test "usage: CR or LF in any value is refused" {
	start_fake_ami
	local nl=$'x\r\nAction: Hangup'
	run --separate-stderr ami redirect "PJSIP/1$nl" --context c --exten e
	assert_failure 2
	[[ $stderr == "ami redirect: CHANNEL contains a carriage return (CR)"* ]]
	run --separate-stderr ami redirect PJSIP/1-1 --context "$nl" --exten e
	assert_failure 2
	[[ $stderr == "ami redirect: --context contains"* ]]
	run --separate-stderr ami redirect PJSIP/1-1 --context c --exten "$nl"
	assert_failure 2
	[[ $stderr == "ami redirect: --exten contains"* ]]
	run --separate-stderr ami redirect PJSIP/1-1 --context c --exten e --extra-channel "PJSIP/2$nl"
	assert_failure 2
	[[ $stderr == "ami redirect: --extra-channel contains"* ]]
	run --separate-stderr ami redirect PJSIP/1-1 --context c --exten e --extra-channel PJSIP/2-2 \
		--extra-context "$nl"
	assert_failure 2
	[[ $stderr == "ami redirect: --extra-context contains"* ]]
	run --separate-stderr ami redirect PJSIP/1-1 --context c --exten e --extra-channel PJSIP/2-2 \
		--extra-exten "$nl"
	assert_failure 2
	[[ $stderr == "ami redirect: --extra-exten contains"* ]]
	assert_nothing_sent
}

@test "usage: an extra argument, an unknown option, a too-long line" {
	start_fake_ami
	run --separate-stderr ami redirect PJSIP/1-1 PJSIP/2-2 --context c --exten e
	assert_failure 2
	[[ $stderr == *'unexpected argument "PJSIP/2-2"'* ]]
	run --separate-stderr ami redirect PJSIP/1-1 --context c --exten e --bogus
	assert_failure 2
	run --separate-stderr ami redirect PJSIP/1-1 --context "$(printf 'c%.0s' {1..1100})" --exten e
	assert_failure 2
	[[ $stderr == *"Asterisk accepts at most 1024"* ]]
	assert_nothing_sent
}

@test "--help prints the usage and exits 0" {
	run ami redirect --help
	assert_success
	assert_line --index 0 --partial "usage: ami redirect CHANNEL --context C --exten E"
}
