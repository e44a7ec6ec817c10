#!/usr/bin/env bats
# ami tail-events' server-side filters (issue 17): what it asks Asterisk
# for, with MatchCriteria (22.x) or in the legacy form (older versions), and
# that the events printed are the same as without any server filter. The
# test server applies manager.c's filter rules; its log has what it was
# asked (RECV Filter ...) and what it sent (SENT bytes).
load helper

setup() {
	setup_common
	OUT="$BATS_TEST_TMPDIR/out"
	ERR="$BATS_TEST_TMPDIR/err"
	LOG="$BATS_TEST_TMPDIR/ami.log"
}

# A busy PBX's events: 1 in 50 on PJSIP/100, most of them VarSet.
MIX=VarSet=50,Newexten=20,Newstate=10,Hangup=5,Newchannel=5,DialBegin=5,UserEvent=5

# start_pbx OPTIONS...: the test server with that mix. A test here runs up to
# 20 sessions, which under valgrind on a loaded machine outlast the server's
# default 60 s lifetime; teardown stops it in any case.
start_pbx() {
	start_fake_ami --flood-mix "$MIX" --lifetime 600 "$@"
}

# same_as_unfiltered OPTIONS...: tail-events with OPTIONS --until StreamDone
# prints the same with and without server filters; the filtered output is
# left in $OUT, its standard error in $ERR.
same_as_unfiltered() {
	run --separate-stderr ami tail-events -j "$@" --until StreamDone
	assert_success
	printf '%s\n' "${lines[@]}" >"$OUT"
	printf '%s\n' "$stderr" >"$ERR"
	run --separate-stderr ami tail-events -j "$@" --until StreamDone --no-server-filter
	assert_success
	printf '%s\n' "${lines[@]}" >"$OUT.unfiltered"
	cmp -s "$OUT" "$OUT.unfiltered" || {
		diff "$OUT" "$OUT.unfiltered" | head -20
		fail "the server filters changed what was printed"
	}
}

# sent N: the bytes the test server sent in its Nth connection.
sent() {
	wait_log "^SENT .*" >/dev/null
	grep '^SENT ' "$LOG" | sed -n "${1}p" | cut -d' ' -f2
}

@test "--match Channel=PJSIP/100* on Asterisk 22: one MatchCriteria filter, Success, a fiftieth of the bytes" {
	start_pbx --events 2000 --events-from-start
	same_as_unfiltered -vv --match 'Channel=PJSIP/100*'
	assert_equal "$(grep -c '"Channel":"PJSIP/100-' "$OUT")" 40
	grep -q 'RECV Filter Operation=Add MatchCriteria=action(include),header(Channel),method(regex) Filter=^\[Pp\]\[Jj\]\[Ss\]\[Ii\]\[Pp\]/100 ' "$LOG"
	# Asterisk's answer, as in the capture
	grep -A6 '^>> Action: Filter' "$ERR" | grep -q '^<< Response: Success'
	grep -A8 '^>> Action: Filter' "$ERR" | grep -q '^<< Message: Success'
	local filtered unfiltered
	filtered=$(sent 1) unfiltered=$(sent 2)
	echo "bytes sent: $filtered with the filter, $unfiltered without"
	[ $((filtered * 25)) -lt "$unfiltered" ]
}

@test "translations: literal methods where case cannot matter, name() in Asterisk's spelling, regexes elsewhere" {
	start_pbx --events 300 --events-from-start
	same_as_unfiltered --match 'Uniqueid=1795000000.1*'
	grep -q 'MatchCriteria=action(include),header(Uniqueid),method(starts_with) Filter=1795000000.1 ' "$LOG"
	same_as_unfiltered --match 'CallerIDNum=*0'
	grep -q 'MatchCriteria=action(include),header(CallerIDNum),method(ends_with) Filter=0 ' "$LOG"
	same_as_unfiltered --match 'Linkedid=*.4*'
	grep -q 'MatchCriteria=action(include),header(Linkedid),method(contains) Filter=.4 ' "$LOG"
	same_as_unfiltered -e newexten --match 'CallerIDNum=201'
	grep -q 'MatchCriteria=action(include),header(CallerIDNum),method(exact) Filter=201 ' "$LOG"
	same_as_unfiltered --match 'callerIDname=alice*'
	grep -q 'MatchCriteria=action(include),method(regex) Filter=(^|\[\[:cntrl:\]\])\[Cc\]\[Aa\]\[Ll\]\[Ll\]' "$LOG"
	same_as_unfiltered -e Newchannel -e 'dial*' --exclude-event VARSET
	grep -q 'MatchCriteria=action(include),name(Newchannel) ActionID' "$LOG"
	grep -q 'MatchCriteria=action(include),method(regex) Filter=^Event: \[Dd\]\[Ii\]\[Aa\]\[Ll\] ' "$LOG"
	grep -q 'MatchCriteria=action(exclude),name(VarSet) ActionID' "$LOG"
	# the --until event is let through, and not excluded
	same_as_unfiltered --exclude-event Hangup --until 'hangup:Channel=PJSIP/2*'
	if grep -q 'action(exclude),name(Hangup)' "$LOG"; then fail "an --until event was excluded"; fi
	[ "$(tail -1 "$OUT" | grep -c '"Event":"Hangup"')" = 1 ]
}

@test "-vv shows each filter sent and what is checked here only, and why" {
	start_pbx --events 100 --events-from-start
	run --separate-stderr ami tail-events -vv -j -e Hangup --match 'Channel=PJSIP/100*' \
		--match 'Cause~^16$' --match 'Exten=s' --until StreamDone
	assert_success
	grep -v '^[<>]' <<<"$stderr" | grep 'server filter' >"$ERR"
	cat "$ERR"
	grep -qx 'ami tail-events: server filters: Asterisk 22.10.1 takes MatchCriteria' "$ERR"
	grep -qx 'ami tail-events: server filter (--event Hangup, --match Channel=PJSIP/100\*): MatchCriteria: action(include),name(Hangup),header(Channel),method(regex), Filter: ^\[Pp\]\[Jj\]\[Ss\]\[Ii\]\[Pp\]/100' "$ERR"
	grep -q 'server filters: --match Cause~^16\$: checked here only (a regular expression is not sent' "$ERR"
	grep -q 'server filters: --match Exten=s: checked here only (Asterisk takes one header per filter)' "$ERR"
	grep -q 'server filter (--until StreamDone): MatchCriteria: action(include),method(regex), Filter: ^Event: ' "$ERR"
}

@test "older Asterisk: the legacy regexes; 18.26 and a git build are asked with a probe Filter" {
	start_pbx --events 300 --events-from-start --asterisk-version 20.10.2
	same_as_unfiltered -e Hangup --match 'Channel=PJSIP/100*' --exclude-event VarSet
	grep -q 'RECV Filter Operation=Add Filter=^Event: \[Hh\]\[Aa\]\[Nn\]' "$LOG"
	if grep -q 'MatchCriteria' "$LOG"; then fail "MatchCriteria sent to 20.10"; fi
	stop_fake_ami

	start_pbx --events 300 --events-from-start --asterisk-version 18.26.0
	same_as_unfiltered -v -e Hangup
	# the probe: refused (its Filter is no regex), so the legacy form
	grep -q 'RECV Filter Operation=Add MatchCriteria=action(exclude),name(AmiFilterProbe),method(exact) Filter=( ' "$LOG"
	grep -q 'RECV Filter Operation=Add Filter=^Event: \[Hh\]' "$LOG"
	assert_equal "$(grep -c 'RECV Filter .*AmiFilterProbe' "$LOG")" 1
	stop_fake_ami

	start_pbx --events 300 --events-from-start --asterisk-version GIT-master-23
	same_as_unfiltered -e Hangup
	grep -q 'AmiFilterProbe' "$LOG"
	grep -q 'RECV Filter Operation=Add MatchCriteria=action(include),name(Hangup) ' "$LOG"
}

@test "Filter refused (no write=system): events filtered here, a note at -v" {
	start_pbx --events 300 --events-from-start
	run --separate-stderr ami tail-events -u reader -v -j -e Hangup --match 'Channel=PJSIP/100*' --until StreamDone
	assert_success
	[[ "$stderr" == *"events filtered here only: the server refused the Filter action (Permission denied); it needs write=system"* ]]
	printf '%s\n' "${lines[@]}" >"$OUT"
	run --separate-stderr ami tail-events -j -e Hangup --match 'Channel=PJSIP/100*' --until StreamDone
	assert_success
	printf '%s\n' "${lines[@]}" | cmp - "$OUT"
}

@test "a server that refuses some filters: -v says which and why, an include of every event keeps the rest" {
	start_pbx --events 300 --events-from-start --hostile refuse-every-second-filter
	same_as_unfiltered -v -e Hangup -e Newchannel
	[[ "$(cat "$ERR")" == *"the server refused the filter for --event Newchannel (MatchCriteria: action(include),name(Newchannel)): Filter was formatted incorrectly.  Check the syntax of the filter given.; filtered here"* ]]
	grep -q 'RECV Filter Operation=Add Filter=^Event:  ActionID' "$LOG"
	grep -q '"Event":"Newchannel"' "$OUT"
}

@test "--reconnect sends the same filters on every connection" {
	start_pbx --events 1000 --drop-after 5
	run --separate-stderr ami tail-events -j --reconnect -e Hangup --match 'Channel=PJSIP/2*' -c 12
	assert_success
	assert_equal "$(grep -vc '"Event":"AmiReconnect"' <<<"$output")" 12
	assert_equal "$(grep -c 'RECV CoreSettings' "$LOG")" "$(grep -c 'RECV Login' "$LOG")"
	assert_equal "$(grep 'RECV Filter' "$LOG" | sed 's/ ActionID=.*//' | sort | uniq -c | awk '{print $1}')" \
		"$(grep -c 'RECV Login' "$LOG")"
	[ "$(grep -c 'RECV Login' "$LOG")" -ge 2 ]
}

@test "random options print the same with and without server filters (end to end)" {
	start_pbx --events 400 --events-from-start
	python3 - "${FILTERS_SEED:-$RANDOM}" >"$BATS_TEST_TMPDIR/cases" <<-'PY'
	import random, shlex, sys
	seed = int(sys.argv[1])
	rnd = random.Random(seed)
	names = ["VarSet", "Newexten", "Newstate", "Hangup", "Newchannel", "DialBegin", "UserEvent"]
	values = {"Channel": ["PJSIP/100-00000100", "PJSIP/201-00000101", "PJSIP/249-00000131"],
	          "CallerIDNum": ["100", "201", "249"], "CallerIDName": ["Alice Jones", "Bob Jones"],
	          "Context": ["from-internal"], "Exten": ["s"], "Uniqueid": ["1795000000.1"],
	          "Variable": ["DIALSTATUS", "CDR(userfield)"], "Value": ["ANSWER", "crm-4711"],
	          "Privilege": ["dialplan,all", "call,all"]}
	def case(s):
	    return "".join(c.swapcase() if rnd.random() < 0.3 else c for c in s) if rnd.random() < 0.4 else s
	def glob(s):
	    out = ""
	    for c in s:
	        r = rnd.random()
	        out += "*" if r < 0.08 else "?" if r < 0.12 else ("\\" + c if c in "*?[\\" else c)
	    if rnd.random() < 0.4:
	        out = out[:rnd.randint(1, len(out))] + "*"
	    if rnd.random() < 0.2:
	        out = "*" + out[rnd.randint(0, len(out) - 1):]
	    return case(out)
	print("# seed %d" % seed)
	for _ in range(10):
	    args = []
	    for _ in range(rnd.choice([0, 0, 1, 2])):
	        args += ["-e", glob(rnd.choice(names))]
	    for _ in range(rnd.choice([0, 0, 0, 1])):
	        args += ["--exclude-event", glob(rnd.choice(names))]
	    for _ in range(rnd.choice([0, 1, 1, 2])):
	        key = rnd.choice(list(values))
	        args += ["--match", case(key) + "=" + glob(rnd.choice(values[key]))]
	    if rnd.random() < 0.3:
	        key = rnd.choice(list(values))
	        args += ["--until", glob(rnd.choice(names)) + ":" + key + "=" + glob(rnd.choice(values[key]))]
	    print(" ".join(shlex.quote(a) for a in args))
	PY
	head -1 "$BATS_TEST_TMPDIR/cases"
	local line
	while read -r line; do
		[[ "$line" == "#"* ]] && continue
		echo "options: $line"
		eval "set -- $line"
		same_as_unfiltered "$@"
	done <"$BATS_TEST_TMPDIR/cases"
}
