# helper.bash - loaded by every bats file with `load helper`.
#
# setup_common     private HOME/XDG dirs, no AMI_* from the caller's
#                  environment, the built ./ami first in PATH, and the test
#                  server's user (AMI_USER=hello AMI_SECRET=world AMI_HOST)
# start_fake_ami   starts tests/fake_ami.py [args...] and exports AMI_PORT
#                  and FAKE_AMI_PID; its log is $BATS_TEST_TMPDIR/ami.log
# start_fake_ami_http  the same PBX behind TCP, TLS and HTTP ports at once
#                  (tests/fake_ami_http.py): TCP_PORT TLS_PORT HTTP_PORT
# stop_fake_ami    stops it (by PID) and fails when the client broke the
#                  protocol ($BATS_TEST_TMPDIR/violations is not empty) or,
#                  under valgrind, when an ami had errors or leaks
# write_profile    stdin -> $XDG_CONFIG_HOME/ami/config, mode 600
# free_port        prints a loopback port nobody listens on
# time_bound S     S seconds scaled by $TIME_FACTOR (default 1; 3 under
#                  valgrind), for tests that bound how long ami may take
#
# AMI_VALGRIND=1 (make valgrind): setup_common puts an `ami` first in PATH
# that runs the built one under valgrind (tests/valgrind.sh), one log per
# process; stop_fake_ami then fails the test when a log is not empty.
#
# The default setup/teardown below call setup_common/stop_fake_ami; a bats
# file that defines its own should call them too.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$TESTS_DIR/.." && pwd)
FAKE_AMI="$TESTS_DIR/fake_ami.py"
# Read here: setup_common unsets every AMI_* variable.
VALGRIND_ON=${AMI_VALGRIND:-0}
if [ "$VALGRIND_ON" = 1 ]; then
	TIME_FACTOR=${TIME_FACTOR:-3}
fi
TIME_FACTOR=${TIME_FACTOR:-1}

setup_common() {
	export HOME="$BATS_TEST_TMPDIR/home"
	export XDG_CONFIG_HOME="$HOME/.config"
	export XDG_STATE_HOME="$HOME/.local/state"
	mkdir -p "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"
	local var
	for var in $(compgen -v AMI_); do
		unset "$var"
	done
	unset NO_COLOR
	export PATH="$REPO_ROOT:$PATH"
	export AMI_SECRET=world AMI_USER=hello AMI_HOST=127.0.0.1
	[ "$VALGRIND_ON" = 1 ] && valgrind_setup
	return 0
}

# The `ami` that runs the built one under valgrind; the paths are written
# into it, so tests that change the environment still get valgrind.
valgrind_setup() {
	local bin="$BATS_TEST_TMPDIR/valgrind-bin"
	mkdir -p "$bin" "$BATS_TEST_TMPDIR/valgrind"
	printf '#!/bin/sh\nexec "%s" "%s" "%s" "$@"\n' "$TESTS_DIR/valgrind.sh" \
		"$REPO_ROOT/ami" "$BATS_TEST_TMPDIR/valgrind" >"$bin/ami"
	chmod +x "$bin/ami"
	export PATH="$bin:$PATH"
}

# Fails (printing the log) when valgrind reported anything for an ami this
# test ran; each log is looked at once. Lines with "Warning:" are
# valgrind's notes about itself, not errors.
valgrind_check() {
	local log bad=0
	for log in "$BATS_TEST_TMPDIR"/valgrind/*.log; do
		[ -e "$log" ] || continue
		if grep -qv 'Warning:' "$log"; then
			echo "valgrind: errors or leaks in ami (process ${log##*/}):"
			cat "$log"
			bad=1
		fi
		mv "$log" "$log.checked"
	done
	return $bad
}

# time_bound SECONDS: SECONDS times $TIME_FACTOR (valgrind is slower).
time_bound() {
	awk -v s="$1" -v f="$TIME_FACTOR" 'BEGIN { print s * f }'
}

# wait_log ERE [SECONDS]: waits (default 10 s, scaled by time_bound) until
# the fake server has logged a matching line: it logs what it saw on its
# own time, maybe after the client has exited. Fails showing the log.
wait_log() {
	wait_file "$BATS_TEST_TMPDIR/ami.log" "$@"
}

# wait_file FILE ERE [SECONDS]: the same for any file (a client's output
# growing in the background). Fails showing the file.
wait_file() {
	local i n
	n=$(awk -v s="$(time_bound "${3:-10}")" 'BEGIN { print int(s * 20) }')
	for ((i = 0; i < n; i++)); do
		grep -qaE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "never saw /$2/ in $1:"
	cat "$1"
	return 1
}

# launch_fake SCRIPT [options...]: runs a fake server (log in
# $BATS_TEST_TMPDIR/ami.log, FAKE_AMI_PID for stop_fake_ami) and waits at
# most 5 s for its "READY ..." line, whose words it leaves in READY_WORDS.
# fd 3 is closed for the server, or bats would wait for it to exit before
# finishing the test.
launch_fake() {
	local script=$1 out="$BATS_TEST_TMPDIR/fake.out" err="$BATS_TEST_TMPDIR/fake.err" i
	local name=${1##*/}
	shift
	: >"$out"
	: >"$BATS_TEST_TMPDIR/violations"
	python3 "$script" --log "$BATS_TEST_TMPDIR/ami.log" \
		--violations "$BATS_TEST_TMPDIR/violations" "$@" >"$out" 2>"$err" 3>&- &
	FAKE_AMI_PID=$!
	export FAKE_AMI_PID
	for ((i = 0; i < 100; i++)); do
		if read -r -a READY_WORDS <"$out" && [ "${READY_WORDS[0]}" = READY ]; then
			return 0
		fi
		if ! kill -0 "$FAKE_AMI_PID" 2>/dev/null; then
			echo "$name exited before it was ready:" >&2
			cat "$err" >&2
			unset FAKE_AMI_PID
			return 1
		fi
		sleep 0.05
	done
	echo "$name was not ready within 5 s" >&2
	stop_fake_ami
	return 1
}

# start_fake_ami [fake_ami.py options...]: exports AMI_PORT.
start_fake_ami() {
	launch_fake "$FAKE_AMI" "$@" || return 1
	export AMI_PORT=${READY_WORDS[1]}
}

# start_fake_ami_http [fake_ami_http.py options...]: fake_ami.py's PBX behind
# a TCP, a TLS and an HTTP port at once; sets TCP_PORT, TLS_PORT, HTTP_PORT.
# No AMI_PORT: the environment would beat the profiles some tests write.
start_fake_ami_http() {
	launch_fake "$TESTS_DIR/fake_ami_http.py" "$@" || return 1
	TCP_PORT=${READY_WORDS[1]} TLS_PORT=${READY_WORDS[2]} HTTP_PORT=${READY_WORDS[3]}
}

# stop_fake_ami: safe to call twice or when no server was started.
stop_fake_ami() {
	if [ -n "${FAKE_AMI_PID:-}" ]; then
		kill "$FAKE_AMI_PID" 2>/dev/null || true
		wait "$FAKE_AMI_PID" 2>/dev/null || true
		unset FAKE_AMI_PID
	fi
	local v="$BATS_TEST_TMPDIR/violations" rc=0
	if [ -s "$v" ]; then
		echo "fake_ami: the client broke the AMI protocol:"
		cat "$v"
		: >"$v"    # report once, even if teardown runs stop_fake_ami again
		rc=1
	fi
	if [ "$VALGRIND_ON" = 1 ]; then
		valgrind_check || rc=1
	fi
	return $rc
}

# write_profile < config-text
write_profile() {
	mkdir -p "$XDG_CONFIG_HOME/ami"
	chmod 700 "$XDG_CONFIG_HOME/ami"
	(umask 077 && cat >"$XDG_CONFIG_HOME/ami/config")
	chmod 600 "$XDG_CONFIG_HOME/ami/config"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

setup() {
	setup_common
}

teardown() {
	stop_fake_ami
}
