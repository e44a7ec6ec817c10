#!/usr/bin/env bats
# ami command: CLI output exactly as Asterisk returns it, both formats.
load helper

setup() { setup_common; }
teardown() { stop_fake_ami; }

@test "core show version prints the bare output line" {
	start_fake_ami
	run --separate-stderr ami command 'core show version'
	assert_success
	assert_output --regexp '^Asterisk 22\.'
	refute_output --partial "Output:"
	grep "RECV Command" "$BATS_TEST_TMPDIR/ami.log" | grep -q "Command=core show version"
}

@test "several words are joined with spaces" {
	start_fake_ami
	run ami command core show version
	assert_success
	grep "RECV Command" "$BATS_TEST_TMPDIR/ami.log" | grep -q "Command=core show version"
}

@test "multi-line output keeps blank lines and trailing spaces" {
	start_fake_ami
	run ami command 'dialplan show test'
	assert_success
	expected=$(python3 "$BATS_TEST_DIRNAME/capture_output.py" 'dialplan show test')
	[ "$(wc -l <<<"$expected")" -gt 5 ]
	assert_equal "$output" "$expected"
}

@test "unknown CLI command: output on stderr, exit 1" {
	start_fake_ami
	run --separate-stderr ami command 'no such command here'
	assert_failure 1
	assert_equal "$output" ""
	[[ "$stderr" == *"No such command"* ]]
}

@test "no command given is a usage error" {
	run ami command
	assert_failure 2
}
