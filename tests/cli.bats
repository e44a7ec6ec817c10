#!/usr/bin/env bats
# The multicall binary: dispatch, help, version, list, install, usage errors.
load helper

setup() { setup_common; }

@test "--help goes to stdout, exit 0, lists the commands" {
	run --separate-stderr ami --help
	assert_success
	assert_output --partial "usage: ami"
	assert_output --partial "ping"
	assert_equal "$stderr" ""
}

@test "--version names ami and the libcurl, cJSON and readline versions" {
	run ami --version
	assert_success
	assert_line --regexp '^ami [0-9]+\.[0-9]+\.[0-9]+$'
	assert_output --partial "libcurl/"
	assert_output --partial "cJSON "
	assert_output --partial "readline "
}

@test "--list prints one command name per line" {
	run ami --list
	assert_success
	assert_line ping
	assert_line action
	assert_line command
}

@test "unknown command: one line plus Try, exit 2" {
	run --separate-stderr ami frobnicate
	assert_failure 2
	assert_equal "$output" ""
	assert_equal "$(printf '%s\n' "$stderr" | head -n1)" 'ami: unknown command "frobnicate"'
	assert_equal "$(printf '%s\n' "$stderr" | tail -n1)" "Try 'ami --help'"
}

@test "no command is a usage error" {
	run ami
	assert_failure 2
}

@test "bad option on a command: exit 2 and Try 'ami CMD --help'" {
	run --separate-stderr ami ping --no-such-option
	assert_failure 2
	[[ "$stderr" == *"Try 'ami ping --help'"* ]]
}

@test "help CMD equals CMD --help" {
	run ami help ping
	assert_success
	local a=$output
	run ami ping --help
	assert_equal "$output" "$a"
	assert_output --partial "usage: ami ping"
}

@test "--install makes ami-CMD links that dispatch by program name" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	run ami --install -s "$BATS_TEST_TMPDIR/bin"
	assert_success
	[ -L "$BATS_TEST_TMPDIR/bin/ami-ping" ]
	run "$BATS_TEST_TMPDIR/bin/ami-ping" --help
	assert_success
	assert_output --partial "usage: ami ping"
	run ami --install "$BATS_TEST_TMPDIR/bin"
	assert_success
	[ -f "$BATS_TEST_TMPDIR/bin/ami-action" ] && [ ! -L "$BATS_TEST_TMPDIR/bin/ami-action" ]
}

@test "a bare 'ping' program name is never dispatched" {
	ln -s "$(command -v ami)" "$BATS_TEST_TMPDIR/ping"
	run "$BATS_TEST_TMPDIR/ping" --help
	assert_success
	assert_output --partial "usage: ami [options] COMMAND"
}

@test "common options work before and after the command name" {
	start_fake_ami
	run ami --port "$AMI_PORT" -H 127.0.0.1 ping -q
	assert_success
	run ami ping -q --port "$AMI_PORT" -H 127.0.0.1
	assert_success
	stop_fake_ami
}

@test "--timeout rejects junk with exit 2" {
	run ami -t abc ping
	assert_failure 2
	assert_output --partial "--timeout"
}
