#!/usr/bin/env bats
# ami tail-events --from: recordings made by tail-events itself (raw and
# json, with --timestamp) replay to what the live stream printed, in every
# format and with every filter and stop condition; pacing by ReceivedAt;
# damaged recordings; stdin.
load helper

setup() {
	setup_common
	REC="$BATS_TEST_TMPDIR/rec"
	OUT="$BATS_TEST_TMPDIR/out"
	LIVE="$BATS_TEST_TMPDIR/live"
}

# record FORMAT FILE [tail-events options]: the whole stream of a fresh test
# server (the same events every time), recorded with --timestamp.
record() {
	local fmt=$1 file=$2
	shift 2
	start_fake_ami --events 120
	ami tail-events --format "$fmt" --timestamp --until StreamDone "$@" >"$file"
	stop_fake_ami
}

# live FILE [tail-events options]: what a fresh server's stream prints live.
live() {
	local file=$1
	shift
	start_fake_ami --events 120
	ami tail-events --until StreamDone "$@" >"$file"
	stop_fake_ami
}

# The text format without its time column.
untimed() {
	cut -d' ' -f2- "$1"
}

# synthetic FILE TIME...: one Newchannel per time (raw, with ReceivedAt).
synthetic() {
	local file=$1 t i=0
	shift
	: >"$file"
	for t in "$@"; do
		printf 'Event: Newchannel\r\nChannel: PJSIP/%d\r\nReceivedAt: %s\r\n\r\n' "$i" "$t" >>"$file"
		i=$((i + 1))
	done
}

@test "--from: a raw and a json recording replay, with --timestamp, to the bytes they hold" {
	record raw "$REC.raw"
	record json "$REC.json"
	[ "$(grep -c '^Event: ' "$REC.raw")" -eq 121 ]
	ami tail-events --from "$REC.raw" --format raw --timestamp >"$OUT"
	cmp "$OUT" "$REC.raw"
	ami tail-events --from "$REC.json" --json --timestamp >"$OUT"
	cmp "$OUT" "$REC.json"
	# raw -> json -> raw: the two kinds of recording hold the same
	ami tail-events --from "$REC.raw" --json --timestamp >"$OUT.json"
	[ "$(wc -l <"$OUT.json")" -eq 121 ]
	ami tail-events --from "$OUT.json" --format raw --timestamp >"$OUT"
	cmp "$OUT" "$REC.raw"
}

@test "--from: every format prints what the live stream printed" {
	record raw "$REC.raw"
	record json "$REC.json"
	for fmt in raw json; do
		live "$LIVE" --format "$fmt"
		for rec in "$REC.raw" "$REC.json"; do
			ami tail-events --from "$rec" --format "$fmt" >"$OUT"
			cmp "$OUT" "$LIVE"
		done
	done
	live "$LIVE"
	ami tail-events --from "$REC.json" >"$OUT"
	diff <(untimed "$OUT") <(untimed "$LIVE")
	# text shows each event's ReceivedAt, as the recording machine showed it
	ami tail-events --from "$REC.raw" --timestamp >"$OUT"
	diff <(cut -d' ' -f1 "$OUT") <(sed -n 's/^ReceivedAt: \(.*\)\r$/\1/p' "$REC.raw")
	ami tail-events --from "$REC.raw" >"$OUT"
	diff <(cut -d' ' -f1 "$OUT") <(sed -n 's/^ReceivedAt: [0-9-]*T\([0-9:.]*\).*\r$/\1/p' "$REC.raw")
}

@test "--from: filters and stop conditions as live" {
	record raw "$REC.raw"
	local opts
	for opts in "-e Newchannel -e hang*" "--exclude-event new* --exclude-event VarSet" \
		"--match Channel=local/*;2 --match ChannelState~^[46]$" "-c 7" \
		"-e Newchannel --until hangup:Cause=16" "--until DialEnd"; do
		# shellcheck disable=SC2086
		live "$LIVE" -j $opts
		# shellcheck disable=SC2086
		ami tail-events --from "$REC.raw" --until StreamDone -j $opts >"$OUT"
		[ -s "$OUT" ]
		cmp "$OUT" "$LIVE" || fail "differs from live with $opts"
	done
}

@test "--from -: reads stdin; nothing asks for a server or a secret" {
	record json "$REC.json"
	unset AMI_SECRET AMI_PORT
	run --separate-stderr bash -c 'ami tail-events --from - -j -e Hangup <"$1" | wc -l' _ "$REC.json"
	assert_success
	[ "$output" -eq "$(grep -c '"Event":"Hangup"' "$REC.json")" ]
	[ -z "$stderr" ]
}

@test "--from: --idle counts recording time (exit 6 where the live stream would have stopped)" {
	synthetic "$REC" 2026-12-06T10:00:00.000+01:00 2026-12-06T10:00:01.500+01:00 \
		2026-12-06T10:00:04.000+01:00 2026-12-06T10:00:04.100+01:00
	run --separate-stderr ami tail-events --from "$REC" --idle 2
	assert_failure 6
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 1 --regexp '^10:00:01\.500 Newchannel Channel=PJSIP/1$'
	[[ "$stderr" == *"no event for 2.0 s of the recording (--idle)"* ]]
	# an event filtered out does not count as printed
	run --separate-stderr ami tail-events --from "$REC" --idle 3 --match 'Channel=*/0'
	assert_failure 6
	run ami tail-events --from "$REC" --idle 3
	assert_success
	[ "${#lines[@]}" -eq 4 ]
}

@test "--from: as fast as it goes by default; --speed and --realtime pace by ReceivedAt" {
	# an hour of recording
	synthetic "$REC" 2026-12-06T10:00:00.000Z 2026-12-06T10:30:00.000Z 2026-12-06T11:00:00.000Z
	run timeout "$(time_bound 5)" ami tail-events --from "$REC" --format raw
	assert_success
	local start end
	start=$(date +%s%N)
	run timeout "$(time_bound 20)" ami tail-events --from "$REC" --speed 3600 -c 3
	end=$(date +%s%N)
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	# the last event is due 1 s after the first
	[ $(((end - start) / 1000000)) -ge 1000 ]
	synthetic "$REC" 2026-12-06T10:00:00.000Z 2026-12-06T10:00:00.700Z
	start=$(date +%s%N)
	run timeout "$(time_bound 20)" ami tail-events --from "$REC" --realtime
	end=$(date +%s%N)
	assert_success
	[ $(((end - start) / 1000000)) -ge 700 ]
}

@test "--from: Ctrl-C while pacing ends with 130 after what was printed" {
	synthetic "$REC" 2026-12-06T10:00:00.000Z 2026-12-06T11:00:00.000Z
	ami tail-events --from "$REC" --realtime >"$OUT" 3>&- &
	local pid=$! i rc=0 n
	n=$(awk -v s="$(time_bound 5)" 'BEGIN { print int(s * 20) }')
	for ((i = 0; i < n; i++)); do
		[ -s "$OUT" ] && break
		sleep 0.05
	done
	kill -INT "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 130 ]
	[ "$(wc -l <"$OUT")" -eq 1 ]
}

@test "--from: a truncated raw recording prints every whole event, then exit 7 naming the byte" {
	record raw "$REC.raw"
	local size start rc=0
	size=$(stat -c %s "$REC.raw")
	head -c $((size / 2)) "$REC.raw" >"$REC.cut"
	# the event cut in two starts after the last blank line before the cut
	start=$(python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(d.rfind(b"\r\n\r\n") + 4)' "$REC.cut")
	ami tail-events --from "$REC.cut" --format raw --timestamp >"$OUT" 2>"$OUT.err" || rc=$?
	[ "$rc" -eq 7 ]
	grep -qF "rec.cut: byte $start: the recording ends inside an event (truncated?)" "$OUT.err"
	cmp "$OUT" <(head -c "$start" "$REC.raw")
}

@test "--from: a corrupt json recording prints the events before the damage, then exit 7" {
	record json "$REC.json"
	{ head -5 "$REC.json"; echo '{"Event":"Broken","Channel":'; tail -3 "$REC.json"; } >"$REC.bad"
	local start
	start=$(head -5 "$REC.json" | wc -c)
	run --separate-stderr ami tail-events --from "$REC.bad" -j --timestamp
	assert_failure 7
	[ "${#lines[@]}" -eq 5 ]
	[[ "$stderr" == *"rec.bad: byte $start: "* ]]
	printf '%s\n' "${lines[@]}" | cmp - <(head -5 "$REC.json")
	# a recording that is neither
	printf 'hello\r\n\r\n' >"$REC.junk"
	run --separate-stderr ami tail-events --from "$REC.junk"
	assert_failure 7
	[[ "$stderr" == *"byte 0: not an AMI event"* ]]
}

@test "--from: usage errors, an unreadable file, a broken pipe" {
	run --separate-stderr ami tail-events --from "$BATS_TEST_TMPDIR/none"
	assert_failure 8
	[[ "$stderr" == *"none: No such file or directory"* ]]
	run ami tail-events --speed 2
	assert_failure 2
	run ami tail-events --from - --speed 0 </dev/null
	assert_failure 2
	run ami tail-events --from - --speed fast </dev/null
	assert_failure 2
	run ami tail-events --from - --reconnect </dev/null
	assert_failure 2
	run ami tail-events --from - --events-mask call </dev/null
	assert_failure 2
	run ami tail-events --from - </dev/null
	assert_success
	assert_output ""
	# more than a pipe holds, so that writing goes on after head has left
	python3 -c 'import sys
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        f.write("Event: Newchannel\r\nChannel: PJSIP/%d\r\n\r\n" % i)' "$REC.big"
	run bash -c 'ami tail-events --from "$1" -j 2>"$2" | head -1 >/dev/null; echo "${PIPESTATUS[0]}"' _ "$REC.big" "$OUT"
	assert_output 141
	[ ! -s "$OUT" ]
}
