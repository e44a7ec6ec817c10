#!/usr/bin/env bats
# Header injection (issue 8): every way user input reaches the wire (or a
# call file) refuses CR, LF and NUL, with a message naming the character:
# action KEY=VALUE, the command text, every originate/redirect/callfile
# option, tail-events options, -u/-H, AMI_USER/AMI_HOST, profile values,
# shell lines. NUL cannot be in argv or the environment: it is tried
# through files and stdin. After each test the server must have received
# nothing at all (not even a connection) and logged no violation.
load helper

CR=$'\r'
LF=$'\n'

setup() {
	setup_common
	start_fake_ami
}

teardown() {
	nothing_sent
	stop_fake_ami
}

# nothing_sent: the server saw no connection (refusals come before connecting).
nothing_sent() {
	if grep -E '^(CONNECT|RECV)' "$BATS_TEST_TMPDIR/ami.log"; then
		echo "the server received something (above)"
		return 1
	fi
}

# refuse CODE ARGS...: `ami ARGS` exits CODE and names the bad character.
refuse() {
	local code=$1
	shift
	run --separate-stderr ami "$@"
	if [[ $status -ne $code ]]; then
		fail "ami $(printf '%q ' "$@"): exit $status, not $code; stderr: $stderr"
	fi
	if [[ ! $stderr =~ carriage\ return|line\ feed|NUL\ byte|control\ character ]]; then
		fail "ami $(printf '%q ' "$@"): stderr does not name the character: $stderr"
	fi
}

# each_char CODE ARGS...: refuse CODE, once with CR and once with LF put
# in place of every @ in ARGS (followed by an injected header).
each_char() {
	local code=$1 c args a
	shift
	for c in "$CR" "$LF"; do
		args=()
		for a in "$@"; do
			args+=("${a//@/${c}Action: Originate${c}Channel: Local/evil@test}")
		done
		refuse "$code" "${args[@]}"
	done
}

# ---- action and command ----------------------------------------------------

@test "action: the value of KEY=VALUE" {
	each_char 2 action UserEvent UserEvent=x 'Data=a@'
}

@test "action: the key of KEY=VALUE, and the action name" {
	each_char 2 action UserEvent UserEvent=x 'Da@ta=a'
	each_char 2 action 'UserEvent@' UserEvent=x
}

@test "command: the CLI text, in one word or in several" {
	each_char 2 command 'core show version@'
	each_char 2 command core show 'version@'
}

# ---- originate ----------------------------------------------------------------

@test "originate: the channel and every option of an application call" {
	local opt
	each_char 2 originate 'Local/100@test@' --app Wait
	each_char 2 originate Local/100@test --app 'Wait@'
	for opt in --data --callerid --account --codecs --channel-id --other-channel-id; do
		each_char 2 originate Local/100@test --app Wait "$opt" 'x@'
	done
	each_char 2 originate Local/100@test --app Wait --var 'NAME=x@'
	each_char 2 originate Local/100@test --app Wait --var 'NA@ME=x'
}

@test "originate: every option of an extension call" {
	each_char 2 originate Local/100@test --context 'test@' --exten 100
	each_char 2 originate Local/100@test --context test --exten '100@'
	each_char 2 originate Local/100@test --context test --exten 100 --priority 'label@'
	each_char 2 originate Local/100@test --context test --exten 100 --sync \
		--predial-gosub 'sub,s,1@'
}

# ---- redirect -------------------------------------------------------------------

@test "redirect: the channel, the target and the extra leg" {
	each_char 2 redirect 'Local/loop@test-00000001;1@' --context test --exten 100
	each_char 2 redirect Local/a --context 'test@' --exten 100
	each_char 2 redirect Local/a --context test --exten '100@'
	each_char 2 redirect Local/a --context test --exten 100 --priority 'p@'
	each_char 2 redirect Local/a --context test --exten 100 --extra-channel 'Local/b@'
	each_char 2 redirect Local/a --context test --exten 100 --extra-channel Local/b \
		--extra-context 'c@'
	each_char 2 redirect Local/a --context test --exten 100 --extra-channel Local/b \
		--extra-exten 'e@'
	each_char 2 redirect Local/a --context test --exten 100 --extra-channel Local/b \
		--extra-priority 'p@'
}

# ---- tail-events ------------------------------------------------------------------

# --match and --until are matched here, never sent.
@test "tail-events: --events-mask, and --event/--exclude-event (sent as Filter)" {
	each_char 2 tail-events --idle 1 --events-mask 'call@'
	each_char 2 tail-events --idle 1 -e 'Hangup@'
	each_char 2 tail-events --idle 1 --exclude-event 'Newexten@'
}

# ---- call files (the "wire" is the spool) ---------------------------------------------

@test "callfile: every value that becomes a line of the file" {
	local opt spool="$BATS_TEST_TMPDIR/spool"
	mkdir -p "$spool"
	each_char 2 callfile --print 'Local/100@test@' --app Wait
	each_char 2 callfile --print Local/100@test --app 'Wait@'
	for opt in --data --callerid --account --codecs; do
		each_char 2 callfile --print Local/100@test --app Wait "$opt" 'x@'
	done
	each_char 2 callfile --print Local/100@test --app Wait --set 'V=x@'
	each_char 2 callfile --print Local/100@test --context 'test@' --exten 100
	each_char 2 callfile --print Local/100@test --context test --exten '100@'
	each_char 2 callfile --spool "$spool" --name 'x@.call' Local/100@test --app Wait
	run ls -A "$spool"
	assert_output ""
}

# ---- who we are: flags, environment, profile ----------------------------------------

@test "-u and -H" {
	each_char 2 ping -u 'hello@'
	each_char 2 ping -H '127.0.0.1@'
}

@test "AMI_USER and AMI_HOST" {
	local c
	for c in "$CR" "$LF"; do
		AMI_USER="hello${c}Action: Originate" refuse 3 ping
		AMI_HOST="127.0.0.1${c}x" refuse 3 ping
	done
}

@test "profile values: username and host with CR; a NUL in the file" {
	printf '[default]\nusername = hel\rlo\n' | write_profile
	refuse 3 ping
	printf '[default]\nhost = 127.0.0.1\r%s\n' 'Action: Originate' | write_profile
	refuse 3 ping
	printf '[pbx]\nport = %s\nusername = hel\rlo\n' "$AMI_PORT" | write_profile
	refuse 3 ping -p pbx
	printf '[default]\nusername = hel\0lo\n' | write_profile
	run --separate-stderr ami ping
	assert_failure 3
	[[ $stderr == *"syntax error"* ]] || fail "$stderr"
}

@test "the secret: CR, LF or NUL from a file, stdin or AMI_SECRET" {
	local f="$BATS_TEST_TMPDIR/secret"
	(umask 077 && printf 'wor\rld\n' >"$f")
	refuse 3 ping --secret-file "$f"
	(umask 077 && printf 'wor\0ld\n' >"$f")
	refuse 3 ping --secret-file "$f"
	refuse 3 ping --secret-stdin < <(printf 'wor\rld\n')
	[[ $stderr == *"carriage return"* ]] || fail "$stderr"
	refuse 3 ping --secret-stdin < <(printf 'wor\0ld\n')
	[[ $stderr == *"NUL byte"* ]] || fail "$stderr"
	AMI_SECRET="wor${LF}Action: Originate" refuse 3 ping
}

# shell_refuses PRINTF_FORMAT: `ami shell` reading that script exits 2
# and names the bad character.
shell_refuses() {
	printf "$1" >"$BATS_TEST_TMPDIR/s"
	refuse 2 shell "$BATS_TEST_TMPDIR/s"
}

# ---- ami shell ----------------------------------------------------------------------

@test "shell: CR or NUL inside a line, in a shorthand or a raw block" {
	shell_refuses 'UserEvent UserEvent=a\rAction: Originate\n'
	[[ $stderr == *"carriage return"* ]] || fail "$stderr"
	shell_refuses 'Action: UserEvent\nUserEvent: a\rAction: Originate\n\n'
	shell_refuses 'command core show\0version\n'
	[[ $stderr == *"NUL byte"* ]] || fail "$stderr"
	shell_refuses 'originate Local/100@test --app "Wait\rx"\n'
	# The shell logs in before reading its lines; nothing after the Login.
	grep -E '^RECV' "$BATS_TEST_TMPDIR/ami.log" | grep -vE '^RECV (Login|Logoff) ' && false
	: >"$BATS_TEST_TMPDIR/ami.log"
}
