#!/usr/bin/env bats
# ami shell on a terminal: the real shell runs in a private tmux server
# (send-keys types, capture-pane reads the screen). Completion of action,
# header and channel names, events printed while a line is being typed,
# Ctrl-C in a prompt and during tail-events, history without secrets, and
# a lost connection. Batch mode is in shell.bats.
load helper

setup() {
	command -v tmux >/dev/null || skip "tmux is not installed"
	setup_common
	LOG="$BATS_TEST_TMPDIR/ami.log"
	TMUX_SOCK="$BATS_TEST_TMPDIR/tmux.sock"
	SCREEN="$BATS_TEST_TMPDIR/screen"
	[ "$VALGRIND_ON" = 1 ] && valgrind_suppressions
	return 0
}

# Valgrind 3.19 misreads the sigmask argument of pselect6, which readline
# uses to look for typed-ahead keys (fixed in later valgrind versions).
valgrind_suppressions() {
	cat >"$BATS_TEST_TMPDIR/readline.supp" <<-'EOF'
	{
	   valgrind-3.19-pselect6-sigmask
	   Memcheck:Param
	   pselect6(sig)
	   ...
	   fun:_rl_timeout_select
	}
	EOF
	export VALGRIND_OPTS="--suppressions=$BATS_TEST_TMPDIR/readline.supp"
}

teardown() {
	tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	stop_fake_ami
}

# tty_start [ami options...]: runs `ami shell` in a fixed-size tmux window
# and waits for its first prompt. "EXITED rc" shows when it ends.
tty_start() {
	local cmd="ami shell"
	local a
	for a in "$@"; do
		cmd+=" $(printf '%q' "$a")"
	done
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x 150 -y 45 \
		"$cmd; echo EXITED \$?; sleep 60"
	tmux -S "$TMUX_SOCK" set-option -g history-limit 5000 >/dev/null
	wait_screen '^ami [^ ]+> $'
}

# The visible screen (with its scrollback) into $SCREEN.
capture() {
	tmux -S "$TMUX_SOCK" capture-pane -p -N -S -5000 >"$SCREEN"
}

# wait_screen ERE [SECONDS]: polls the screen until a line matches.
wait_screen() {
	local n i
	n=$(awk -v s="${2:-5}" -v f="$TIME_FACTOR" 'BEGIN { print int(s * f * 10) }')
	for ((i = 0; i < n; i++)); do
		capture
		grep -qE -- "$1" "$SCREEN" && return 0
		sleep 0.1
	done
	echo "screen never showed /$1/:"
	cat "$SCREEN"
	return 1
}

# The line the cursor is on (prompt and what was typed).
current_line() {
	capture
	grep -v '^$' "$SCREEN" | tail -n 1
}

# wait_prompt: waits until the cursor's line is a bare prompt, drawn by
# readline once it has the terminal again. Keys sent before that reach a
# terminal in canonical mode, where Ctrl-D is not a key but an end of file
# that readline never sees.
wait_prompt() {
	local i n bare='^ami [^>]*> $'
	n=$(awk -v f="$TIME_FACTOR" 'BEGIN { print int(5 * f * 10) }')
	for ((i = 0; i < n; i++)); do
		[[ "$(current_line)" =~ $bare ]] && return 0
		sleep 0.1
	done
	echo "the cursor's line never became a bare prompt:"
	cat "$SCREEN"
	return 1
}

type_text() {
	tmux -S "$TMUX_SOCK" send-keys -l -- "$1"
}

keys() {
	tmux -S "$TMUX_SOCK" send-keys "$@"
}

@test "banner, prompt with the profile name, a command, Ctrl-D logs off" {
	start_fake_ami
	write_profile <<-EOF
	[pbx1]
	host = 127.0.0.1
	port = $AMI_PORT
	EOF
	unset AMI_PORT
	tty_start -p pbx1
	grep -q "^Logged in to 127.0.0.1:" "$SCREEN"
	type_text ping
	keys Enter
	wait_screen '^pong from 127\.0\.0\.1'
	wait_prompt
	keys C-d
	wait_screen '^EXITED 0$'
	assert_equal "$(grep '^RECV' "$LOG" | tail -n 1 | cut -d' ' -f2)" Logoff
	assert_equal "$(grep -c '^RECV Login' "$LOG")" 1
}

@test "Tab completes an action name from ListCommands" {
	start_fake_ami
	tty_start
	wait_log '^RECV ListCommands'
	type_text CoreSta
	keys Tab
	wait_screen '^ami 127\.0\.0\.1> CoreStatus $'
	keys Enter
	wait_screen '^CoreCurrentCalls: '
}

@test "Tab completes commands, options and header names" {
	ami --list | grep -qx tail-events || skip "tail-events is not in this build"
	start_fake_ami
	tty_start
	type_text 'tail-ev'
	keys Tab
	wait_screen '> tail-events $'
	type_text '--cou'
	keys Tab
	wait_screen '> tail-events --count $'
	keys C-u
	type_text 'Getvar Var'
	keys Tab
	wait_screen '> Getvar Variable= *$'
	type_text 'COMPLETED'
	keys Enter
	wait_log '^RECV Getvar Variable=COMPLETED '
}

@test "Tab completes a channel name after Channel=" {
	start_fake_ami --channels 1
	tty_start
	type_text 'Hangup Channel=L'
	keys Tab
	wait_screen '> Hangup Channel=Local/loop@test-00000001;1 $'
	keys Enter
	wait_log '^RECV Hangup Channel=Local/loop@test-00000001;1 '
}

@test "Tab completes profile names after -p" {
	start_fake_ami
	write_profile <<-'EOF'
	[alpha-one]
	host = 192.0.2.1
	[beta]
	host = 192.0.2.2
	EOF
	tty_start
	type_text 'config -p al'
	keys Tab
	wait_screen '> config -p alpha-one $'
	keys Enter
	wait_screen '^profile +alpha-one'
}

@test "events on: an event shows above the line being typed, which survives" {
	start_fake_ami
	tty_start
	type_text 'events on'
	keys Enter
	wait_screen '^ami 127\.0\.0\.1 \(events\)> $'
	wait_log '^RECV Events EventMask=on'
	type_text 'Getv'
	ami action UserEvent UserEvent=WhileTyping >/dev/null
	wait_screen '^UserEvent: +WhileTyping$'
	assert_equal "$(current_line)" 'ami 127.0.0.1 (events)> Getv'
	type_text 'ar Variable=STILL_HERE'
	keys Enter
	wait_log '^RECV Getvar Variable=STILL_HERE '
	wait_prompt
	type_text 'events off'
	keys Enter
	wait_screen '^ami 127\.0\.0\.1> $'
	ami action UserEvent UserEvent=NotShown >/dev/null
	sleep 0.3
	capture
	run grep -c NotShown "$SCREEN"
	assert_output 0
}

@test "events on over HTTP: fetched with WaitEvent while a line is being typed" {
	start_fake_ami_http --http --lifetime 60
	tty_start --url "http://127.0.0.1:$HTTP_PORT/"
	type_text 'events on'
	keys Enter
	wait_screen '\(events\)> $'
	type_text 'Getv'
	ami action --port "$TCP_PORT" UserEvent UserEvent=OverHttp >/dev/null
	wait_screen '^UserEvent: +OverHttp$'
	[[ "$(current_line)" == *'(events)> Getv' ]]
	run grep -c '^UserEvent: .*OverHttp' "$SCREEN"
	assert_output 1
	# The Login of `ami action` above, not the shell's own from before
	# `events on` (which Asterisk keeps for an HTTP session).
	run grep -c '^Event: *SuccessfulAuth' "$SCREEN"
	assert_output 1
	# Typing without a pause does not hold them back.
	ami action --port "$TCP_PORT" UserEvent UserEvent=WhileTyping >/dev/null
	local i
	for ((i = 0; i < 20; i++)); do
		type_text 'x'
		sleep 0.2
		capture
		grep -qE '^UserEvent: +WhileTyping$' "$SCREEN" && break
	done
	((i < 20))
}

@test "Ctrl-C stops tail-events and returns to the prompt" {
	ami --list | grep -qx tail-events || skip "tail-events is not in this build"
	start_fake_ami
	tty_start
	type_text 'tail-events'
	keys Enter
	wait_log '^RECV Events EventMask=on'
	ami action UserEvent UserEvent=InTail >/dev/null
	wait_screen 'UserEvent=InTail'
	keys C-c
	wait_screen '^ami 127\.0\.0\.1> $'
	wait_log '^RECV Events EventMask=off'
	type_text ping
	keys Enter
	wait_screen '^pong from'
	# the shell itself is still running
	capture
	run grep -c '^EXITED' "$SCREEN"
	assert_output 0
}

@test "Ctrl-C in the prompt drops the line (and an unfinished raw block)" {
	start_fake_ami
	tty_start
	# Each Ctrl-C waits until readline shows the text (a signal overtakes
	# keys it has not read yet), and the next text for the new prompt.
	type_text 'CoreStatus'
	wait_screen '> CoreStatus$'
	keys C-c
	wait_prompt
	type_text 'Action: Getvar'
	keys Enter
	wait_screen '^ *\.\.\. $'
	type_text 'Variable: DROPPED'
	wait_screen '\.\.\. Variable: DROPPED$'
	keys C-c
	wait_prompt
	type_text 'Getvar Variable=SENT'
	keys Enter
	wait_log '^RECV Getvar Variable=SENT '
	run grep -cE '^RECV (CoreStatus|Getvar Variable=DROPPED)' "$LOG"
	assert_output 0
}

@test "a raw Action: block is sent at the empty line" {
	start_fake_ami
	tty_start
	type_text 'Action: Getvar'
	keys Enter
	# Keys typed before readline draws the "..." prompt are echoed by the
	# terminal and mess up the line (slow under valgrind): wait for it.
	wait_screen '^ *\.\.\. $'
	type_text 'Vari'
	keys Tab
	wait_screen '\.\.\. Variable: $'
	type_text 'RAW'
	keys Enter Enter
	wait_log '^RECV Getvar Variable=RAW '
	wait_screen '^Variable: +RAW$'
}

@test "history is written with mode 0600 and without secrets" {
	start_fake_ami
	tty_start
	local line
	# The Login block has a bad line, so it is not sent: a second Login
	# would break the protocol. Its lines must not be saved all the same.
	for line in 'Getvar Variable=KEEP' 'Setvar Variable=secret Value=1' \
		'Action: UserEvent' 'UserEvent: HistTest' 'Secret: world' 'Key: k' '' \
		'Action: Login' 'Username: hello' 'no colon' '' 'ping -q'; do
		type_text "$line"
		keys Enter
	done
	wait_log '^RECV Ping'
	wait_prompt
	grep -q '^RECV UserEvent UserEvent=HistTest Secret=\*\*\*\* Key=\*\*\*\*' "$LOG" ||
		grep -q '^RECV UserEvent UserEvent=HistTest' "$LOG"
	keys C-d
	wait_screen '^EXITED 0$'
	local hist="$XDG_STATE_HOME/ami/history"
	assert_equal "$(stat -c %a "$hist")" 600
	assert_equal "$(stat -c %a "$(dirname "$hist")")" 700
	run cat "$hist"
	assert_output $'Getvar Variable=KEEP\nAction: UserEvent\nUserEvent: HistTest\nping -q'
}

@test "AMI_HISTFILE=/dev/null keeps no history" {
	start_fake_ami
	export AMI_HISTFILE=/dev/null
	tty_start
	type_text 'ping -q'
	keys Enter
	wait_log '^RECV Ping'
	wait_prompt
	keys C-d
	wait_screen '^EXITED 0$'
	[[ ! -e "$XDG_STATE_HOME/ami/history" ]]
}

@test "a lost connection is reported at once; the next command logs in again" {
	start_fake_ami
	tty_start
	local port=$AMI_PORT
	stop_fake_ami
	wait_screen 'lost the connection to 127\.0\.0\.1'
	wait_screen '^ami 127\.0\.0\.1 \(disconnected\)> $'
	start_fake_ami --port "$port"
	type_text ping
	keys Enter
	wait_screen 'logged in again'
	wait_screen '^pong from'
	wait_screen '^ami 127\.0\.0\.1> $'
}
