#!/usr/bin/env bats
# ami callfile: the exact file for every option, the refusals, atomic
# spooling (ENOSPC, read-only, cross-filesystem, permissions, a polling
# reader), scheduling mtimes, --wait against a fake outgoing_done, check
# and list. No Asterisk is needed: the spool is a directory of the test.

bats_require_minimum_version 1.5.0

if [[ -f "$BATS_TEST_DIRNAME/helper.bash" ]]; then
	load helper
fi
if ! declare -F assert_success >/dev/null; then
	bats_load_library bats-support
	bats_load_library bats-assert
fi

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

setup() {
	if declare -F setup_common >/dev/null; then
		setup_common
	else
		export HOME=$BATS_TEST_TMPDIR/home XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/home/.config
		mkdir -p "$HOME"
		unset AMI_CONFIG AMI_PROFILE AMI_HOST AMI_PORT AMI_USER AMI_SECRET
		PATH=$TOP:$PATH
	fi
	P=$BATS_TEST_TMPDIR/spool          # the spool's parent (astspooldir)
	S=$P/outgoing
	D=$P/outgoing_done
	mkdir -p "$S"
	MOUNTS=()
	PIDS=()
	EXTRA_DIRS=()
}

teardown() {
	local pid m d
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for d in "${EXTRA_DIRS[@]}"; do
		rm -rf "$d"
	done
	if [ "${VALGRIND_ON:-0}" = 1 ]; then
		valgrind_check || return 1
	fi
	return 0
}

# The one file in the spool (fails when there is not exactly one).
spooled() {
	local f=("$S"/*)
	[[ ${#f[@]} -eq 1 && -f ${f[0]} ]] || { ls -la "$S" >&2; return 1; }
	printf '%s\n' "${f[0]}"
}

assert_spool_empty() {
	run ls -A "$S"
	assert_output ""
}

# No temporary file left next to the spool.
assert_no_temp() {
	run find "$P" "${@}" -name '.ami-callfile-*'
	assert_output ""
}

# Mounts a tmpfs of SIZE on DIR, or skips the test when we may not.
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null || skip "cannot mount a tmpfs here"
	MOUNTS+=("$1")
}

# Sets d to a directory that the user nobody can reach (BATS_TEST_TMPDIR is
# private), holding a copy of ami; teardown removes it.
open_dir() {
	d=$(mktemp -d /tmp/ami-callfile-test.XXXXXX)
	chmod 755 "$d"
	EXTRA_DIRS+=("$d")
	cp "$TOP/ami" "$d/ami"
}

need_root() {
	[[ $EUID -eq 0 ]] || skip "needs root"
}

need_nobody() {
	need_root
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	getent passwd nobody >/dev/null || skip "no user nobody"
}

as_nobody() {
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"
}

# ---------------------------------------------------------------- the file

@test "--help: usage on stdout, exit 0" {
	run --separate-stderr ami callfile --help
	assert_success
	assert_line --index 0 --partial "usage: ami callfile"
	assert_output --partial "--early-media"
	assert_equal "$stderr" ""
}

@test "callfile is in ami --list" {
	run ami --list
	assert_line callfile
}

@test "--print: the exact file for an application call" {
	run --separate-stderr ami callfile SIP/100 --app Playback --data wakeup --print
	assert_success
	assert_output "$(printf 'Channel: SIP/100\nApplication: Playback\nData: wakeup')"
	assert_equal "$stderr" ""
}

@test "--print: every option, in Asterisk's spelling and a fixed order" {
	run ami callfile Local/100@from-internal --app Dial --data 'PJSIP/200,30,tT' \
		--callerid '"Wake-up" <100>' --wait-time 30 --max-retries 2 --retry-time 60 \
		--account acct7 --set A=1 --set 'CDR(userfield)=x' --codecs alaw,ulaw \
		--archive --always-delete=no --print
	assert_success
	assert_output - <<-'EOF'
	Channel: Local/100@from-internal
	CallerID: "Wake-up" <100>
	WaitTime: 30
	MaxRetries: 2
	RetryTime: 60
	Account: acct7
	Application: Dial
	Data: PJSIP/200,30,tT
	Setvar: A=1
	Setvar: CDR(userfield)=x
	Codecs: alaw,ulaw
	Archive: yes
	AlwaysDelete: no
	EOF
}

@test "--print: an extension call; priority defaults to 1; early_media spelling" {
	run ami callfile PJSIP/200 --context default --exten 100 --early-media --print
	assert_success
	assert_output "$(printf 'Channel: PJSIP/200\nContext: default\nExtension: 100\nPriority: 1\nearly_media: yes')"
	refute_output --partial EarlyMedia
	run ami callfile PJSIP/200 --context default --exten 100 --priority 5 --print
	assert_line "Priority: 5"
}

@test "--always-delete, --always-delete=yes|no, and a bad value" {
	run ami callfile SIP/1 --app Wait --always-delete --print
	assert_line "AlwaysDelete: yes"
	run ami callfile SIP/1 --app Wait --always-delete=yes --print
	assert_line "AlwaysDelete: yes"
	run ami callfile SIP/1 --app Wait --always-delete=no --print
	assert_line "AlwaysDelete: no"
	run ami callfile SIP/1 --app Wait --always-delete=maybe --print
	assert_failure 2
}

@test "--early-media with --app warns that Asterisk ignores it" {
	run --separate-stderr ami callfile SIP/1 --app Wait --early-media --print
	assert_success
	assert_line "early_media: yes"
	[[ $stderr == *"--exten calls only"* ]]
}

@test "';' is escaped as '\\;', which Asterisk's reader turns back into ';'" {
	run ami callfile SIP/1 --app Verbose --data 'a;b' --set 'X=1;2' --print
	assert_success
	assert_line 'Data: a\;b'
	assert_line 'Setvar: X=1\;2'
}

@test "a label as --priority: exit 2, explaining Asterisk's reader needs a number" {
	run --separate-stderr ami callfile SIP/1 --context c --exten s --priority start --print
	assert_failure 2
	[[ $stderr == *"only takes numeric priorities"* ]]
	run ami callfile SIP/1 --context c --exten s --priority 0 --print
	assert_failure 2
}

@test "target rules: exactly one of --app or --context + --exten" {
	run ami callfile SIP/1 --print
	assert_failure 2
	run --separate-stderr ami callfile SIP/1 --app Wait --context c --exten s --print
	assert_failure 2
	[[ $stderr == *"not both"* ]]
	run ami callfile SIP/1 --context c --print
	assert_failure 2
	run ami callfile SIP/1 --exten s --print
	assert_failure 2
	run ami callfile SIP/1 --context c --exten s --data x --print
	assert_failure 2
	run ami callfile SIP/1 --app Wait --priority 2 --print
	assert_failure 2
}

@test "the channel: required, Tech/Dest, only one" {
	run --separate-stderr ami callfile --app Wait --print
	assert_failure 2
	run --separate-stderr ami callfile SIP100 --app Wait --print
	assert_failure 2
	[[ $stderr == *"Tech/Dest"* ]]
	run ami callfile SIP/ --app Wait --print
	assert_failure 2
	run ami callfile SIP/1 SIP/2 --app Wait --print
	assert_failure 2
}

@test "CR or LF in any value: exit 2, nothing written" {
	local v
	for v in $'Wait\nChannel: Evil/1' $'Wait\r'; do
		run ami callfile SIP/1 --app "$v" --spool "$S"
		assert_failure 2
	done
	run ami callfile $'SIP/1\nApplication: Evil' --app Wait --spool "$S"
	assert_failure 2
	run --separate-stderr ami callfile SIP/1 --app Wait --set $'A=1\nB=2' --spool "$S"
	assert_failure 2
	[[ $stderr == *"line feed"* ]]
	run ami callfile SIP/1 --app Wait --callerid $'x\ny' --spool "$S"
	assert_failure 2
	run ami callfile SIP/1 --app Wait --name $'a\nb' --spool "$S"
	assert_failure 2
	assert_spool_empty
}

@test "--set needs NAME=VALUE" {
	run ami callfile SIP/1 --app Wait --set NOVALUE --print
	assert_failure 2
	run ami callfile SIP/1 --app Wait --set =x --print
	assert_failure 2
	run ami callfile SIP/1 --app Wait --set 'A =x' --print
	assert_failure 2
	run ami callfile SIP/1 --app Wait --set A= --print
	assert_success
	assert_line "Setvar: A="
}

@test "numbers: whole and in range, or exit 2" {
	run ami callfile SIP/1 --app Wait --wait-time 0 --print
	assert_failure 2
	run ami callfile SIP/1 --app Wait --wait-time 1.5 --print
	assert_failure 2
	run ami callfile SIP/1 --app Wait --retry-time x --print
	assert_failure 2
	run ami callfile SIP/1 --app Wait --max-retries -1 --print
	assert_failure 2
	run ami callfile SIP/1 --app Wait --max-retries 0 --print
	assert_success
	assert_line "MaxRetries: 0"
}

@test "a line of 1024 bytes or more (Asterisk skips it): exit 2; 1023 is fine" {
	local data
	data=$(printf 'x%.0s' $(seq 1016))      # "Data: " + 1016 + "\n" = 1023 bytes
	run ami callfile SIP/1 --app Noop --data "$data" --print
	assert_success
	run --separate-stderr ami callfile SIP/1 --app Noop --data "${data}x" --print
	assert_failure 2
	[[ $stderr == *"1024"* ]]
}

@test "values Asterisk's reader would change: '#' after a blank, edge blanks" {
	run --separate-stderr ami callfile SIP/1 --app Noop --data 'a #b' --print
	assert_failure 2
	[[ $stderr == *comment* ]]
	run ami callfile SIP/1 --app Noop --data 'a#b' --print
	assert_success
	run ami callfile SIP/1 --app Noop --data ' a' --print
	assert_failure 2
	run ami callfile SIP/1 --app Noop --data 'a ' --print
	assert_failure 2
}

@test "--print output passes check" {
	ami callfile SIP/1 --context c --exten s --priority 2 --set 'A=x;y' --archive \
		--early-media --max-retries 1 --print >"$BATS_TEST_TMPDIR/f.call"
	run ami callfile check "$BATS_TEST_TMPDIR/f.call"
	assert_success
	assert_output ""
	run bash -c 'ami callfile SIP/1 --app Wait --data 1 --print | ami callfile check -'
	assert_success
}

# ---------------------------------------------------------------- spooling

@test "spool: one file with the exact content; its path on stdout; no temp left" {
	run --separate-stderr ami callfile SIP/100 --app Playback --data wakeup --spool "$S"
	assert_success
	f=$(spooled)
	assert_output "$f"
	[[ $(basename "$f") =~ ^ami-[0-9]{8}T[0-9]{6}-[0-9]+-[0-9a-f]{4}\.call$ ]]
	assert_equal "$(cat "$f")" "$(printf 'Channel: SIP/100\nApplication: Playback\nData: wakeup')"
	assert_equal "$(stat -c %a "$f")" 640
	assert_no_temp
}

@test "spool: -q prints nothing; --json prints the file and its due time" {
	run --separate-stderr ami callfile SIP/1 --app Wait -q --spool "$S"
	assert_success
	assert_output ""
	rm -f "$S"/*
	run --separate-stderr ami callfile SIP/1 --app Wait --json --spool "$S"
	assert_success
	f=$(spooled)
	assert_output --regexp "^\\{\"file\":\"$f\",\"due\":\"[0-9-]{10}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2}\",\"due_epoch\":[0-9]+\\}\$"
}

@test "--name: the file name; '/' refused; an existing name kept unless --force" {
	run ami callfile SIP/1 --app Wait --name wake.call --spool "$S"
	assert_success
	assert_output "$S/wake.call"
	run ami callfile SIP/1 --app Wait --name ../x.call --spool "$S"
	assert_failure 2
	run --separate-stderr ami callfile SIP/2 --app Wait --name wake.call --spool "$S"
	assert_failure 8
	[[ $stderr == *"$S/wake.call"* && $stderr == *"already there"* ]]
	grep -q "Channel: SIP/1" "$S/wake.call"
	assert_no_temp
	run ami callfile SIP/2 --app Wait --name wake.call --force --spool "$S"
	assert_success
	grep -q "Channel: SIP/2" "$S/wake.call"
	assert_no_temp
}

@test "a missing spool directory: exit 8 naming it, nothing created" {
	run --separate-stderr ami callfile SIP/1 --app Wait --spool "$P/nope"
	assert_failure 8
	[[ $stderr == *"$P/nope"* ]]
	[[ ! -e $P/nope ]]
	assert_no_temp
}

@test "the spool comes from the profile's spool_dir, and --spool overrides it" {
	mkdir -p "$XDG_CONFIG_HOME/ami" "$P/other"
	printf '[default]\nspool_dir = %s\n[b]\nspool_dir = %s\n' "$S" "$P/other" \
		>"$XDG_CONFIG_HOME/ami/config"
	run ami callfile SIP/1 --app Wait
	assert_success
	[[ $output == "$S/"* ]]
	run ami callfile SIP/1 --app Wait -p b
	assert_success
	[[ $output == "$P/other/"* ]]
	run ami callfile SIP/1 --app Wait -p b --spool "$S"
	assert_success
	[[ $output == "$S/"* ]]
}

@test "without --spool or spool_dir: /var/spool/asterisk/outgoing" {
	[[ -d /var/spool/asterisk/outgoing ]] && skip "a real spool exists here"
	run --separate-stderr ami callfile SIP/1 --app Wait
	assert_failure 8
	[[ $stderr == *"/var/spool/asterisk/outgoing"* ]]
}

@test "owner: the spool directory's by default; --owner USER[:GROUP]" {
	need_root
	getent passwd nobody >/dev/null || skip "no user nobody"
	chown nobody:"$(id -gn nobody)" "$S"
	run ami callfile SIP/1 --app Wait --spool "$S"
	assert_success
	assert_equal "$(stat -c '%U %a' "$output")" "nobody 640"
	rm -f "$S"/*
	chown root:root "$S"
	run ami callfile SIP/1 --app Wait --owner "nobody:$(id -gn root)" --spool "$S"
	assert_success
	assert_equal "$(stat -c '%U:%G' "$output")" "nobody:$(id -gn root)"
	run ami callfile SIP/1 --app Wait --owner 65534 --spool "$S"
	assert_success
	assert_equal "$(stat -c '%u' "$output")" 65534
	run ami callfile SIP/1 --app Wait --owner no-such-user-xyz --spool "$S"
	assert_failure 2
}

@test "not root: --owner that chown refuses: exit 8 naming the path, nothing left" {
	need_nobody
	local d
	open_dir
	mkdir -p "$d/spool/outgoing"
	chown -R nobody "$d/spool"
	run --separate-stderr as_nobody "$d/ami" callfile SIP/1 --app Wait --owner root \
		--name x.call --spool "$d/spool/outgoing"
	assert_failure 8
	[[ $stderr == *"$d/spool/outgoing/x.call"* ]]
	run ls -A "$d/spool/outgoing"
	assert_output ""
	run find "$d" -name '.ami-callfile-*'
	assert_output ""
}

@test "not root, spool owned by another user: the group keeps it usable (0660)" {
	need_nobody
	local d g
	open_dir
	g=$(id -gn nobody)
	mkdir -p "$d/spool/outgoing"
	chown root:"$g" "$d/spool" "$d/spool/outgoing"
	chmod 0770 "$d/spool" "$d/spool/outgoing"
	run --separate-stderr as_nobody "$d/ami" callfile SIP/1 --app Wait \
		--spool "$d/spool/outgoing"
	assert_success
	assert_equal "$(stat -c '%U:%G %a' "$output")" "nobody:$g 660"
}

@test "not root, no write access next to the spool: exit 8, nothing spooled" {
	need_nobody
	local d
	open_dir
	mkdir -p "$d/spool/outgoing"
	chown nobody "$d/spool/outgoing"      # the spool itself is writable, its parent not
	run --separate-stderr as_nobody "$d/ami" callfile SIP/1 --app Wait \
		--spool "$d/spool/outgoing"
	assert_failure 8
	[[ $stderr == *"$d/spool"* && $stderr == *"Permission denied"* ]]
	run ls -A "$d/spool/outgoing"
	assert_output ""
}

@test "disk full (tmpfs): exit 8 naming the path; no file, no temporary file" {
	need_root
	mount_tmpfs "$BATS_TEST_TMPDIR/small" 64k
	P=$BATS_TEST_TMPDIR/small S=$BATS_TEST_TMPDIR/small/outgoing
	mkdir "$S"
	dd if=/dev/zero of="$P/fill" bs=4k 2>/dev/null || true   # until ENOSPC
	run --separate-stderr ami callfile SIP/1 --app Wait --name full.call --spool "$S"
	assert_failure 8
	[[ $stderr == *"$S/full.call"* && $stderr == *"No space left on device"* ]]
	assert_spool_empty
	assert_no_temp
	rm -f "$P/fill"
	run ami callfile SIP/1 --app Wait --name full.call --spool "$S"
	assert_success
}

@test "read-only filesystem: exit 8, nothing spooled" {
	need_root
	mount_tmpfs "$BATS_TEST_TMPDIR/ro" 1m
	mkdir "$BATS_TEST_TMPDIR/ro/outgoing"
	mount -o remount,ro "$BATS_TEST_TMPDIR/ro" || skip "cannot remount read-only"
	run --separate-stderr ami callfile SIP/1 --app Wait --spool "$BATS_TEST_TMPDIR/ro/outgoing"
	assert_failure 8
	[[ $stderr == *"Read-only file system"* ]]
	run ls -A "$BATS_TEST_TMPDIR/ro/outgoing"
	assert_output ""
}

@test "--tmp-dir on another filesystem: exit 8, nothing created anywhere" {
	local other
	if [[ -d /dev/shm && -w /dev/shm && $(stat -c %d /dev/shm) != $(stat -c %d "$P") ]]; then
		other=$(mktemp -d /dev/shm/ami-callfile-test.XXXXXX)
		EXTRA_DIRS+=("$other")
	else
		need_root
		mount_tmpfs "$BATS_TEST_TMPDIR/otherfs" 1m
		other=$BATS_TEST_TMPDIR/otherfs
	fi
	run --separate-stderr ami callfile SIP/1 --app Wait --tmp-dir "$other" --spool "$S"
	assert_failure 8
	[[ $stderr == *"$other"* && $stderr == *"filesystem"* ]]
	assert_spool_empty
	run ls -A "$other"
	assert_output ""
}

@test "--tmp-dir on the spool's filesystem is used" {
	mkdir "$BATS_TEST_TMPDIR/t"
	run ami callfile SIP/1 --app Wait --tmp-dir "$BATS_TEST_TMPDIR/t" --spool "$S"
	assert_success
	spooled
	run ls -A "$BATS_TEST_TMPDIR/t"
	assert_output ""
}

@test "--tmp-dir must not be the spool itself (Asterisk would read the partial file)" {
	run --separate-stderr ami callfile SIP/1 --app Wait --tmp-dir "$S/" --spool "$S"
	assert_failure 2
	[[ $stderr == *"must not be the spool"* ]]
	assert_spool_empty
}

@test "a reader polling the spool never sees a partial file or a temporary one" {
	local i sets=() expected=$BATS_TEST_TMPDIR/expected
	for i in $(seq 60); do sets+=(--set "VARIABLE_NUMBER_$i=$(printf 'v%.0s' $(seq 10))"); done
	ami callfile SIP/1 --app Wait --data 1 "${sets[@]}" --print >"$expected"
	[[ $(wc -c <"$expected") -gt 2000 ]]
	: >"$BATS_TEST_TMPDIR/bad"
	# The reader: every file it sees must be complete; no dot-file may appear.
	(
		while [[ ! -e $BATS_TEST_TMPDIR/stop ]]; do
			for f in "$S"/* "$S"/.[!.]*; do
				[[ -e $f ]] || continue
				case ${f##*/} in .*) echo "dot-file $f" >>"$BATS_TEST_TMPDIR/bad" ;; esac
				cat "$f" >"$BATS_TEST_TMPDIR/copy" 2>/dev/null || continue
				echo >>"$BATS_TEST_TMPDIR/seen"
				cmp -s "$BATS_TEST_TMPDIR/copy" "$expected" ||
					echo "partial $f" >>"$BATS_TEST_TMPDIR/bad"
			done
		done
	) 3>&- &
	PIDS+=($!)
	for i in $(seq 40); do
		ami callfile SIP/1 --app Wait --data 1 "${sets[@]}" -q --spool "$S" ||
			echo "spool $i failed" >>"$BATS_TEST_TMPDIR/bad"
	done
	# On a loaded machine the reader may lag: give it (at most 10 s) to
	# have read more files than there are, so it did look at them.
	for i in $(seq 100); do
		[[ $(wc -l <"$BATS_TEST_TMPDIR/seen" 2>/dev/null || echo 0) -gt 40 ]] && break
		sleep 0.1
	done
	touch "$BATS_TEST_TMPDIR/stop"
	wait "${PIDS[0]}"
	run cat "$BATS_TEST_TMPDIR/bad"
	assert_output ""
	[[ $(wc -l <"$BATS_TEST_TMPDIR/seen") -gt 40 ]]     # the reader did read
	assert_equal "$(ls "$S" | wc -l)" 40
	assert_no_temp
}

# ---------------------------------------------------------------- scheduling

@test "the cron example: --at '2026-12-01 07:00' local time sets the mtime" {
	export TZ=Europe/Paris
	[[ $(date +%s) -lt 1796104800 ]] || skip "2026-12-01 07:00 has passed"
	run ami callfile SIP/100 --app Playback --data wakeup --at '2026-12-01 07:00' --spool "$S"
	assert_success
	local f=$output
	assert_equal "$(stat -c %Y "$f")" 1796104800      # 06:00 UTC
	assert_equal "$(cat "$f")" "$(printf 'Channel: SIP/100\nApplication: Playback\nData: wakeup')"
	run ami callfile check "$f"             # what Asterisk's reader accepts
	assert_success
	assert_output ""
}

@test "--at: local 'YYYY-MM-DD HH:MM[:SS]', ISO 8601 with an offset, @EPOCH" {
	local at want
	at=$(date -d '+2 days' '+%Y-%m-%d %H:%M:%S')
	want=$(date -d "$at" +%s)
	run ami callfile SIP/1 --app Wait --at "$at" --spool "$S"
	assert_success
	assert_equal "$(stat -c %Y "$output")" "$want"
	at=$(date -u -d '+3 days' '+%Y-%m-%dT%H:%M:00Z')
	run ami callfile SIP/1 --app Wait --at "$at" --spool "$S"
	assert_success
	assert_equal "$(stat -c %Y "$output")" "$(date -d "$at" +%s)"
	run ami callfile SIP/1 --app Wait --at "@$((want + 60))" --spool "$S"
	assert_success
	assert_equal "$(stat -c %Y "$output")" "$((want + 60))"
}

@test "--in: 90s, 15m, 2h, 1d, 1h30m from now" {
	local d s now
	for d in 90s:90 15m:900 2h:7200 1d:86400 1h30m:5400; do
		now=$(date +%s)
		run ami callfile SIP/1 --app Wait --in "${d%%:*}" --spool "$S"
		assert_success
		s=$(( $(stat -c %Y "$output") - now - ${d##*:} ))
		[[ $s -ge 0 && $s -le 2 ]] || fail "--in ${d%%:*}: off by $s s"
	done
}

@test "without --at or --in the file is due now" {
	run ami callfile SIP/1 --app Wait --spool "$S"
	s=$(( $(date +%s) - $(stat -c %Y "$output") ))
	[[ $s -ge 0 && $s -le 2 ]]
}

@test "a time in the past is refused unless --force" {
	run --separate-stderr ami callfile SIP/1 --app Wait --at '2001-01-01 00:00' --spool "$S"
	assert_failure 2
	[[ $stderr == *"in the past"* && $stderr == *"--force"* ]]
	assert_spool_empty
	run ami callfile SIP/1 --app Wait --at '2001-01-01T00:00:00Z' --force --spool "$S"
	assert_success
	assert_equal "$(stat -c %Y "$output")" 978307200
}

@test "bad --at or --in, or both: exit 2" {
	run ami callfile SIP/1 --app Wait --at tomorrow --spool "$S"
	assert_failure 2
	run ami callfile SIP/1 --app Wait --at '2030-02-30 07:00' --spool "$S"
	assert_failure 2
	run ami callfile SIP/1 --app Wait --in 5x --spool "$S"
	assert_failure 2
	run ami callfile SIP/1 --app Wait --in -5m --spool "$S"
	assert_failure 2
	run ami callfile SIP/1 --app Wait --in 5m --at '2030-01-01 07:00' --spool "$S"
	assert_failure 2
	assert_spool_empty
}

@test "--print with a due time says how to carry it (touch -d @EPOCH)" {
	run --separate-stderr ami callfile SIP/1 --app Wait --at '@4102444800' --print
	assert_success
	assert_output "$(printf 'Channel: SIP/1\nApplication: Wait')"
	[[ $stderr == *"touch -d @4102444800"* ]]
}

# ---------------------------------------------------------------- --wait

# A stand-in for Asterisk: when NAME appears in the spool, move it to
# outgoing_done (creating it, as Asterisk does) and append "Status: $2".
fake_asterisk() {
	local name=$1 status=$2 mode=${3:-archive}
	(
		for _ in $(seq 200); do
			if [[ -e $S/$name ]]; then
				sleep 0.2
				case $mode in
				delete) rm -f "$S/$name" ;;
				*)
					mkdir -p "$D"
					printf '\nStartRetry: 1 1 (%s)\n' "$(date +%s)" >>"$S/$name"
					mv "$S/$name" "$D/$name"
					sleep 0.3          # Asterisk appends after the rename
					printf 'Status: %s\n' "$status" >>"$D/$name"
					;;
				esac
				exit 0
			fi
			sleep 0.05
		done
	) 3>&- &
	PIDS+=($!)
}

@test "--wait: Completed prints the Status and exits 0 (outgoing_done created late)" {
	fake_asterisk w1.call Completed
	run --separate-stderr timeout 20 ami callfile SIP/1 --app Wait --archive --wait -t 15 \
		--name w1.call --spool "$S"
	assert_success
	assert_line --index 0 "$S/w1.call"
	assert_line --index 1 "Status: Completed"
	[[ -f $D/w1.call ]]
}

@test "--wait: Expired and Failed exit 1" {
	local st
	mkdir -p "$D"
	for st in Expired Failed; do
		fake_asterisk "w-$st.call" "$st"
		run --separate-stderr timeout 20 ami callfile SIP/1 --app Wait --archive --wait \
			-t 15 --name "w-$st.call" --spool "$S"
		assert_failure 1
		assert_line "Status: $st"
	done
}

@test "--wait --json: one object for the spooling, one for the Status" {
	fake_asterisk wj.call Completed
	run --separate-stderr timeout 20 ami callfile SIP/1 --app Wait --archive --wait -t 15 \
		--name wj.call --json --spool "$S"
	assert_success
	assert_line --index 1 "{\"file\":\"$D/wj.call\",\"status\":\"Completed\"}"
}

@test "--wait: -t bounds the wait (exit 6) and the call stays spooled" {
	run --separate-stderr timeout 20 ami callfile SIP/1 --app Wait --archive --wait -t 1 \
		--name slow.call --spool "$S"
	assert_failure 6
	[[ $stderr == *"timed out"* ]]
	[[ -f $S/slow.call ]]
}

@test "--wait: a same-named old file in outgoing_done is not taken for ours" {
	mkdir -p "$D"
	printf 'Channel: SIP/1\nApplication: Wait\nStatus: Completed\n' >"$D/old.call"
	run timeout 20 ami callfile SIP/1 --app Wait --archive --wait -t 1 --name old.call \
		--spool "$S"
	assert_failure 6
}

@test "--wait: a file deleted instead of archived ends the wait with exit 1" {
	fake_asterisk gone.call "" delete
	run --separate-stderr timeout 20 ami callfile SIP/1 --app Wait --archive --wait -t 15 \
		--name gone.call --spool "$S"
	assert_failure 1
	[[ $stderr == *"left the spool"* ]]
}

@test "--wait needs --archive, and not --print" {
	run --separate-stderr ami callfile SIP/1 --app Wait --wait --spool "$S"
	assert_failure 2
	[[ $stderr == *"--archive"* ]]
	run ami callfile SIP/1 --app Wait --archive --wait --print
	assert_failure 2
	assert_spool_empty
}

# ---------------------------------------------------------------- check

@test "check: a good file prints nothing and exits 0" {
	printf '# wake-up call\nChannel: SIP/100\nApplication: Playback\nData: wakeup ; a comment\n' \
		>"$BATS_TEST_TMPDIR/good.call"
	run --separate-stderr ami callfile check "$BATS_TEST_TMPDIR/good.call"
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
}

@test "check: the captured malformed files, as FILE:LINE: messages, exit 1" {
	cd "$BATS_TEST_TMPDIR"
	printf 'Application: Wait\nData: 5\n' >bad1.call
	printf 'this is not a call file\n:::\nChannel: nonsense\nApplication: Wait\n' >bad2.call
	printf 'Channel: Local/wait20@test\nMaxRetries: 0\n' >bad3.call
	run ami callfile check bad1.call bad2.call bad3.call
	assert_failure 1
	assert_line "bad1.call:0: error: no Channel line: Asterisk deletes this file without calling"
	assert_line --partial "bad2.call:1: warning: syntax error"
	assert_line --partial "bad2.call:2: warning: unknown key ''"
	assert_line --partial "bad2.call:3: warning: Channel \"nonsense\" should be Tech/Dest"
	assert_line --partial "bad3.call:0: error: no target"
}

@test "check: unknown keys (EarlyMedia), label priority, bad numbers, app and exten" {
	printf '%s\n' 'Channel: SIP/1' 'Context: c' 'Extension: s' 'Priority: start' \
		'EarlyMedia: yes' 'MaxRetries: two' 'Application: Wait' 'Setvar: NOEQUALS' \
		>"$BATS_TEST_TMPDIR/x.call"
	run ami callfile check "$BATS_TEST_TMPDIR/x.call"
	assert_failure 1
	assert_line --partial "x.call:4: error: Priority \"start\" is not a number"
	assert_line --partial "x.call:5: warning: unknown key 'EarlyMedia'"
	assert_output --partial "did you mean early_media?"
	assert_line --partial "x.call:6: warning: MaxRetries \"two\""
	assert_line --partial "x.call:3: error: both Application and Extension"
	assert_line --partial "x.call:8: warning: malformed Setvar"
}

@test "check: a line of 1024 bytes is reported as skipped" {
	{
		printf 'Channel: SIP/1\nApplication: Wait\nData: '
		printf 'x%.0s' $(seq 1020)
		printf '\n'
	} >"$BATS_TEST_TMPDIR/long.call"
	run ami callfile check "$BATS_TEST_TMPDIR/long.call"
	assert_failure 1
	assert_line --partial "long.call:3: warning: line is 1027 bytes long"
}

@test "check --json: one object per problem" {
	printf 'Channel: SIP/1\nApp: Wait\n' >"$BATS_TEST_TMPDIR/j.call"
	run ami callfile check --json "$BATS_TEST_TMPDIR/j.call"
	assert_failure 1
	assert_line "{\"file\":\"$BATS_TEST_TMPDIR/j.call\",\"line\":2,\"severity\":\"warning\",\"message\":\"unknown key 'App' (Asterisk ignores it); did you mean Application?\"}"
}

@test "check: an unreadable file exits 8; no FILE exits 2; stdin as -" {
	run --separate-stderr ami callfile check "$BATS_TEST_TMPDIR/none.call"
	assert_failure 8
	[[ $stderr == *"none.call"* ]]
	run ami callfile check
	assert_failure 2
	run ami callfile check --app Wait x
	assert_failure 2
	run bash -c 'printf "Channel: SIP/1\n" | ami callfile check -'
	assert_failure 1
	assert_output --partial "<stdin>:0: error: no target"
}

# ---------------------------------------------------------------- list

@test "list: pending files by due time with channel and target" {
	local later
	later=$(date -d '+1 day' '+%Y-%m-%d %H:%M:%S')
	ami callfile SIP/2 --context default --exten 100 --at "$later" --name b.call -q --spool "$S"
	ami callfile SIP/1 --app Playback --data wakeup --name a.call -q --spool "$S"
	printf 'Channel: SIP/3\n' >"$S/c.call"
	touch -d '+2 days' "$S/c.call"
	run --separate-stderr ami callfile list --spool "$S"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp '^[0-9-]{10} [0-9:]{8}  SIP/1  Playback\(wakeup\)  a\.call$'
	assert_line --index 1 "$later  SIP/2  100@default:1     b.call"
	assert_line --index 2 --regexp '  SIP/3  -  +c\.call  \[invalid\]$'
}

@test "list --json: one object per file" {
	ami callfile SIP/2 --context default --exten 100 --priority 2 --name b.call -q \
		--at '@4102444800' --spool "$S"
	run ami callfile list --json --spool "$S"
	assert_success
	assert_output --regexp '^\{"file":"b.call","path":"[^"]*/outgoing/b.call","due":"[^"]+","due_epoch":4102444800,"channel":"SIP/2","application":null,"data":null,"context":"default","extension":"100","priority":2,"retries":0,"valid":true\}$'
}

@test "list: an empty spool prints nothing; a missing one exits 8; call options exit 2" {
	run --separate-stderr ami callfile list --spool "$S"
	assert_success
	assert_output ""
	run --separate-stderr ami callfile list --spool "$P/nope"
	assert_failure 8
	[[ $stderr == *"$P/nope"* ]]
	run ami callfile list --app Wait --spool "$S"
	assert_failure 2
	run ami callfile list extra --spool "$S"
	assert_failure 2
}
