#!/usr/bin/env bats
# ami shell in batch mode (stdin not a terminal, or a FILE): every kind of
# line, one login for the whole run, errors and exit codes, --keep-going,
# a lost connection. The terminal side is in shell-tty.bats.
load helper

setup() {
	setup_common
	LOG="$BATS_TEST_TMPDIR/ami.log"
	SCRIPT="$BATS_TEST_TMPDIR/script.ami"
}

teardown() {
	stop_fake_ami
}

# script < lines: the batch file that `ami shell <"$SCRIPT"` reads.
script() {
	cat >"$SCRIPT"
}

# recv ACTION: the log lines of that action, as the server received it.
recv() {
	grep -E "^RECV $1( |\$)" "$LOG" || true
}

@test "one login for every command, no prompt, no banner, Logoff at the end" {
	start_fake_ami
	script <<-'EOF'
	ping
	ping -c 2 -i 0
	EOF
	run --separate-stderr ami shell <"$SCRIPT"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp '^pong from 127\.0\.0\.1:[0-9]+: seq=1 time='
	assert_line --index 2 --regexp 'seq=2 '
	assert_equal "$(recv Login | wc -l)" 1
	assert_equal "$(recv Ping | wc -l)" 3
	assert_equal "$(grep '^RECV' "$LOG" | tail -n 1 | cut -d' ' -f2)" Logoff
	# events are not asked for unless a line wants them
	recv Login | grep -q 'Events=off'
}

@test "every kind of line: commands, shorthand, raw block, built-ins" {
	start_fake_ami --channels 2
	script <<-'EOF'
	# comments and blank lines are skipped

	action Setvar Variable=A 'Value=two words'
	Getvar Variable=A      # shorthand for `action Getvar ...`
	command core show version
	Action: Getvar
	  Variable:   A

	redirect --context test --exten loop Local/loop@test-00000001;1
	originate --context test --exten 100 Local/100@test
	config
	.format json
	CoreShowChannels
	help ping
	EOF
	run --separate-stderr ami shell <"$SCRIPT"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(recv Setvar)" \
		"$(grep '^RECV Setvar' "$LOG" | grep -F 'Variable=A Value=two words')"
	assert_equal "$(recv Getvar | wc -l)" 2
	assert_equal "$(grep -c '^Value: *two words$' <<<"$output")" 2
	assert_output --partial "Asterisk 22"
	recv Redirect | grep -qF 'Channel=Local/loop@test-00000001;1'
	recv Originate | grep -qF 'Channel=Local/100@test'
	assert_output --partial '"Event":"CoreShowChannelsComplete"'
	assert_output --partial 'usage: ami ping'
	assert_line --regexp '^host +127\.0\.0\.1'
	assert_equal "$(recv Login | wc -l)" 1
}

@test "options work per line and last for that line only" {
	start_fake_ami
	script <<-'EOF'
	CoreStatus --json
	CoreStatus
	ping -q
	EOF
	run ami shell <"$SCRIPT"
	assert_success
	assert_line --index 0 --regexp '^\{"Response":"Success"'
	assert_line --index 1 --regexp '^Response: +Success$'
	refute_output --partial 'pong'
}

@test "the last raw block needs no blank line; Action: is any case" {
	start_fake_ami
	printf 'action: Getvar\nVariable: B' | ami shell >/dev/null
	recv Getvar | grep -q 'Variable=B'
}

@test "the first failing command ends the run with its exit status" {
	start_fake_ami
	script <<-'EOF'
	ping
	NoSuchAction
	Getvar Variable=NEVER
	EOF
	run --separate-stderr ami shell <"$SCRIPT"
	assert_failure 1
	[[ $stderr == *"Invalid/unknown command: NoSuchAction"* ]]
	[[ $stderr == *"stopped at line 2 (exit status 1)"* ]]
	assert_equal "$(recv Getvar)" ""
	# still logged off
	assert_equal "$(grep '^RECV' "$LOG" | tail -n 1 | cut -d' ' -f2)" Logoff
}

@test "a usage error stops the run with 2" {
	start_fake_ami
	run ami shell <<<$'ping --count x\nping'
	assert_failure 2
	assert_equal "$(recv Ping)" ""
	run ami shell <<<$'Getvar "Variable=X\nping'
	assert_failure 2
	run ami shell <<<$'-x\nping'
	assert_failure 2
	run ami shell <<<$'shell\nping'
	assert_failure 2
	assert_equal "$(recv Ping)" ""
}

@test "--keep-going runs every line and exits with the first failure" {
	start_fake_ami
	script <<-'EOF'
	ping
	ping --count x
	NoSuchAction
	Getvar Variable=AFTER
	EOF
	run --separate-stderr ami shell --keep-going <"$SCRIPT"
	assert_failure 2
	recv Getvar | grep -q 'Variable=AFTER'
	run ami shell -k <<<$'NoSuchAction\nping --count x'
	assert_failure 1
}

@test "a raw block with a bad line is not sent" {
	start_fake_ami
	run --separate-stderr ami shell <<<$'Action: Getvar\nno colon here\n\nping'
	assert_failure 2
	[[ $stderr == *'not a "Key: Value" line'* ]]
	assert_equal "$(recv Getvar)" ""
	assert_equal "$(recv Ping)" ""
}

@test "CR or NUL inside a line never reaches the wire" {
	start_fake_ami
	printf 'Action: Getvar\nVariable: a\rb\n\n' >"$SCRIPT"
	run --separate-stderr ami shell <"$SCRIPT"
	assert_failure 2
	[[ $stderr == *"carriage return"* ]]
	printf 'Getvar Variable=a\rb\n' >"$SCRIPT"
	run ami shell <"$SCRIPT"
	assert_failure 2
	printf 'Getvar Variable=a\0b\n' >"$SCRIPT"
	run --separate-stderr ami shell <"$SCRIPT"
	assert_failure 2
	[[ $stderr == *"NUL byte"* ]]
	assert_equal "$(recv Getvar)" ""
	# CRLF line ends are fine
	printf 'Getvar Variable=C\r\n' | ami shell >/dev/null
	recv Getvar | grep -q 'Variable=C ActionID='
}

@test "quit, exit and Logoff end the run with 0" {
	start_fake_ami
	local q
	for q in quit exit Logoff $'Action: Logoff\n'; do
		run ami shell <<<"ping -q"$'\n'"$q"$'\nNoSuchAction'
		assert_success
	done
	assert_equal "$(recv NoSuchAction)" ""
	assert_equal "$(recv Logoff | wc -l)" 4
}

@test "ami shell FILE reads FILE; a missing FILE is exit 8" {
	start_fake_ami
	printf 'Getvar Variable=FROMFILE\n' >"$SCRIPT"
	run ami shell "$SCRIPT" </dev/null
	assert_success
	recv Getvar | grep -q 'Variable=FROMFILE'
	run ami shell "$BATS_TEST_TMPDIR/nonexistent"
	assert_failure 8
	run ami shell a b
	assert_failure 2
}

@test "login failures: 4 for a wrong secret, 5 when nobody listens" {
	start_fake_ami
	AMI_SECRET=wrong run ami shell <<<'ping'
	assert_failure 4
	AMI_PORT=$(free_port) run ami shell <<<'ping'
	assert_failure 5
}

@test "--secret-stdin: the first line is the secret, the rest are commands" {
	start_fake_ami
	unset AMI_SECRET
	run ami shell --secret-stdin <<<$'world\nGetvar Variable=AFTER_SECRET'
	assert_success
	recv Getvar | grep -q 'Variable=AFTER_SECRET'
}

@test "a lost connection ends the run with 5, even with --keep-going" {
	start_fake_ami
	run ami shell -k < <(
		echo ping
		# Kill the server once it has answered that Ping (bounded wait).
		for _ in $(seq 100); do
			grep -q 'RECV Ping' "$BATS_TEST_TMPDIR/ami.log" && break
			sleep 0.1
		done
		sleep 0.2
		kill "$FAKE_AMI_PID"
		sleep 0.5
		echo ping
		echo ping
	)
	assert_failure 5
	assert_line --index 0 --partial 'pong'
	assert_output --partial 'lost the connection'
	refute_output --partial 'Try '
}

@test "tail-events runs on the session, and events are off again after it" {
	ami --list | grep -qx tail-events || skip "tail-events is not in this build"
	start_fake_ami --events 3
	script <<-'EOF'
	tail-events -c 2
	ping
	EOF
	run --separate-stderr ami shell <"$SCRIPT"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 2 --partial 'pong'
	assert_equal "$(recv Login | wc -l)" 1
	assert_equal "$(grep -oE 'RECV (Events EventMask=[a-z]+|Ping)' "$LOG")" \
		"$(printf '%s\n' 'RECV Events EventMask=on' 'RECV Events EventMask=off' 'RECV Ping')"
}

@test "events on [GLOB] prints the events that came in between lines" {
	start_fake_ami
	script <<-'EOF'
	events on user*
	UserEvent UserEvent=Shown
	ping -q
	events on hangup
	UserEvent UserEvent=Hidden
	ping -q
	events off
	UserEvent UserEvent=Off
	ping -q
	EOF
	run --separate-stderr ami shell <"$SCRIPT"
	assert_success
	assert_line --regexp '^UserEvent: +Shown$'
	refute_output --partial 'Hidden'
	refute_output --partial 'Off'
	assert_equal "$(recv Events | tail -n 1 | grep -o 'EventMask=[a-z]*')" EventMask=off
}

@test "bad built-in arguments are usage errors" {
	start_fake_ami
	run ami shell <<<'.format xml'
	assert_failure 2
	run ami shell <<<'events maybe'
	assert_failure 2
	run ami shell <<<$'.format\nevents'
	assert_success
	assert_output $'.format text\nevents off'
}

@test "help lists the commands and built-ins; help ACTION its headers" {
	start_fake_ami
	run ami shell <<<$'help\nhelp Getvar'
	assert_success
	assert_line --regexp '^  ping +check that the AMI answers'
	assert_line --regexp '^  events on'
	refute_line --regexp '^  shell '
	assert_line --regexp '^Getvar Channel=\.\.\. Variable=\.\.\.'
}

@test "ami shell --help documents --keep-going" {
	run ami shell --help
	assert_success
	assert_output --partial 'usage: ami shell'
	assert_output --partial '--keep-going'
}
