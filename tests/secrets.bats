#!/usr/bin/env bats
# Secrets (issue 8): never in argv, masked in -vv traces, gone from memory
# once the login is done, refused from files others can read, never echoed
# in an error. (History without secrets: shell-tty.bats.)
load helper

setup() {
	setup_common
	# A secret found nowhere else, for a user of its own (fake_ami --user).
	SECRET="Zq7-secret-$RANDOM$RANDOM"
	unset AMI_SECRET
	export AMI_USER=keeper
	SFILE="$BATS_TEST_TMPDIR/secret"
	(umask 077 && printf '%s\n' "$SECRET" >"$SFILE")
	BG_PID=
}

teardown() {
	if [[ -n $BG_PID ]]; then
		kill "$BG_PID" 2>/dev/null || true
		wait "$BG_PID" 2>/dev/null || true
	fi
	stop_fake_ami
}

start_server() {
	start_fake_ami --user "keeper:$SECRET" "$@"
}

# bg ARGS...: runs ami ARGS in the background (BG_PID), output in files.
bg() {
	ami "$@" >"$BATS_TEST_TMPDIR/bg.out" 2>"$BATS_TEST_TMPDIR/bg.err" 3>&- &
	BG_PID=$!
}

# scan_memory PID TEXT: prints the writable mappings of PID that hold TEXT;
# fails when there is one. Mappings over 1 GiB are skipped: they are
# reservations (ASan's shadow memory), not data.
scan_memory() {
	python3 - "$1" "$2" <<'EOF'
import sys
pid, needle = int(sys.argv[1]), sys.argv[2].encode()
hits = []
with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
    for line in maps:
        f = line.split()
        if "r" not in f[1] or "w" not in f[1]:
            continue                    # heap, stack, data: where copies would be
        start, end = (int(x, 16) for x in f[0].split("-"))
        if end - start > 1 << 30:
            continue
        tail = b""
        for pos in range(start, end, 1 << 20):
            try:
                mem.seek(pos)
                data = tail + mem.read(min(1 << 20, end - pos))
            except (OSError, ValueError, OverflowError):
                break
            if needle in data:
                hits.append(line.strip())
                break
            tail = data[-len(needle):]
print("\n".join(hits))
sys.exit(1 if hits else 0)
EOF
}

# ---- argv -------------------------------------------------------------------

@test "there is no option that takes a secret on the command line" {
	run --separate-stderr ami ping --secret "$SECRET"
	assert_failure 2
	[[ $stderr != *"$SECRET"* ]] || fail "the secret was echoed: $stderr"
	run --separate-stderr ami ping --password "$SECRET"
	assert_failure 2
}

@test "/proc/PID/cmdline of a running ping (secret from AMI_SECRET) holds no secret" {
	start_server
	AMI_SECRET=$SECRET bg ping -c 5 -i 1
	wait_log '^RECV Ping '
	run cat "/proc/$BG_PID/cmdline"
	assert_success
	assert_output --partial "ping"
	refute_output --partial "$SECRET"
}

@test "/proc/PID/cmdline of a running tail-events (--secret-file) holds no secret" {
	start_server --events 1000 --event-rate 20
	bg tail-events --secret-file "$SFILE"
	wait_log '^RECV Events '
	run cat "/proc/$BG_PID/cmdline"
	assert_success
	assert_output --partial "tail-events"
	assert_output --partial "$SFILE"
	refute_output --partial "$SECRET"
}

# ---- traces -------------------------------------------------------------------

@test "-vv masks the Secret header of Login" {
	start_server
	AMI_SECRET=$SECRET run --separate-stderr ami ping -vv
	assert_success
	[[ $stderr == *">> Action: Login"* ]] || fail "no wire trace: $stderr"
	[[ $stderr == *">> Secret: ********"* ]] || fail "Secret not masked: $stderr"
	[[ $stderr != *"$SECRET"* ]] || fail "the secret is in the trace"
}

@test "-vv with --auth md5 masks the Key, which would allow an offline guess" {
	start_server
	AMI_SECRET=$SECRET run --separate-stderr ami ping -vv --auth md5
	assert_success
	[[ $stderr == *">> Key: ********"* ]] || fail "Key not masked: $stderr"
	challenge=$(sed -n 's/^<< Challenge: //p' <<<"$stderr")
	[[ -n $challenge ]] || fail "no Challenge in the trace"
	key=$(printf '%s%s' "$challenge" "$SECRET" | md5sum | cut -d' ' -f1)
	[[ $stderr != *"$key"* ]] || fail "the MD5 key is in the trace"
	[[ $stderr != *"$SECRET"* ]] || fail "the secret is in the trace"
}

@test "-vv in ami shell masks the secret too" {
	start_server
	run --separate-stderr ami shell -vv --secret-file "$SFILE" <<<'ping'
	assert_success
	[[ $stderr == *">> Secret: ********"* ]] || fail "Secret not masked: $stderr"
	[[ $stderr != *"$SECRET"* ]] || fail "the secret is in the trace"
}

# ---- memory -------------------------------------------------------------------

# The secret is wiped once the login is done: a core dump or a debugger
# attached later must not find it. Not under valgrind, whose own memory
# is part of the process.
@test "after login the secret is gone from memory: --secret-file, plain and md5" {
	[[ $VALGRIND_ON != 1 ]] || skip "valgrind's memory is part of the process"
	start_server
	bg ping -c 10 -i 0.5 --secret-file "$SFILE"
	wait_log '^RECV Ping '
	run scan_memory "$BG_PID" "$SECRET"
	assert_success
	kill "$BG_PID"
	wait "$BG_PID" || true
	: >"$BATS_TEST_TMPDIR/ami.log"
	bg ping -c 10 -i 0.5 --secret-file "$SFILE" --auth md5
	wait_log '^RECV Ping '
	run scan_memory "$BG_PID" "$SECRET"
	assert_success
}

@test "after login the secret is gone from memory: --secret-stdin and the config file" {
	[[ $VALGRIND_ON != 1 ]] || skip "valgrind's memory is part of the process"
	start_server
	mkfifo "$BATS_TEST_TMPDIR/in"
	ami ping -c 10 -i 0.5 --secret-stdin <"$BATS_TEST_TMPDIR/in" \
		>"$BATS_TEST_TMPDIR/bg.out" 2>"$BATS_TEST_TMPDIR/bg.err" 3>&- &
	BG_PID=$!
	exec 4>"$BATS_TEST_TMPDIR/in"
	printf '%s\n' "$SECRET" >&4
	wait_log '^RECV Ping '
	run scan_memory "$BG_PID" "$SECRET"
	exec 4>&-
	assert_success
	kill "$BG_PID"
	wait "$BG_PID" || true
	: >"$BATS_TEST_TMPDIR/ami.log"
	write_profile <<-EOF
	[default]
	port = $AMI_PORT
	username = keeper
	secret = $SECRET
	EOF
	bg ping -c 10 -i 0.5
	wait_log '^RECV Ping '
	run scan_memory "$BG_PID" "$SECRET"
	assert_success
}

# ---- files others can read -------------------------------------------------------

@test "secret files with group or other permissions: exit 3 and the fix" {
	local mode
	for mode in 644 640 604 660 606 620 602; do
		chmod "$mode" "$SFILE"
		run --separate-stderr ami ping --secret-file "$SFILE" --port "$(free_port)"
		assert_failure 3
		[[ $stderr == *"$SFILE has mode 0$mode; it must be private: chmod 600 $SFILE"* ]] ||
			fail "mode $mode: $stderr"
		[[ $stderr != *"$SECRET"* ]] || fail "the secret was echoed"
	done
	for mode in 600 400; do
		chmod "$mode" "$SFILE"
		start_server
		run ami ping -q --secret-file "$SFILE"
		assert_success
		stop_fake_ami
	done
}

@test "a secret file owned by someone else: exit 3" {
	[[ $EUID -eq 0 ]] || skip "needs root to give a file away"
	getent passwd nobody >/dev/null || skip "no user nobody"
	chown nobody "$SFILE"
	run --separate-stderr ami ping --secret-file "$SFILE" --port "$(free_port)"
	assert_failure 3
	[[ $stderr == *"$SFILE is owned by uid $(id -u nobody), not by you (uid 0)"* ]] ||
		fail "$stderr"
}

@test "a symlink to a readable file, a directory, a FIFO: exit 3, no hang" {
	printf '%s\n' "$SECRET" >"$BATS_TEST_TMPDIR/open"
	chmod 644 "$BATS_TEST_TMPDIR/open"
	ln -s "$BATS_TEST_TMPDIR/open" "$BATS_TEST_TMPDIR/link"
	run --separate-stderr ami ping --secret-file "$BATS_TEST_TMPDIR/link" --port "$(free_port)"
	assert_failure 3
	[[ $stderr == *"has mode 0644"* ]] || fail "$stderr"
	mkdir -m 700 "$BATS_TEST_TMPDIR/dir"
	run --separate-stderr ami ping --secret-file "$BATS_TEST_TMPDIR/dir" --port "$(free_port)"
	assert_failure 3
	[[ $stderr == *"is not a regular file"* ]] || fail "$stderr"
	mkfifo -m 600 "$BATS_TEST_TMPDIR/fifo"
	run --separate-stderr timeout 10 ami ping --secret-file "$BATS_TEST_TMPDIR/fifo" \
		--port "$(free_port)"
	assert_failure 3
	[[ $stderr == *"is not a regular file"* ]] || fail "$stderr"
}

@test "a config file holding a secret with mode 0640 or 0604: exit 3, names the line" {
	local mode
	write_profile <<-EOF
	[default]
	username = keeper
	secret = $SECRET
	EOF
	for mode in 640 604; do
		chmod "$mode" "$XDG_CONFIG_HOME/ami/config"
		run --separate-stderr ami ping --port "$(free_port)"
		assert_failure 3
		[[ $stderr == *"config file $XDG_CONFIG_HOME/ami/config has mode 0$mode and holds a secret (line 3)"* ]] ||
			fail "mode $mode: $stderr"
		[[ $stderr != *"$SECRET"* ]] || fail "the secret was echoed"
	done
}

@test "a readable config without a secret is fine; its secret_file must be private" {
	start_server
	write_profile <<-EOF
	[default]
	port = $AMI_PORT
	username = keeper
	secret_file = secret
	EOF
	chmod 644 "$XDG_CONFIG_HOME/ami/config"
	cp "$SFILE" "$XDG_CONFIG_HOME/ami/secret"
	chmod 600 "$XDG_CONFIG_HOME/ami/secret"
	run ami ping -q
	assert_success
	chmod 640 "$XDG_CONFIG_HOME/ami/secret"
	run --separate-stderr ami ping -q
	assert_failure 3
	[[ $stderr == *"$XDG_CONFIG_HOME/ami/secret has mode 0640"* ]] || fail "$stderr"
}

# ---- never echoed ------------------------------------------------------------------

@test "a bad secret is refused without echoing it" {
	printf 'wor\rld-%s\n' "$SECRET" >"$SFILE"
	run --separate-stderr ami ping --secret-file "$SFILE" --port "$(free_port)"
	assert_failure 3
	[[ $stderr == *"the secret contains a carriage return (CR)"* ]] || fail "$stderr"
	[[ $stderr != *"$SECRET"* ]] || fail "the secret was echoed"
	printf 'wor\0ld-%s\n' "$SECRET" >"$SFILE"
	run --separate-stderr ami ping --secret-file "$SFILE" --port "$(free_port)"
	assert_failure 3
	[[ $stderr == *"the secret contains a NUL byte"* ]] || fail "$stderr"
	[[ $stderr != *"$SECRET"* ]] || fail "the secret was echoed"
	AMI_SECRET=$'a\r'$SECRET run --separate-stderr ami ping --port "$(free_port)"
	assert_failure 3
	[[ $stderr == *"AMI_SECRET contains a carriage return"* ]] || fail "$stderr"
	[[ $stderr != *"$SECRET"* ]] || fail "the secret was echoed"
	write_profile <<-EOF
	[default]
	secret = "unterminated $SECRET
	EOF
	run --separate-stderr ami ping --port "$(free_port)"
	assert_failure 3
	[[ $stderr != *"$SECRET"* ]] || fail "the secret was echoed: $stderr"
	printf '[default]\nsecret = a\r%s\n' "$SECRET" | write_profile
	run --separate-stderr ami ping --port "$(free_port)"
	assert_failure 3
	[[ $stderr == *"secret: contains a control character"* ]] || fail "$stderr"
	[[ $stderr != *"$SECRET"* ]] || fail "the secret was echoed: $stderr"
}

@test "a URL with credentials is refused without echoing them" {
	run --separate-stderr ami ping --url "http://keeper:$SECRET@127.0.0.1:8088/"
	assert_failure 2
	[[ $stderr == *"credentials do not belong in a URL"* ]] || fail "$stderr"
	[[ $stderr != *"$SECRET"* ]] || fail "the secret was echoed: $stderr"
}

@test "a wrong secret: exit 4 with the server's reason, the secret not echoed" {
	start_server
	AMI_SECRET="wrong-$SECRET" run --separate-stderr ami ping
	assert_failure 4
	assert_equal "$stderr" "ami ping: authentication failed for user \"keeper\" on 127.0.0.1:$AMI_PORT: Authentication failed"
	AMI_SECRET="wrong-$SECRET" run --separate-stderr ami ping --auth md5
	assert_failure 4
	assert_equal "$stderr" "ami ping: authentication failed for user \"keeper\" on 127.0.0.1:$AMI_PORT: Authentication failed"
}
