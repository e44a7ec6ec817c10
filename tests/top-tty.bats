#!/usr/bin/env bats
# ami top on a terminal: the live panel runs in a private tmux server
# (send-keys types, capture-pane reads the screen). A call appears within a
# second, h + y hangs it up, t sends the Redirect, b originates ChanSpy, the
# views, filter, resize, colours, permissions, a lost connection, a server
# that answers no list, escape sequences from the server; and the
# terminal modes are the same after q, Ctrl-C, SIGTERM, SIGHUP and a crash
# as before (stty -a). Snapshots without a terminal are in top.bats.
load helper

setup() {
	command -v tmux >/dev/null || skip "tmux is not installed"
	setup_common
	LOG="$BATS_TEST_TMPDIR/ami.log"
	TMUX_SOCK="$BATS_TEST_TMPDIR/tmux.sock"
	SCREEN="$BATS_TEST_TMPDIR/screen"
	D=$BATS_TEST_TMPDIR
}

teardown() {
	tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	stop_fake_ami
}

# panel_start [-x COLS -y LINES] [ami top options...]: runs `ami top` in a
# tmux window (80x24 unless told) between two `stty -a`, and waits for its
# header. $D/pid is its process; "EXITED rc" shows when it ends.
panel_start() {
	local x=80 y=24 cmd="" a
	while [ "${1:-}" = -x ] || [ "${1:-}" = -y ]; do
		[ "$1" = -x ] && x=$2 || y=$2
		shift 2
	done
	for a in "$@"; do
		cmd+=" $(printf '%q' "$a")"
	done
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x "$x" -y "$y" \
		"stty -a >$D/stty.before; sh -c 'echo \$\$ >$D/pid; exec ami top$cmd'; echo EXITED \$?; stty -a >$D/stty.after; sleep 60"
	wait_screen '^ami top '
}

# panel_kill: ends the tmux server and waits until it is gone, so that the
# next panel_start does not meet the old server on the same socket ("server
# exited unexpectedly").
panel_kill() {
	local i
	tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		tmux -S "$TMUX_SOCK" has-session 2>/dev/null || break
		sleep 0.05
	done
	rm -f "$TMUX_SOCK"
}

capture() {
	tmux -S "$TMUX_SOCK" capture-pane -p "$@" >"$SCREEN"
}

# wait_screen ERE [SECONDS]: polls the screen until a line matches.
wait_screen() {
	local n i
	n=$(awk -v s="${2:-5}" -v f="$TIME_FACTOR" 'BEGIN { print int(s * f * 20) + 1 }')
	for ((i = 0; i < n; i++)); do
		capture
		grep -qE -- "$1" "$SCREEN" && return 0
		sleep 0.05
	done
	echo "screen never showed /$1/:"
	cat "$SCREEN"
	return 1
}

# no_screen ERE: waits until no line matches (a row went away).
no_screen() {
	local i
	for ((i = 0; i < 100; i++)); do
		capture
		grep -qE -- "$1" "$SCREEN" || return 0
		sleep 0.05
	done
	echo "screen still shows /$1/:"
	cat "$SCREEN"
	return 1
}

keys() {
	tmux -S "$TMUX_SOCK" send-keys "$@"
}

type_text() {
	tmux -S "$TMUX_SOCK" send-keys -l -- "$1"
}

# The panel has ended with status $1 and the terminal is as it was.
assert_ended() {
	wait_screen "^EXITED $1\$" 10
	for _ in $(seq 50); do [ -s "$D/stty.after" ] && break; sleep 0.1; done
	assert_equal "$(cat "$D/stty.after")" "$(cat "$D/stty.before")"
}

@test "a call originated on the server shows within 1 s; q exits 0 and the terminal is restored" {
	start_fake_ami
	panel_start
	wait_screen 'no calls'
	ami originate Local/loop@test --app Wait --data 60 >/dev/null
	wait_screen '^up +[0-9:]+ +Local/loop@test-00000001;1 ' 1
	keys q
	assert_ended 0
	wait_log '^RECV Logoff'
}

@test "h asks y/n: n sends nothing, y hangs the call up (every channel) and the row goes" {
	start_fake_ami --channels 2
	panel_start
	wait_screen '^up '
	keys h
	wait_screen '^Hang up the call .*\(2 channels\)\? \(y/n\)'
	keys n
	wait_screen '^cancelled: nothing hung up'
	run grep -c 'RECV Hangup' "$LOG"
	assert_output 0
	keys h
	wait_screen '\(y/n\)'
	keys y
	wait_log '^RECV Hangup Channel=Local/loop@test-00000001;1 '
	wait_screen '^Success: hung up the call of Local/loop@test-00000001;1 \(2 channels\)'
	no_screen '^up '
	wait_screen 'no calls'
}

@test "t sends the Redirect to exten@context; a bare exten goes to the context the channel is in" {
	start_fake_ami --channels 2
	panel_start
	wait_screen '^up '
	keys t
	wait_screen '^Transfer Local/loop@test-00000001;1 to exten\[@context\]:$'
	type_text '1234@park'
	keys Enter
	wait_log '^RECV Redirect Channel=Local/loop@test-00000001;1 Context=park Exten=1234 Priority=1 '
	wait_screen '^Success: Local/loop@test-00000001;1 sent to 1234@park'
	keys T
	wait_screen '^Transfer Local/loop@test-00000001;1 to'
	type_text 'loop'
	keys Enter
	wait_log '^RECV Redirect Channel=Local/loop@test-00000001;1 Context=test Exten=loop '
	keys t Escape
	wait_screen '^cancelled'
	keys 2 t
	type_text 'nowhere@park'
	keys Enter
	wait_screen '^Success: Local/loop@test-00000001;1 sent'
	run grep -c 'RECV Redirect' "$LOG"
	assert_output 3
}

@test "t on a bridged two-party call moves both parties in one Redirect (ExtraChannel)" {
	start_fake_ami --calls 1
	panel_start -x 120
	wait_screen '^up .* bridged '
	keys t
	wait_screen '^Transfer PJSIP/1000-00000001 and PJSIP/1001-00000002 to exten\[@context\]:$'
	type_text '700@confbridge'
	keys Enter
	wait_log '^RECV Redirect Channel=PJSIP/1000-00000001 Context=confbridge Exten=700 Priority=1 ExtraChannel=PJSIP/1001-00000002 ExtraContext=confbridge ExtraExten=700 ExtraPriority=1 '
	wait_screen '^Success: PJSIP/1000-00000001 and PJSIP/1001-00000002 sent to 700@confbridge'
	wait_screen '^up .* conference 700 +2 members'
	keys 3
	wait_screen '^  PJSIP/1001-00000002 +1001 Bob Jones'
}

@test "T moves the caller alone (Asterisk hangs up the other party); the queue shows it" {
	start_fake_ami --calls 1
	panel_start -x 120
	wait_screen '^up .* bridged '
	keys T
	wait_screen '^Transfer PJSIP/1000-00000001 to exten\[@context\]:$'
	type_text 'queue@test'
	keys Enter
	wait_log '^RECV Redirect Channel=PJSIP/1000-00000001 Context=test Exten=queue Priority=1 ActionID='
	keys 4
	wait_screen '^  1\. PJSIP/1000-00000001 +waiting +[0-9:]+ +1000 Alice Jones'
}

@test "live: hold shows as hold, a caller joining a queue shows under it within 1 s" {
	start_fake_ami --calls 1
	panel_start -x 120
	wait_screen '^up .* bridged '
	ami action FakePBX Operation=hold Channel=PJSIP/1001-00000002 >/dev/null
	wait_screen '^hold .* bridged ' 1
	keys 4
	wait_screen '^support '
	ami originate Local/queue@test --app Wait --data 600 >/dev/null
	wait_screen '^  1\. Local/queue@test-[0-9a-f]{8};2 +waiting' 1
	wait_screen '^support +1 waiting'
}

@test "b: ChanSpy from the phone given (remembered, mode 0600), w whispers" {
	start_fake_ami --channels 2
	panel_start
	wait_screen '^up '
	keys b
	wait_screen '^Listen to Local/loop@test-00000001;1 from your phone:$'
	type_text 'PJSIP/100'
	keys Enter
	wait_log '^RECV Originate ActionID=top-spy-[0-9]+-1 Channel=PJSIP/100 Application=ChanSpy Data=Local/loop@test-00000001;1,qE Timeout=30000 Async=true'
	wait_screen 'PJSIP/100 answered: ChanSpy is on'
	local f="$XDG_STATE_HOME/ami/top-spy"
	assert_equal "$(cat "$f")" "default	PJSIP/100"
	assert_equal "$(stat -c %a "$f")" 600
	assert_equal "$(stat -c %a "$XDG_STATE_HOME/ami")" 700
	keys w
	wait_screen '^whisper on'
	keys b
	wait_screen '^Whisper to Local/loop@test-00000001;1 from your phone: PJSIP/100$'
	keys Enter
	wait_log 'Application=ChanSpy Data=Local/loop@test-00000001;1,qEw '
	keys q
	assert_ended 0
	# the next panel offers the same phone
	panel_kill
	panel_start
	wait_screen '^up '
	keys b
	wait_screen 'from your phone: PJSIP/100$'
}

@test "b: a remembered phone with a CR is not offered; a phone that is not a channel is refused" {
	start_fake_ami --channels 2
	mkdir -p "$XDG_STATE_HOME/ami"
	printf 'default\tPJSIP/100\r\n' >"$XDG_STATE_HOME/ami/top-spy"
	panel_start
	wait_screen '^up '
	keys b
	wait_screen 'from your phone:$'
	type_text '100'
	keys Enter
	wait_screen '^your phone must be a channel like PJSIP/100'
	run grep -c 'RECV Originate' "$LOG"
	assert_output 0
}

@test "views switch with Tab and 1-5; / filters as typed, Esc restores; ? shows the keys" {
	start_fake_ami --channels 4
	panel_start
	wait_screen '^up '
	keys Tab
	wait_screen '^CHANNEL +STATE +TIME'
	wait_screen '^Local/loop@test-00000002;2 +Up '
	keys 3
	wait_screen '^CONFERENCE / MEMBER'
	keys 4
	wait_screen '^QUEUE / CALLER / MEMBER'
	keys 5
	wait_screen '^EXTENSION / DEVICE'
	keys 2 /
	type_text ';2'
	wait_screen '^Filter: ;2$'
	no_screen ';1 +Up'
	keys Escape
	wait_screen ';1 +Up'
	keys / C-u
	type_text 'zzz'
	keys Enter
	wait_screen 'nothing matches the filter'
	keys '?'
	wait_screen '^ami top - keys'
	keys x
	wait_screen '^CHANNEL '
}

@test "resize redraws at the new size; 300x100 and 80x24 both work" {
	start_fake_ami --channels 2
	panel_start -x 300 -y 100
	wait_screen '^up '
	capture
	assert_equal "$(awk 'NR == 1 { print length }' "$SCREEN")" 300
	tmux -S "$TMUX_SOCK" resize-window -x 80 -y 24
	wait_screen '^ami top .{60,}[0-9]{2}:[0-9]{2}:[0-9]{2}$'
	capture
	assert_equal "$(awk 'NR == 1 { print length }' "$SCREEN")" 80
	assert_equal "$(grep -c '' "$SCREEN")" 24
	tmux -S "$TMUX_SOCK" resize-window -x 120 -y 30
	wait_screen '^ami top .{100,}[0-9]{2}:[0-9]{2}:[0-9]{2}$'
	keys q
	wait_screen '^EXITED 0$'
}

@test "Ctrl-C exits 130 after Logoff, the terminal restored" {
	start_fake_ami --channels 2
	panel_start
	wait_screen '^up '
	keys C-c
	assert_ended 130
	wait_log '^RECV Logoff'
}

@test "SIGTERM exits 143, SIGHUP 129, the terminal restored each time" {
	start_fake_ami
	panel_start
	kill -TERM "$(cat "$D/pid")"
	assert_ended 143
	panel_kill
	rm -f "$D/stty.after"
	panel_start
	kill -HUP "$(cat "$D/pid")"
	assert_ended 129
}

@test "a crash (SIGSEGV) still restores the terminal" {
	[ "$VALGRIND_ON" = 1 ] && skip "valgrind reports the crash it is told to simulate"
	ldd "$REPO_ROOT/ami" | grep -q libasan && skip "ASan takes SIGSEGV itself (it reports and exits 1)"
	start_fake_ami
	panel_start
	kill -SEGV "$(cat "$D/pid")"
	assert_ended 139
}

@test "the server goes away: the panel says so, reconnects when it is back, reads the lists again" {
	local port
	port=$(free_port)
	start_fake_ami --port "$port" --channels 2
	panel_start -x 120
	wait_screen '^up '
	stop_fake_ami
	wait_screen 'connection lost [0-9]+s ago: .*next attempt in'
	start_fake_ami --port "$port" --channels 4
	wait_screen '^reconnected after [0-9.]+ s \([0-9]+ attempts?\); lists read again' 40
	wait_screen 'calls 2 '
	keys q
	assert_ended 0
}

@test "a user who may not read some lists: the notice line names them and the class; the rest works" {
	start_fake_ami --channels 2
	AMI_USER=limited AMI_SECRET=limited panel_start -x 300
	wait_screen 'no extensions: ExtensionStateList: Permission denied \(manager\.conf: write = call or reporting\)'
	wait_screen '^up '
	keys 5
	wait_screen 'no hinted extensions or devices'
}

@test "escape sequences from the server (a caller ID, a refusal's Message) never reach the terminal" {
	start_fake_ami --hostile escape-seq
	ami originate Local/loop@test --app Wait --data 60 \
		--callerid $'"Evil\e]0;title\a\e[2J" <100>' >/dev/null
	AMI_USER=limited AMI_SECRET=limited panel_start -x 200
	wait_screen '^up .* 100 Evil\?\]0;title\?\?\[2J '
	keys t
	type_text '1@x'
	keys Enter
	wait_screen '^Redirect Local/loop@test-00000001;1: Permission denied \\x1b\]0;title\\x07\\x1b\[2J\\xc2\\x9b31m$'
	wait_screen '^ami top '     # the screen was not cleared
	[[ $(tmux -S "$TMUX_SOCK" display-message -p '#{pane_title}') != title ]] ||
		fail "the server retitled the terminal"
	keys q
	assert_ended 0
}

@test "a server that answers no list: the panel starts after one timeout, says what is missing, q works" {
	start_fake_ami --hostile event-flood
	panel_start -x 200 -t 1
	wait_screen 'no channels: CoreShowChannels: .*time'
	keys 4
	wait_screen 'no queues: QueueStatus: not asked: an earlier list timed out'
	keys q
	assert_ended 0
}

@test "colours by state; none with NO_COLOR or --no-color" {
	start_fake_ami --channels 2
	panel_start
	wait_screen '^up '
	capture -e
	grep -q $'\e\\[32m' "$SCREEN"
	panel_kill
	NO_COLOR=1 panel_start
	wait_screen '^up '
	capture -e
	run grep -c $'\e\\[3[0-7]m' "$SCREEN"
	assert_output 0
	panel_kill
	panel_start --no-color
	wait_screen '^up '
	capture -e
	run grep -c $'\e\\[3[0-7]m' "$SCREEN"
	assert_output 0
}

@test "--secret-stdin: the secret from the pipe, the keys from the terminal" {
	start_fake_ami --channels 2
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x 80 -y 24 \
		"echo world | env -u AMI_SECRET ami top --secret-stdin; echo EXITED \$?; sleep 60"
	wait_screen '^up '
	keys q
	wait_screen '^EXITED 0$'
}
