#!/usr/bin/env bats
# Profiles, precedence, secret sources and their privacy checks (exit 3).
load helper

setup() { setup_common; unset AMI_SECRET AMI_USER AMI_HOST; }

@test "no config file: defaults, each marked as such" {
	run ami config
	assert_success
	assert_line --regexp '^host +127\.0\.0\.1 +\(default\)$'
	assert_line --regexp '^port +5038 +\(default\)$'
	assert_line --regexp '^timeout +10 +\(default\)$'
}

@test "config --help lists the keys of ami.conf(5), each with its variable" {
	local conf=$BATS_TEST_DIRNAME/../man/ami.conf.5 keys man_keys v
	run ami config --help
	assert_success
	keys=$(sed -n '/^Keys of a profile/,$p' <<<"$output" | awk 'NR > 1 { print $1 }' | sort)
	man_keys=$(awk '/^\.Sh KEYS/,/^\.Sh PRECEDENCE/' "$conf" | sed -n 's/^\.It Cm //p' | sort)
	assert_equal "$keys" "$man_keys"
	assert_line --regexp '^  host +AMI_HOST +AMI host.*\(default 127\.0\.0\.1\)$'
	assert_line --regexp '^  auth +login method: plain or md5 \(default plain\)$'
	for v in $(sed -n '/^Keys of a profile/,$p' <<<"$output" | grep -o 'AMI_[A-Z]*'); do
		grep -q "^\.It Ev $v\$" "$conf" || fail "$v is not in ami.conf(5)"
	done
}

@test "profile values and their file:line source" {
	write_profile <<-'EOF2'
	[default]
	host = 10.1.1.1
	[pbx1]
	host = 10.2.2.2
	port = 5039
	username = ops
	EOF2
	run ami config -p pbx1
	assert_success
	assert_line --regexp '^host +10\.2\.2\.2 +\(.*config:4 \[pbx1\]\)$'
	assert_line --regexp '^username +ops '
	AMI_PROFILE=pbx1 run ami config
	assert_line --regexp '^port +5039 '
}

@test "precedence: flag > environment > profile > default" {
	write_profile <<-'EOF2'
	[default]
	host = 10.1.1.1
	port = 6000
	EOF2
	AMI_HOST=10.9.9.9 run ami config
	assert_line --regexp '^host +10\.9\.9\.9 +\(env AMI_HOST\)$'
	AMI_HOST=10.9.9.9 run ami config -H 10.7.7.7
	assert_line --regexp '^host +10\.7\.7\.7 +\(flag --host\)$'
	assert_line --regexp '^port +6000 '
}

@test "the secret is masked and its source shown" {
	AMI_SECRET=topsecret run ami config
	assert_success
	refute_output --partial topsecret
	assert_line --regexp '^secret +\*+ +\(env AMI_SECRET\)$'
}

@test "config --list prints the profile names, then the groups with what they expand to" {
	write_profile <<-'EOF2'
	[default]
	[pbx1]
	[lab]
	EOF2
	run ami config --list
	assert_success
	assert_equal "$output" $'default\npbx1\nlab\n@all = default, pbx1, lab'
}

@test "unknown profile: exit 3" {
	write_profile <<-'EOF2'
	[default]
	host = 10.1.1.1
	EOF2
	run --separate-stderr ami ping -p nosuch
	assert_failure 3
	[[ "$stderr" == *'profile "nosuch" not found'* ]]
}

@test "a secret file readable by others: exit 3, names the file and the fix" {
	printf 'world\n' >"$BATS_TEST_TMPDIR/s"
	chmod 644 "$BATS_TEST_TMPDIR/s"
	run --separate-stderr ami ping -u hello --secret-file "$BATS_TEST_TMPDIR/s"
	assert_failure 3
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/s"* ]]
	[[ "$stderr" == *"chmod 600"* ]]
}

@test "a config file holding a secret must be private: exit 3" {
	write_profile <<-'EOF2'
	[default]
	username = hello
	secret = world
	EOF2
	chmod 644 "$XDG_CONFIG_HOME/ami/config"
	run ami ping
	assert_failure 3
}

@test "an invalid value in the config: exit 3 with file and line" {
	write_profile <<-'EOF2'
	[default]
	port = notaport
	EOF2
	run --separate-stderr ami ping
	assert_failure 3
	[[ "$stderr" == *"config:2"* ]]
}

@test "no secret anywhere and no terminal: exit 3" {
	run --separate-stderr ami ping -u hello </dev/null
	assert_failure 3
	[[ "$stderr" == *"no secret"* ]]
}

@test "secret from a private file, from stdin and from the profile: login works" {
	start_fake_ami
	printf 'world\n' >"$BATS_TEST_TMPDIR/s"
	chmod 600 "$BATS_TEST_TMPDIR/s"
	run ami ping -q -H 127.0.0.1 --port "$AMI_PORT" -u hello --secret-file "$BATS_TEST_TMPDIR/s"
	assert_success
	run bash -c "echo world | ami ping -q -H 127.0.0.1 --port $AMI_PORT -u hello --secret-stdin"
	assert_success
	write_profile <<-EOF2
	[default]
	host = 127.0.0.1
	port = $AMI_PORT
	username = hello
	secret_file = $BATS_TEST_TMPDIR/s
	EOF2
	run ami ping -q
	assert_success
	stop_fake_ami
}

@test "--config FILE that does not exist: exit 3" {
	run ami ping --config "$BATS_TEST_TMPDIR/nope"
	assert_failure 3
}
