#!/usr/bin/env bats
# ami ping against the test server: both login methods, count, JSON, failures.
load helper

setup() { setup_common; }
teardown() { stop_fake_ami; }

@test "ping prints the round trip and exits 0" {
	start_fake_ami
	run --separate-stderr ami ping
	assert_success
	assert_output --regexp "^pong from 127\.0\.0\.1:$AMI_PORT: seq=1 time=[0-9.]+ ms$"
	grep -q "RECV Login" "$BATS_TEST_TMPDIR/ami.log"
	grep -q "RECV Ping" "$BATS_TEST_TMPDIR/ami.log"
	grep -q "RECV Logoff" "$BATS_TEST_TMPDIR/ami.log"
}

@test "ping logs in with Events: off" {
	start_fake_ami
	run ami ping
	assert_success
	grep "RECV Login" "$BATS_TEST_TMPDIR/ami.log" | grep -q "Events=off"
}

@test "ping with MD5 challenge login" {
	start_fake_ami
	run ami ping --auth md5
	assert_success
	grep -q "RECV Challenge" "$BATS_TEST_TMPDIR/ami.log"
	grep "RECV Login" "$BATS_TEST_TMPDIR/ami.log" | grep -q "AuthType=MD5"
	! grep "RECV Login" "$BATS_TEST_TMPDIR/ami.log" | grep -q "Secret="
}

@test "ping -c 3 -i 0.1 pings three times" {
	start_fake_ami
	run ami ping -c 3 -i 0.1
	assert_success
	assert_equal "$(grep -c '^pong from' <<<"$output")" 3
	assert_equal "$(grep -c 'RECV Ping' "$BATS_TEST_TMPDIR/ami.log")" 3
}

@test "ping -q prints nothing and exits 0" {
	start_fake_ami
	run --separate-stderr ami -q ping
	assert_success
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}

@test "ping --json prints one object per ping" {
	start_fake_ami
	run ami ping --json -c 2 -i 0
	assert_success
	assert_equal "$(wc -l <<<"$output")" 2
	assert_line --index 0 --regexp '^\{"host":"127\.0\.0\.1:[0-9]+","seq":1,"time_ms":[0-9.]+,"timestamp":"[0-9.]+"\}$'
}

@test "wrong secret: exit 4 after the server's 1 s delay, says authentication failed" {
	start_fake_ami
	AMI_SECRET=wrong run --separate-stderr ami ping
	assert_failure 4
	[[ "$stderr" == *"authentication failed for user \"hello\""* ]]
}

@test "wrong secret with md5: exit 4" {
	start_fake_ami
	AMI_SECRET=wrong run ami ping --auth md5
	assert_failure 4
}

@test "nothing listening: exit 5" {
	port=$(free_port)
	run --separate-stderr ami ping --port "$port"
	assert_failure 5
	[[ "$stderr" == *"cannot connect to 127.0.0.1 port $port"* ]]
}

@test "unknown host: exit 5" {
	run ami ping -H no-such-host.invalid
	assert_failure 5
}

@test "SIGINT during ping -c: Logoff, exit 130" {
	start_fake_ami
	ami ping -c 100 -i 1 >/dev/null 2>&1 3>&- &
	pid=$!
	sleep 1
	kill -INT $pid
	wait $pid || rc=$?
	assert_equal "${rc:-0}" 130
	grep -q "RECV Logoff" "$BATS_TEST_TMPDIR/ami.log"
}
