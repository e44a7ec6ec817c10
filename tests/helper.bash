# helper.bash - loaded by every bats file with `load helper`.
#
# setup_common     private HOME/XDG dirs, no AMI_* from the caller's
#                  environment, the built ./ami first in PATH, and the test
#                  server's user (AMI_USER=hello AMI_SECRET=world AMI_HOST)
# start_fake_ami   starts tests/fake_ami.py [args...] and exports AMI_PORT
#                  and FAKE_AMI_PID; its log is $BATS_TEST_TMPDIR/ami.log
# stop_fake_ami    stops it (by PID) and fails when the client broke the
#                  protocol ($BATS_TEST_TMPDIR/violations is not empty)
# write_profile    stdin -> $XDG_CONFIG_HOME/ami/config, mode 600
# free_port        prints a loopback port nobody listens on
#
# The default setup/teardown below call setup_common/stop_fake_ami; a bats
# file that defines its own should call them too.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$TESTS_DIR/.." && pwd)
FAKE_AMI="$TESTS_DIR/fake_ami.py"

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
}

# start_fake_ami [fake_ami.py options...]
# Waits at most 5 s for "READY <port>". fd 3 is closed for the server, or
# bats would wait for it to exit before finishing the test.
start_fake_ami() {
	local out="$BATS_TEST_TMPDIR/fake_ami.out" err="$BATS_TEST_TMPDIR/fake_ami.err"
	local word port i
	: >"$out"
	: >"$BATS_TEST_TMPDIR/violations"
	python3 "$FAKE_AMI" --log "$BATS_TEST_TMPDIR/ami.log" \
		--violations "$BATS_TEST_TMPDIR/violations" "$@" >"$out" 2>"$err" 3>&- &
	FAKE_AMI_PID=$!
	export FAKE_AMI_PID
	for ((i = 0; i < 100; i++)); do
		if read -r word port <"$out" && [ "$word" = READY ]; then
			export AMI_PORT="$port"
			return 0
		fi
		if ! kill -0 "$FAKE_AMI_PID" 2>/dev/null; then
			echo "fake_ami.py exited before it was ready:" >&2
			cat "$err" >&2
			unset FAKE_AMI_PID
			return 1
		fi
		sleep 0.05
	done
	echo "fake_ami.py was not ready within 5 s" >&2
	stop_fake_ami
	return 1
}

# stop_fake_ami: safe to call twice or when no server was started.
stop_fake_ami() {
	if [ -n "${FAKE_AMI_PID:-}" ]; then
		kill "$FAKE_AMI_PID" 2>/dev/null || true
		wait "$FAKE_AMI_PID" 2>/dev/null || true
		unset FAKE_AMI_PID
	fi
	local v="$BATS_TEST_TMPDIR/violations"
	if [ -s "$v" ]; then
		echo "fake_ami: the client broke the AMI protocol:"
		cat "$v"
		: >"$v"    # report once, even if teardown runs stop_fake_ami again
		return 1
	fi
	return 0
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
