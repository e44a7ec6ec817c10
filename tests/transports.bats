#!/usr/bin/env bats
# transports.bats - the same scenarios over every transport, then what only
# TLS or HTTP has (certificates, cookies, digest, WaitEvent, HTTP errors).
#
# The matrix: each scenario is one function taking a transport name (tcp,
# tls, http-cookie, http-digest, mxml); `use` turns the name into the ami
# flags (T) and `assert_went_over` checks in the server log that the
# transport really was the one used. The @test lines are one per
# (scenario, transport), so a failure names both.
#
# The server is tests/fake_ami_http.py: fake_ami.py's PBX behind a TCP, a
# TLS and an HTTP port at once. The TLS certificate (127.0.0.1, localhost)
# is made once per file with openssl.
load helper

setup_file() {
	local dir="$BATS_FILE_TMPDIR/pki"
	mkdir -p "$dir"
	timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-addext subjectAltName=IP:127.0.0.1,DNS:localhost \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
	export CERT="$dir/cert.pem" KEY="$dir/key.pem"
}

setup() {
	setup_common
	# libcurl would send the tests' requests to a proxy of the caller's.
	unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	LOG="$BATS_TEST_TMPDIR/ami.log"
}

teardown() {
	stop_fake_ami
}

# start_servers [fake_ami_http.py options...]: the servers with TLS (see
# start_fake_ami_http in helper.bash).
start_servers() {
	start_fake_ami_http --tls --cert "$CERT" --key "$KEY" --lifetime 60 "$@"
}

# start_http [options...]: the servers with HTTP (or HTTPS with --https,
# which fake_ami_http.py takes over --http).
start_http() {
	start_servers --http "$@"
}

use() {
	TRANSPORT=$1
	local url="http://127.0.0.1:$HTTP_PORT/"
	case $1 in
	tcp) T=(--port "$TCP_PORT") ;;
	tls) T=(--tls --port "$TLS_PORT" --cacert "$CERT") ;;
	http-cookie) T=(--url "$url") ;;
	http-digest) T=(--url "$url" --http-auth digest) ;;
	mxml) T=(--url "$url" --http-encoding mxml) ;;
	*) echo "unknown transport $1" >&2; return 1 ;;
	esac
}

# The server saw the transport we asked for.
assert_went_over() {
	case $TRANSPORT in
	tcp)
		grep -q '^RECV Login' "$LOG"
		if grep -q '^TLS \|^HTTP ' "$LOG"; then fail "tcp: the log shows TLS or HTTP"; fi ;;
	tls)
		grep -q '^TLS TLSv1' "$LOG" ;;
	http-cookie)
		grep -q '^HTTP POST /rawman$' "$LOG"
		grep -q '^RECV Login' "$LOG" ;;
	http-digest)
		grep -q '^HTTP POST /arawman$' "$LOG"
		grep -q '^DIGEST ok hello' "$LOG"
		if grep -q '^RECV Login' "$LOG"; then fail "http-digest: a Login action was sent"; fi ;;
	mxml)
		grep -q '^HTTP POST /mxml$' "$LOG" ;;
	esac
}

# ---------- the matrix ----------

scenario_ping() {
	start_servers --http
	use "$1"
	run --separate-stderr ami ping "${T[@]}"
	assert_success
	assert_output --regexp '^pong from [^ ]+: seq=1 time=[0-9.]+ ms$'
	assert_equal "$stderr" ""
	assert_went_over
}

scenario_action_list() {
	start_servers --http --channels 2
	use "$1"
	run --separate-stderr ami action CoreShowChannels --json "${T[@]}"
	assert_success
	assert_equal "$(grep -c '"Event":"CoreShowChannel",' <<<"$output")" 2
	assert_line --regexp '"Event":"CoreShowChannelsComplete".*"ListItems":"2"'
	assert_line --index 0 --regexp '^\{"Response":"Success",.*"EventList":"start"'
	assert_went_over
}

scenario_command() {
	start_servers --http --channels 2
	use "$1"
	run --separate-stderr ami command "${T[@]}" 'core show channels'
	assert_success
	assert_line --regexp '^Local/loop@test-00000001;1 +loop@test:1 +Up +Wait\(3600\)'
	assert_line '2 active channels'
	assert_went_over
}

scenario_originate_wait() {
	start_servers --http
	use "$1"
	run --separate-stderr ami originate Local/short@test --app Wait --data 5 --wait=hangup "${T[@]}"
	assert_success
	assert_line --index 0 --regexp '^answered: Local/short@test-[0-9a-f]{8};1 uniqueid=[^ ]+ reason=4 \(answered\)$'
	assert_line --index 1 --regexp '^hangup: Local/short@test-[0-9a-f]{8};1 uniqueid=[^ ]+ cause=16 \(Normal Clearing\)$'
	assert_went_over
	if [ "$TRANSPORT" = http-digest ]; then
		# No Login carries the event classes: the Events action does.
		grep -q '^RECV Events EventMask=call' "$LOG"
	fi
}

scenario_redirect() {
	start_servers --http --channels 2
	use "$1"
	run --separate-stderr ami redirect 'Local/loop@test-00000001;2' --context park --exten 1234 "${T[@]}"
	assert_success
	assert_output 'redirected: Local/loop@test-00000001;2 to park,1234,1'
	run ami action CoreShowChannels --json "${T[@]}"
	assert_line --regexp '"Channel":"Local/loop@test-00000001;2",.*"Context":"park","Exten":"1234"'
	assert_went_over
}

scenario_tail_events() {
	start_servers --http --events 5
	use "$1"
	run --separate-stderr timeout 30 ami tail-events -c 3 "${T[@]}"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp '^[0-9:.]+ [A-Za-z]+ '
	assert_went_over
}

scenario_shell() {
	start_servers --http
	use "$1"
	run --separate-stderr ami shell "${T[@]}" <<-'EOF'
		ping
		command "core show version"
		CoreStatus
	EOF
	assert_success
	assert_line --regexp '^pong from '
	assert_line --partial 'Asterisk 22.10.1 built by'
	assert_line --regexp '^CoreCurrentCalls: +0$'
	assert_went_over
	# Events are off: no WaitEvent, which would switch them on over HTTP.
	if grep -q '^RECV WaitEvent' "$LOG"; then fail "a WaitEvent was sent with events off"; fi
	if [ "$TRANSPORT" != http-digest ]; then
		assert_equal "$(grep -c '^RECV Login' "$LOG")" 1     # one session for all
	fi
}

# events on in the shell: over HTTP they are fetched with WaitEvent; what
# happened while they were off (the Login's own events too, which Asterisk
# keeps for an HTTP session) is not shown; the events that the commands
# just before `events off` or the end of the input caused are.
scenario_shell_events() {
	start_servers --http
	use "$1"
	run --separate-stderr ami shell "${T[@]}" <<-'EOF'
		events on
		UserEvent UserEvent=Shown
		events off
		UserEvent UserEvent=NotShown
		ping
		events on
		UserEvent UserEvent=Last
	EOF
	assert_success
	assert_line --regexp '^UserEvent: +Shown$'
	refute_line --partial 'NotShown'
	refute_line --partial 'SuccessfulAuth'
	assert_line --regexp '^pong from '
	assert_equal "${lines[${#lines[@]} - 1]}" 'UserEvent: Last'
	assert_went_over
}

@test "ping over tcp" { scenario_ping tcp; }
@test "ping over tls" { scenario_ping tls; }
@test "ping over http-cookie" { scenario_ping http-cookie; }
@test "ping over http-digest" { scenario_ping http-digest; }
@test "ping over mxml" { scenario_ping mxml; }

@test "action list over tcp" { scenario_action_list tcp; }
@test "action list over tls" { scenario_action_list tls; }
@test "action list over http-cookie" { scenario_action_list http-cookie; }
@test "action list over http-digest" { scenario_action_list http-digest; }
@test "action list over mxml" { scenario_action_list mxml; }

@test "command over tcp" { scenario_command tcp; }
@test "command over tls" { scenario_command tls; }
@test "command over http-cookie" { scenario_command http-cookie; }
@test "command over http-digest" { scenario_command http-digest; }
@test "command over mxml" { scenario_command mxml; }

@test "originate --wait over tcp" { scenario_originate_wait tcp; }
@test "originate --wait over tls" { scenario_originate_wait tls; }
@test "originate --wait over http-cookie" { scenario_originate_wait http-cookie; }
@test "originate --wait over http-digest" { scenario_originate_wait http-digest; }
@test "originate --wait over mxml" { scenario_originate_wait mxml; }

@test "redirect over tcp" { scenario_redirect tcp; }
@test "redirect over tls" { scenario_redirect tls; }
@test "redirect over http-cookie" { scenario_redirect http-cookie; }
@test "redirect over http-digest" { scenario_redirect http-digest; }
@test "redirect over mxml" { scenario_redirect mxml; }

@test "tail-events --count over tcp" { scenario_tail_events tcp; }
@test "tail-events --count over tls" { scenario_tail_events tls; }
@test "tail-events --count over http-cookie" { scenario_tail_events http-cookie; }
@test "tail-events --count over http-digest" { scenario_tail_events http-digest; }
@test "tail-events --count over mxml" { scenario_tail_events mxml; }

@test "shell batch over tcp" { scenario_shell tcp; }
@test "shell batch over tls" { scenario_shell tls; }
@test "shell batch over http-cookie" { scenario_shell http-cookie; }
@test "shell batch over http-digest" { scenario_shell http-digest; }
@test "shell batch over mxml" { scenario_shell mxml; }

@test "shell events over tcp" { scenario_shell_events tcp; }
@test "shell events over tls" { scenario_shell_events tls; }
@test "shell events over http-cookie" { scenario_shell_events http-cookie; }
@test "shell events over http-digest" { scenario_shell_events http-digest; }
@test "shell events over mxml" { scenario_shell_events mxml; }

# ---------- TLS ----------

@test "tls: without --cacert the self-signed certificate is refused: exit 5, says why" {
	start_servers
	run --separate-stderr ami ping --tls --port "$TLS_PORT"
	assert_failure 5
	assert_output ""
	[[ $stderr == *"TLS with 127.0.0.1 port $TLS_PORT failed: SSL certificate problem: self-signed certificate"*"--cacert FILE"*"--insecure"* ]]
	wait_log '^TLS HANDSHAKE FAILED'
	! grep -q '^RECV' "$LOG"
}

@test "tls: --insecure connects without checking, and warns" {
	start_servers
	run --separate-stderr ami ping --tls --port "$TLS_PORT" --insecure
	assert_success
	assert_output --regexp '^pong from 127\.0\.0\.1:'
	[[ $stderr == *"warning: --insecure: the TLS certificate of 127.0.0.1 port $TLS_PORT is not checked"* ]]
}

@test "tls: localhost matches the certificate's name too" {
	start_servers
	run ami ping -H localhost --tls --port "$TLS_PORT" --cacert "$CERT"
	assert_success
}

@test "tls: --tls to a plain AMI port: exit 5 with a hint" {
	start_servers
	run --separate-stderr ami ping --tls --port "$TCP_PORT" --cacert "$CERT" -t 3
	assert_failure 5
	[[ $stderr == *"TLS with 127.0.0.1 port $TCP_PORT failed"*"is it a TLS port?"* ]]
	: >"$BATS_TEST_TMPDIR/violations"  # the plain server saw a TLS ClientHello: as meant
}

@test "tls: an unreadable --cacert is a configuration error (exit 3)" {
	start_servers
	run --separate-stderr ami ping --tls --port "$TLS_PORT" --cacert "$BATS_TEST_TMPDIR/none.pem"
	assert_failure 3
	[[ $stderr == *"cannot read the CA file $BATS_TEST_TMPDIR/none.pem (--cacert)"* ]]
}

@test "tls: transport=tls and cacert= in a profile" {
	start_servers
	write_profile <<-EOF
		[default]
		transport = tls
		port = $TLS_PORT
		cacert = $CERT
	EOF
	run ami ping
	assert_success
	grep -q '^TLS TLSv1' "$LOG"
}

@test "tls: nothing listening: exit 5, worded like TCP" {
	local port
	port=$(free_port)
	run --separate-stderr ami ping --tls --port "$port"
	assert_failure 5
	assert_equal "$stderr" "ami ping: cannot connect to 127.0.0.1 port $port: Connection refused"
}

# ---------- HTTP ----------

@test "http: the secret is never in a URL; parameters go in a POST form" {
	start_http
	for args in "" "--auth md5" "--http-auth digest" "--http-encoding mxml"; do
		# shellcheck disable=SC2086
		run ami ping --url "http://127.0.0.1:$HTTP_PORT/" $args
		assert_success
	done
	grep -q '^HTTP POST' "$LOG"
	run grep '^HTTP ' "$LOG"
	refute_output --partial 'world'
	refute_output --partial '?'
	refute_output --partial 'GET'
	grep -q '^RECV Login Username=hello Secret=\*\*\*\*' "$LOG"
}

@test "http: transport and url from a profile" {
	start_http
	write_profile <<-EOF
		[default]
		transport = http
		url = http://127.0.0.1:$HTTP_PORT/
		http_encoding = mxml
	EOF
	run ami ping
	assert_success
	grep -q '^HTTP POST /mxml$' "$LOG"
}

@test "http: the URL's path is the http.conf prefix; a trailing endpoint name is fine" {
	start_http --http-prefix asterisk
	run ami ping --url "http://127.0.0.1:$HTTP_PORT/asterisk/"
	assert_success
	run ami ping --url "http://127.0.0.1:$HTTP_PORT/asterisk/rawman" --http-auth digest
	assert_success
	grep -q '^HTTP POST /asterisk/arawman$' "$LOG"
	run --separate-stderr ami ping --url "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 7
	[[ $stderr == *"HTTP 404 Not Found from http://127.0.0.1:$HTTP_PORT/rawman"*"prefix"* ]]
}

@test "http: wrong secret: exit 4 (cookie: Authentication failed; digest: HTTP 401)" {
	start_http
	AMI_SECRET=wrong run --separate-stderr ami ping --url "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 4
	[[ $stderr == *"authentication failed for user \"hello\""*"Authentication failed"* ]]
	AMI_SECRET=wrong run --separate-stderr ami ping --url "http://127.0.0.1:$HTTP_PORT/" --http-auth digest
	assert_failure 4
	[[ $stderr == *"HTTP 401 Unauthorized from http://127.0.0.1:$HTTP_PORT/arawman: digest authentication failed"* ]]
}

@test "http: MD5 challenge login on the cookie session" {
	start_http
	run ami ping --url "http://127.0.0.1:$HTTP_PORT/" --auth md5
	assert_success
	grep -q '^RECV Challenge' "$LOG"
	grep '^RECV Login' "$LOG" | grep -q 'AuthType=MD5'
}

@test "http: an expired session is logged in again and the action sent again" {
	# Login, ping, ping: forgotten. Ping 3 meets a new session (Permission
	# denied, new cookie): Login again, ping 3 again.
	start_http --http-forget 3
	run --separate-stderr ami shell --url "http://127.0.0.1:$HTTP_PORT/" <<-'EOF'
		ping
		ping
		ping
	EOF
	assert_success
	assert_equal "$(grep -c '^pong from' <<<"$output")" 3
	[[ $stderr == *"the HTTP session on http://127.0.0.1:$HTTP_PORT/rawman expired; logging in again"* ]]
	assert_equal "$(grep -c '^RECV Login' "$LOG")" 2
	grep -q '^HTTP SESSION FORGOTTEN' "$LOG"
}

@test "http: logging in again after expiry redoes the MD5 challenge" {
	start_http --http-forget 4
	run ami shell --url "http://127.0.0.1:$HTTP_PORT/" --auth md5 <<-'EOF'
		ping
		ping
		ping
	EOF
	assert_success
	assert_equal "$(grep -c '^RECV Challenge' "$LOG")" 2
}

@test "http: WaitEvent asks for at most httptimeout - 10 s (learnt from Max-Age)" {
	start_http --httptimeout 13
	run ami originate Local/short@test --app Wait --wait=hangup --url "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	grep -q '^RECV WaitEvent .*Timeout=' "$LOG"
	run grep -o 'RECV WaitEvent .*Timeout=[0-9]*' "$LOG"
	refute_output --regexp 'Timeout=([4-9]|[1-9][0-9])'
}

@test "http: a synchronous Originate's late answer is awaited (the POST waits)" {
	start_http
	run ami originate Local/slow@test --app Wait --sync --url "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --regexp '^answered: Local/slow@test'
}

@test "http: Ctrl-C during a WaitEvent long-poll ends at once (130), after Logoff" {
	start_http
	ami originate Local/100@test --app Wait --data 100 --wait=hangup \
		--url "http://127.0.0.1:$HTTP_PORT/" >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	local pid=$! n rc start end bound
	# The long-poll is on: the server has the WaitEvent (5 s, scaled).
	bound=$(time_bound 5)
	n=$(awk -v s="$bound" 'BEGIN { print int(s * 20) }')
	until grep -q '^RECV WaitEvent' "$LOG" 2>/dev/null; do
		if ((n-- <= 0)) || ! kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
			fail "no WaitEvent reached the server within $bound s; ami said: $(cat "$BATS_TEST_TMPDIR/out")"
		fi
		sleep 0.05
	done
	sleep 0.2
	start=$(date +%s%N)
	kill -INT "$pid"
	# ami must end: 10 s (scaled) at most, or it is killed and the test fails.
	bound=$(time_bound 10)
	n=$(awk -v s="$bound" 'BEGIN { print int(s * 20) }')
	while kill -0 "$pid" 2>/dev/null; do
		if ((n-- <= 0)); then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			fail "ami did not end within $bound s of SIGINT"
		fi
		sleep 0.05
	done
	end=$(date +%s%N)
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 130
	grep -q '^RECV Logoff' "$LOG"
	# At once: not at the end of the 50 s WaitEvent.
	awk -v ms=$(((end - start) / 1000000)) -v max="$(time_bound 2)" 'BEGIN { exit !(ms < max * 1000) }'
}

# Status 500 and a text/html answer are in hostile.bats, with the whole
# message and a time bound.
@test "http: HTTP errors map to exit 7, a hang to exit 6" {
	local mode want
	for mode in redirect empty bad-xml hang; do
		start_http --http-hostile "$mode"
		case $mode in
		redirect) want="does not follow redirects" ;;
		empty) want="sent an empty answer" ;;
		bad-xml) want="protocol error in the answer from http://127.0.0.1:$HTTP_PORT/mxml: mxml:" ;;
		hang) want="timed out after 1.0 s waiting for the response to Login" ;;
		esac
		local enc=()
		[ "$mode" = bad-xml ] && enc=(--http-encoding mxml)
		run --separate-stderr ami ping -t 1 --url "http://127.0.0.1:$HTTP_PORT/" "${enc[@]}"
		if [ "$mode" = hang ]; then assert_failure 6; else assert_failure 7; fi
		[[ $stderr == *"$want"* ]] || { echo "$mode: $stderr"; return 1; }
		stop_fake_ami
	done
}

@test "http: an action over Asterisk's 40960-byte form limit is refused unsent (exit 2)" {
	start_http
	local args=() i
	for ((i = 1; i <= 45; i++)); do
		args+=("H$i=$(printf '%01000d' 0)")
	done
	run --separate-stderr ami action UserEvent UserEvent=Big "${args[@]}" --url "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 2
	[[ $stderr == *"bytes as an HTTP form, and Asterisk takes at most 40960"* ]]
	if grep -q '^RECV UserEvent' "$LOG"; then fail "the oversized UserEvent was sent"; fi
	grep -q '^RECV Logoff' "$LOG"
}

@test "http: nothing listening: exit 5; a proxy from the environment is named" {
	local port
	port=$(free_port)
	run --separate-stderr ami ping --url "http://127.0.0.1:$port/"
	assert_failure 5
	assert_equal "$stderr" "ami ping: cannot connect to http://127.0.0.1:$port/rawman: Connection refused"
	http_proxy="http://127.0.0.1:$port" run --separate-stderr ami ping --url "http://127.0.0.1:$(free_port)/"
	assert_failure 5
	[[ $stderr == *'(through the proxy in $http_proxy)'* ]]
}

@test "https: verified with --cacert, refused without (exit 5), --insecure warns" {
	start_http --https
	local url="https://127.0.0.1:$HTTP_PORT/"
	run ami ping --url "$url" --cacert "$CERT"
	assert_success
	run ami ping --url "$url" --cacert "$CERT" --http-auth digest --http-encoding mxml
	assert_success
	grep -q '^HTTP POST /amxml$' "$LOG"
	run --separate-stderr ami ping --url "$url"
	assert_failure 5
	[[ $stderr == *"SSL certificate problem: self-signed certificate"*"--cacert FILE"* ]]
	run --separate-stderr ami ping --url "$url" --insecure
	assert_success
	[[ $stderr == *"warning: --insecure: the TLS certificate of $url"*"is not checked"* ]]
}

@test "mxml: old-format Command text (opaque_data) comes back as lines" {
	start_http --hostile old-command --channels 2
	run ami command --port "$TCP_PORT" 'core show channels'
	local tcp_out=$output
	run ami command --url "http://127.0.0.1:$HTTP_PORT/" --http-encoding mxml 'core show channels'
	assert_success
	# /mxml trims trailing blanks; otherwise the same lines.
	assert_equal "$output" "$(sed 's/ *$//' <<<"$tcp_out")"
	assert_line '2 active channels'
}
