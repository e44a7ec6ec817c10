#!/usr/bin/env bats
# ami calls against the test server's live PBX: the calls up now, records
# of calls as they end (two-party, queue, conference, busy, calls up before
# and across a reconnect), and the same records from recordings in both
# formats, damaged ones too.
load helper

setup() {
	setup_common
	OUT="$BATS_TEST_TMPDIR/out"
	ERR="$BATS_TEST_TMPDIR/err"
	export TZ=UTC
}

teardown() {
	local pid
	for pid in ${BG_PIDS:-}; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	stop_fake_ami
}

# bg FILE COMMAND...: runs an ami in the background, stdout to FILE.
bg() {
	local out=$1
	shift
	"$@" >"$out" 2>>"$ERR" 3>&- &
	BG_PIDS="${BG_PIDS:-} $!"
	LAST_PID=$!
}

# wait_exit PID SECONDS: waits (bounded) for a background ami; sets RC.
wait_exit() {
	local n i
	n=$(awk -v s="$(time_bound "$2")" 'BEGIN { print int(s * 20) }')
	for ((i = 0; i < n; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1"
		fail "ami did not end within $2 s: $(cat "$ERR")"
	fi
	RC=0
	wait "$1" || RC=$?
}

# wait_logins N: the server has seen N list or event set-ups (a --follow
# logs in with events on and asks CoreShowChannels; tail-events sends
# Events).
wait_setups() {
	local i n
	n=$(awk -v s="$(time_bound 10)" 'BEGIN { print int(s * 20) }')
	for ((i = 0; i < n; i++)); do
		[ "$(grep -cE 'RECV (CoreShowChannels|Events) ' "$BATS_TEST_TMPDIR/ami.log" 2>/dev/null)" -ge "$1" ] &&
			return 0
		sleep 0.05
	done
	fail "fewer than $1 sessions set up: $(cat "$BATS_TEST_TMPDIR/ami.log")"
}

# originate CHANNEL CHANNELID: an Async Originate running Wait.
originate() {
	ami action Originate Channel="$1" Application=Wait Data=60 ChannelId="$2" Async=true >/dev/null
}

# jq on line N (from 1) of FILE: field FILE N FILTER
field() {
	sed -n "$2p" "$1" | jq -r "$3"
}

# The records of FILE without anything that is a time: live and recorded
# runs see the same events at slightly different moments.
untimed() {
	jq -cS 'walk(if type == "object" then del(.Start, .Answer, .End, .Duration, .Billsec,
		.Begin, .Time, .Enter, .Leave, .Join, .Wait) else . end)' "$1"
}

# no_raw_escape: stdin has no ESC, BEL or C1 CSI.
no_raw_escape() {
	if LC_ALL=C grep -qaE $'\e|\a|\xc2\x9b'; then
		fail "control bytes reached the output"
	fi
}

# ---------------------------------------------------------------- calls up now

@test "calls: the calls up now as a table, and --json one object each" {
	start_fake_ami --calls 3
	run --separate-stderr ami calls
	assert_success
	[ "${#lines[@]}" -eq 4 ]
	assert_line --index 0 --regexp '^LINKEDID +CALLER +CALLEE +STATE +START +DURATION +BRIDGE +CHANNELS$'
	assert_line --index 1 --regexp '^[0-9.]+ +Alice Jones <1000> +Bob Jones <1001> +up +[0-9:]{8} +0:[0-5][0-9]:[0-9]{2} +[0-9a-f]{8} +PJSIP/1000-[0-9a-f]{8},PJSIP/1001-[0-9a-f]{8}$'
	# the columns line up
	local col
	col=$(awk 'NR == 1 { print index($0, "STATE") }' <<<"$output")
	[ "$(awk -v c="$col" 'NR > 1 { print substr($0, c - 2, 5) }' <<<"$output" | sort -u)" = "  up " ]
	ami calls --json >"$OUT"
	[ "$(wc -l <"$OUT")" -eq 3 ]
	[ "$(field "$OUT" 2 '.Caller.Number + " " + .Caller.Name + " -> " + .Callee.Number + " " + .State')" = "1002 Carol Jones -> 1003 up" ]
	[ "$(field "$OUT" 2 '.Channels | length')" -eq 2 ]
	[ "$(field "$OUT" 2 '.Bridge | test("^[0-9a-f-]{36}$")')" = true ]
	[ "$(field "$OUT" 2 '.Linkedid == .Channels[0].Uniqueid')" = true ]
	[ "$(field "$OUT" 2 '.Application + " " + .Data')" = "Dial PJSIP/1003,30" ]
	[ "$(field "$OUT" 2 '.Duration >= 0 and (.Start | test("^20[0-9-]{8}T[0-9:.]{12}\\+00:00$"))')" = true ]
}

@test "calls: a Local pair is one side; no call, only the header" {
	start_fake_ami
	run ami calls
	assert_success
	assert_output --regexp '^LINKEDID +CALLER +CALLEE'
	[ "${#lines[@]}" -eq 1 ]
	run ami calls --json
	assert_success
	assert_output ""
	originate Local/dial@test ev-dial
	run ami calls --json
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r '.Linkedid + " " + .Caller.Channel + " " + .Callee.Number + " " + .Callee.Channel' <<<"$output")" = \
		"ev-dial Local/dial@test-00000001;1 dial Local/wait20@test-00000002;1" ]
	[ "$(jq -r '.Channels | length' <<<"$output")" -eq 4 ]
}

@test "calls: a user who may not list channels gets exit 1 and what to add" {
	start_fake_ami --user 'ops:pw:all:call'
	AMI_SECRET=pw run --separate-stderr ami calls -u ops
	assert_failure 1
	[[ "$stderr" == *"CoreShowChannels: Permission denied; it needs write=system,reporting"* ]]
}

# ---------------------------------------------------------------- --follow

@test "--follow: a two-party call over Local/dial@test gives one record: every field" {
	start_fake_ami
	bg "$OUT" ami calls --follow --json -c 1
	wait_setups 1
	originate Local/dial@test ev-dial
	wait_log 'RECV Originate'
	run ami action Hangup 'Channel=Local/dial@test-00000001;1'
	wait_exit "$LAST_PID" 10
	[ "$RC" -eq 0 ]
	[ "$(wc -l <"$OUT")" -eq 1 ]
	[ "$(field "$OUT" 1 '.Linkedid + " " + .Disposition + " " + (.Cause | tostring) + " " + .CauseText')" = \
		"ev-dial ANSWERED 16 Normal Clearing" ]
	[ "$(field "$OUT" 1 '.Caller.Channel + " " + .Callee.Channel + " " + .Callee.Number')" = \
		"Local/dial@test-00000001;1 Local/wait20@test-00000002;1 dial" ]
	[ "$(field "$OUT" 1 '.Start <= .Answer and .Answer <= .End and .Duration >= .Billsec and .Incomplete == null')" = true ]
	[ "$(field "$OUT" 1 '[.Channels[] | .Status] | unique | join(",")')" = hangup ]
	[ "$(field "$OUT" 1 '.Channels | length')" -eq 4 ]
	[ "$(field "$OUT" 1 '[.Dials[] | (.From // "-") + ">" + .To + ":" + .Status] | join(" ")')" = \
		"->Local/dial@test-00000001;1:ANSWER Local/dial@test-00000001;2>Local/wait20@test-00000002;1:ANSWER" ]
	[ "$(field "$OUT" 1 '[.Bridges[] | .Type] | join(",")')" = basic,basic ]
	[ "$(field "$OUT" 1 '[.Applications[] | .Application] | join(",")')" = Dial,Answer,Wait ]
}

@test "--follow: queues: a caller who gives up is NO ANSWER, Agent Smith's call ANSWERED with its wait" {
	start_fake_ami
	bg "$OUT" ami calls --follow --json -c 2
	wait_setups 1
	originate Local/queue@test q-caller
	wait_log 'RECV Originate'
	sleep 0.3       # a wait in the queue to measure
	ami action Hangup 'Channel=Local/queue@test-00000001;1' >/dev/null
	originate Local/sales@test q-sales
	ami action Hangup 'Channel=/^Local/sales@test-.*;1$/' >/dev/null
	wait_exit "$LAST_PID" 10
	[ "$RC" -eq 0 ]
	[ "$(field "$OUT" 1 '.Linkedid + " " + .Disposition + " " + (.Answer | tostring) + " " + (.Callee | tostring)')" = \
		"q-caller NO ANSWER null null" ]
	[ "$(field "$OUT" 1 '.Queues[0] | .Queue + " " + (.Abandoned | tostring) + " " + (.Agent | tostring)')" = \
		"support true null" ]
	[ "$(field "$OUT" 1 '.Queues[0].Wait >= 0.3')" = true ]
	[ "$(field "$OUT" 2 '.Linkedid + " " + .Disposition + " " + .Callee.Name')" = "q-sales ANSWERED Agent Smith" ]
	[ "$(field "$OUT" 2 '.Queues[0] | .Queue + " " + .Agent + " " + .Interface + " " + (.Abandoned | tostring)')" = \
		"sales Agent Smith Local/wait20@test false" ]
}

@test "--follow: text lines; a conference call; calls up before are partial" {
	start_fake_ami --calls 2
	bg "$OUT" ami calls --follow -c 3
	wait_setups 1
	originate Local/701@confbridge conf-1
	wait_log 'RECV Originate'
	ami action Hangup 'Channel=/^Local/701@confbridge-.*;1$/' >/dev/null
	ami action FakePBX Operation=calls Count=0 >/dev/null
	wait_exit "$LAST_PID" 10
	[ "$RC" -eq 0 ]
	run cat "$OUT"
	[ "${#lines[@]}" -eq 3 ]
	assert_line --regexp '^20[0-9-]{8} [0-9:]{8}  ANSWERED   +[0-9:]{7}  +[0-9:]{7}  - +-> - +[0-9]+ .* conf-1$'
	# answered before we watched: billable time unknown
	assert_line --regexp '^20[0-9-]{8} [0-9:]{8}  ANSWERED   +[0-9:]{7} +-  Alice Jones <1000> +-> Bob Jones <1001> .*\[incomplete: partial\]$'
	assert_line --regexp 'Carol Jones <1002> +-> Dave Jones <1003> .*\[incomplete: partial\]$'
}

@test "--follow on a live PBX: records keep coming; busy and unanswered calls" {
	start_fake_ami --calls 4 --event-rate 300
	run --separate-stderr timeout "$(time_bound 20)" ami calls --follow --json -c 12
	assert_success
	[ "${#lines[@]}" -eq 12 ]
	printf '%s\n' "${lines[@]}" >"$OUT"
	# every record is whole: a caller, a disposition, times in order; an
	# answered call without an answer time was answered before we watched
	[ "$(jq -s 'all(.[]; .Caller.Number != null and (.Disposition | IN("ANSWERED", "NO ANSWER", "BUSY", "FAILED"))
		and .Start <= .End and (.Answer == null or .Disposition == "ANSWERED")
		and (.Answer != null or .Disposition != "ANSWERED" or (.Incomplete | index("partial")) != null))' "$OUT")" = true ]
	[ "$(jq -s '[.[] | select(.Incomplete == null and .Disposition == "ANSWERED")] | length > 0' "$OUT")" = true ]
}

@test "--follow --reconnect: calls up across a network drop are marked gap; without it, exit 5" {
	start_fake_ami --calls 2
	bg "$OUT" ami calls --follow --json --reconnect -c 2
	wait_setups 1
	ami action FakePBX Operation=drop >/dev/null
	wait_setups 2
	ami action FakePBX Operation=calls Count=0 >/dev/null
	wait_exit "$LAST_PID" 20
	[ "$RC" -eq 0 ]
	[ "$(jq -sc '[.[] | .Incomplete]' "$OUT")" = '[["partial","gap"],["partial","gap"]]' ]
	grep -q 'reconnecting (calls up now will be marked incomplete)' "$ERR"
	: >"$ERR"
	bg "$OUT" ami calls --follow
	wait_setups 3
	ami action FakePBX Operation=drop >/dev/null
	wait_exit "$LAST_PID" 10
	[ "$RC" -eq 5 ]
	grep -q 'connection closed by the server' "$ERR"
}

@test "--follow: --idle exits 6; SIGINT exits 130 after Logoff" {
	start_fake_ami
	run --separate-stderr ami calls --follow --idle 0.5
	assert_failure 6
	[[ "$stderr" == *"no call ended for 0.5 s (--idle)"* ]]
	bg "$OUT" ami calls --follow
	wait_setups 2
	kill -INT "$LAST_PID"
	wait_exit "$LAST_PID" 10
	[ "$RC" -eq 130 ]
	wait_log 'RECV Logoff'
}

# ---------------------------------------------------------------- --from

# record_calls: the same calls seen at once by `calls --follow` ($OUT) and
# by tail-events recording raw ($REC.raw) and json ($REC.json).
record_calls() {
	REC="$BATS_TEST_TMPDIR/rec"
	start_fake_ami
	bg "$REC.raw" ami tail-events --format raw --timestamp
	local raw=$LAST_PID
	bg "$REC.json" ami tail-events --json --timestamp
	local json=$LAST_PID
	bg "$OUT" ami calls --follow --json -c 3
	local calls=$LAST_PID
	wait_setups 3
	originate Local/dial@test ev-dial
	wait_log 'RECV Originate'
	ami action Hangup 'Channel=Local/dial@test-00000001;1' >/dev/null
	originate Local/queue@test q-caller
	ami action Hangup 'Channel=/^Local/queue@test-.*;1$/' >/dev/null
	originate Local/sales@test q-sales
	ami action Hangup 'Channel=/^Local/sales@test-.*;1$/' >/dev/null
	wait_exit "$calls" 10
	[ "$RC" -eq 0 ]
	wait_file "$REC.json" '"Linkedid":"q-sales".*"Event":"Hangup"|"Event":"Hangup".*"Linkedid":"q-sales"' 5 ||
		wait_file "$REC.json" 'q-sales' 5
	sleep 0.5       # the last events of the call reach both recorders
	kill -INT "$raw" "$json"
	wait_exit "$raw" 10
	wait_exit "$json" 10
}

@test "--from: a raw and a json recording give the records --follow printed live" {
	record_calls
	ami calls --from "$REC.raw" --json >"$OUT.raw"
	ami calls --from "$REC.json" --json >"$OUT.json"
	[ "$(wc -l <"$OUT.raw")" -eq 3 ]
	diff <(untimed "$OUT") <(untimed "$OUT.raw")
	# the two recorders are two sessions: the same calls, their own times
	diff <(untimed "$OUT.raw") <(untimed "$OUT.json")
	# times are the recording's: the first call starts at its first Newchannel
	local first
	first=$(grep -m1 -A20 '^Event: Newchannel' "$REC.raw" | sed -n 's/^ReceivedAt: \(.*\)\r$/\1/p' | head -1)
	[ "$(field "$OUT.raw" 1 .Start)" = "$first" ]
	# stdin, text, --count
	run --separate-stderr bash -c 'ami calls --from - -c 2 <"$1"' _ "$REC.json"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp '  ANSWERED .* -> dial .* ev-dial$'
	assert_line --index 1 --regexp '  NO ANSWER .* q-caller$'
}

@test "--from: a damaged recording: the calls before the damage, the one cut marked open, exit 7" {
	record_calls
	local cut
	# cut inside the second call, after its queue join
	cut=$(grep -b -m1 'QueueCallerJoin' "$REC.raw" | cut -d: -f1)
	head -c $((cut + 40)) "$REC.raw" >"$REC.cut"
	run --separate-stderr ami calls --from "$REC.cut" --json
	assert_failure 7
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -r '.Linkedid + " " + .Disposition' <<<"${lines[0]}")" = "ev-dial ANSWERED" ]
	[ "$(jq -c '[.Linkedid, .Incomplete, .Channels[0].Status]' <<<"${lines[1]}")" = '["q-caller",["open"],"open"]' ]
	[[ "$stderr" == *"rec.cut: byte "*": the recording ends inside an event (truncated?)"* ]]
	# json: a line that is not JSON
	{ head -20 "$REC.json"; echo '{"Event":'; } >"$REC.bad"
	run --separate-stderr ami calls --from "$REC.bad" --json
	assert_failure 7
	[[ "$stderr" == *"rec.bad: byte $(head -20 "$REC.json" | wc -c): "* ]]
}

@test "--from: a capture of a whole session (banner, responses); --idle in recording time" {
	run --separate-stderr ami calls --from "$TESTS_DIR/captures/asterisk-22/events-queue.recv.raw" --json
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -r '.Callee.Name' <<<"${lines[0]}")" = Bob ]
	[[ "$stderr" == *"had no ReceivedAt"* ]]
	printf 'Event: Newchannel\r\nChannel: PJSIP/1-1\r\nUniqueid: a\r\nLinkedid: a\r\nReceivedAt: 2026-12-06T10:00:00.000Z\r\n\r\n' >"$OUT.rec"
	printf 'Event: Hangup\r\nChannel: PJSIP/1-1\r\nUniqueid: a\r\nLinkedid: a\r\nCause: 16\r\nReceivedAt: 2026-12-06T10:00:01.000Z\r\n\r\n' >>"$OUT.rec"
	printf 'Event: Newchannel\r\nChannel: PJSIP/2-1\r\nUniqueid: b\r\nLinkedid: b\r\nReceivedAt: 2026-12-06T11:00:00.000Z\r\n\r\n' >>"$OUT.rec"
	run --separate-stderr ami calls --from "$OUT.rec" --idle 60
	assert_failure 6
	[ "${#lines[@]}" -eq 1 ]
	run ami calls --from "$OUT.rec" --json
	assert_success
	[ "$(jq -c '.Incomplete' <<<"${lines[1]}")" = '["open"]' ]
	[ "$(jq -r '.Start + " " + (.Duration | tostring)' <<<"${lines[0]}")" = "2026-12-06T10:00:00.000+00:00 1" ]
}

@test "--from: control characters the server put in names come out as ?, in text and JSON" {
	local evil=$'\e]0;title\a\e[2J\xc2\x9b31m' shown='?]0;title??[2J??31m'
	printf 'Event: Newchannel\r\nChannel: PJSIP/1-1\r\nCallerIDNum: 100\r\nCallerIDName: %s\r\nUniqueid: a\r\nLinkedid: a\r\nReceivedAt: 2026-12-06T10:00:00.000Z\r\n\r\n' "$evil" >"$OUT.rec"
	printf 'Event: Hangup\r\nChannel: PJSIP/1-1\r\nUniqueid: a\r\nLinkedid: a\r\nCause: 16\r\nCause-txt: %s\r\nReceivedAt: 2026-12-06T10:00:01.000Z\r\n\r\n' "$evil" >>"$OUT.rec"
	run --separate-stderr ami calls --from "$OUT.rec"
	assert_success
	assert_output --partial "$shown <100>"
	assert_output --partial "16 $shown"
	no_raw_escape <<<"$output"
	run --separate-stderr ami calls --from "$OUT.rec" --json
	assert_success
	[ "$(jq -r .Caller.Name <<<"$output")" = "$shown" ]
}

@test "usage errors, an unreadable recording" {
	run ami calls --count 3
	assert_failure 2
	run ami calls --idle 1
	assert_failure 2
	run ami calls --format raw
	assert_failure 2
	run ami calls --from - --reconnect </dev/null
	assert_failure 2
	run ami calls --follow -c 0
	assert_failure 2
	run ami calls extra
	assert_failure 2
	run --separate-stderr ami calls --from "$BATS_TEST_TMPDIR/none"
	assert_failure 8
	[[ "$stderr" == *"none: No such file or directory"* ]]
	run ami calls --from - </dev/null
	assert_success
	assert_output ""
}
