#!/usr/bin/env bats
# ami action: any action, repeated keys, EventList aggregation, errors.
load helper

setup() { setup_common; }
teardown() { stop_fake_ami; }

@test "action CoreStatus prints the response as aligned text" {
	start_fake_ami
	run ami action CoreStatus
	assert_success
	assert_line --regexp '^Response: +Success$'
	assert_output --partial "CoreCurrentCalls"
}

@test "list action: the response, every item and the Complete event" {
	start_fake_ami --channels 3
	run ami action CoreShowChannels --json
	assert_success
	assert_equal "$(wc -l <<<"$output")" 5
	assert_line --index 0 --partial '"EventList":"start"'
	assert_equal "$(grep -c '"Event":"CoreShowChannel"' <<<"$output")" 3
	assert_line --index 4 --partial '"Event":"CoreShowChannelsComplete"'
	assert_line --index 4 --partial '"ListItems":"3"'
}

@test "an empty list still ends with its Complete event" {
	start_fake_ami
	run ami action CoreShowChannels --format raw
	assert_success
	assert_output --partial $'Event: CoreShowChannelsComplete\r'
	assert_output --partial $'ListItems: 0\r'
}

@test "repeated keys become repeated headers, in order" {
	start_fake_ami --channels 1
	run ami action Setvar Variable=a=1 Variable=b=2 Value=x
	grep "RECV Setvar" "$BATS_TEST_TMPDIR/ami.log" | grep -q "Variable=a=1 Variable=b=2"
}

@test "values keep '=' and spaces" {
	start_fake_ami
	run ami action UserEvent UserEvent=Test 'Data=a=b c'
	assert_success
	grep "RECV UserEvent" "$BATS_TEST_TMPDIR/ami.log" | grep -q "Data=a=b c"
}

@test "Response: Error exits 1 and prints Asterisk's message" {
	start_fake_ami
	run --separate-stderr ami action FooBar
	assert_failure 1
	[[ "$stderr" == *"Invalid/unknown command: FooBar"* ]]
	assert_output --partial "Response: Error"
}

@test "permission denied for the limited user exits 1" {
	start_fake_ami
	AMI_USER=limited AMI_SECRET=limited run --separate-stderr ami action Getvar Variable=X
	assert_failure 1
	[[ "$stderr" == *"Permission denied"* ]]
}

@test "json: repeated headers become arrays, keys in wire order" {
	start_fake_ami
	run ami command --json 'core show uptime'
	assert_success
	[[ "$output" == '{"Response":"Success","ActionID":'* ]]
	[[ "$output" == *'"Output":["'* ]]
}

@test "a value with CR or LF is refused before anything is sent (exit 2)" {
	start_fake_ami
	run --separate-stderr ami action Getvar $'Variable=x\r\nAction: Originate'
	assert_failure 2
	[[ "$stderr" == *"line feed"* || "$stderr" == *"carriage return"* ]]
	! grep -q "CONNECT" "$BATS_TEST_TMPDIR/ami.log"
}

@test "not KEY=VALUE is a usage error" {
	run ami action Ping novalue
	assert_failure 2
	run ami action Ping 'bad key=1'
	assert_failure 2
}

@test "a header line over Asterisk's 1024-byte limit is refused (exit 2)" {
	start_fake_ami
	run ami action UserEvent UserEvent=x "Data=$(head -c 1100 /dev/zero | tr '\0' a)"
	assert_failure 2
}

@test "more than 128 headers are refused (exit 2)" {
	start_fake_ami
	args=(); for i in $(seq 1 130); do args+=("H$i=v"); done
	run ami action UserEvent "${args[@]}"
	assert_failure 2
}

@test "stdout on a full disk: exit 8" {
	start_fake_ami
	run bash -c 'ami action CoreStatus >/dev/full'
	assert_failure 8
}

@test "stdout closed early (| head -1): quiet end by SIGPIPE" {
	start_fake_ami --channels 50
	run bash -c 'set -o pipefail; ami action CoreShowChannels 2>'"$BATS_TEST_TMPDIR"'/err | head -1'
	assert_output --regexp '^Response: +Success$'
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" ""
}
