#!/usr/bin/env bats
# ami doctor: each broken setup is named, with its fix, on one line, the
# exit status is as documented and the run ends within its deadlines; a
# healthy PBX gives a clean report in under --sample + 2 s. The JSON is
# checked against the schema (nine objects, exactly Check, Status, Detail
# and Fix, all strings, a status of the four, a fix exactly for WARN/FAIL).

load helper

CHECKS='["config","route","banner","tls","http","login","permissions","clock","events"]'

setup_file() {
	# Certificates made once per file: one that verifies, one expired, one
	# for another name, one that expires in 10 days (openssl ca can date
	# a certificate in the past; req -x509 cannot).
	local dir="$BATS_FILE_TMPDIR/certs"
	mkdir -p "$dir/ca"
	: >"$dir/ca/index.txt"
	echo 01 >"$dir/ca/serial"
	cat >"$dir/ca.cnf" <<-EOF
	[ca]
	default_ca = d
	[d]
	dir = $dir/ca
	database = $dir/ca/index.txt
	serial = $dir/ca/serial
	new_certs_dir = $dir/ca
	default_md = sha256
	policy = p
	copy_extensions = copy
	unique_subject = no
	[p]
	commonName = supplied
	EOF
	make_cert good localhost DNS:localhost,IP:127.0.0.1 -days 400
	make_cert expired localhost DNS:localhost,IP:127.0.0.1 -startdate 20200101000000Z \
		-enddate 20200102000000Z
	make_cert other other.example DNS:other.example -days 400
	make_cert soon localhost DNS:localhost,IP:127.0.0.1 -days 10
}

# make_cert NAME CN SAN OPENSSL-CA-DATES...: $certs/NAME.pem and NAME.key.
make_cert() {
	local dir="$BATS_FILE_TMPDIR/certs" name=$1 cn=$2 san=$3
	shift 3
	timeout 60 openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" \
		-addext "subjectAltName=$san" -keyout "$dir/$name.key" -out "$dir/$name.csr" \
		2>/dev/null || return 1
	timeout 60 openssl ca -batch -config "$dir/ca.cnf" -selfsign -keyfile "$dir/$name.key" \
		-in "$dir/$name.csr" -out "$dir/$name.pem" "$@" >/dev/null 2>&1
}

certs() { echo "$BATS_FILE_TMPDIR/certs"; }

# The JSON schema: nine lines, one object each, the checks in order, exactly
# the four keys, strings only, a known status, a fix exactly for WARN/FAIL.
assert_doctor_json() {
	local lines
	lines=$(grep -c '' <<<"$1")
	assert_equal "$lines" 9
	jq -se --argjson checks "$CHECKS" '
		length == 9 and ([.[].Check] == $checks) and
		all(.[]; type == "object" and (keys == ["Check", "Detail", "Fix", "Status"]) and
			all(.[]; type == "string") and
			(.Status | IN("PASS", "WARN", "FAIL", "SKIP")) and
			((.Status | IN("WARN", "FAIL")) == (.Fix != "")) and .Detail != "")
	' <<<"$1" >/dev/null || fail "not the doctor's JSON schema: $1"
}

# The status of check NAME in JSON output $2.
status_of() {
	jq -r --arg c "$1" 'select(.Check == $c) | .Status' <<<"$2"
}

# The text line of check NAME in the output (one line each).
line_of() {
	grep -E "^(PASS|WARN|FAIL|SKIP) +$1 " <<<"$output"
}

# doctor_timed SECONDS ARGS...: runs ami doctor, fails when it took longer
# than SECONDS (scaled for valgrind); $output and $status as with run.
doctor_timed() {
	local bound=$1 start end
	shift
	start=$(date +%s%N)
	run --separate-stderr ami doctor "$@"
	end=$(date +%s%N)
	ELAPSED_MS=$(((end - start) / 1000000))
	local max_ms
	max_ms=$(awk -v s="$(time_bound "$bound")" 'BEGIN { print int(s * 1000) }')
	((ELAPSED_MS <= max_ms)) || fail "ami doctor took $ELAPSED_MS ms, more than $max_ms"
}

@test "healthy PBX over TCP: every check passes or is skipped, exit 0, in under --sample + 2 s" {
	start_fake_ami --events 50 --event-rate 20
	doctor_timed 3 --sample 1
	assert_success
	assert_equal "$stderr" ""
	[[ $(line_of config) == *'host 127.0.0.1 (env AMI_HOST); port '"$AMI_PORT"' (env AMI_PORT)'* ]]
	[[ $(line_of config) == *'secret from env AMI_SECRET'* ]]
	[[ $(line_of route) == "PASS  route       127.0.0.1 port $AMI_PORT connected in "* ]]
	[[ $(line_of banner) == *'"Asterisk Call Manager/11.0.0"'*'Asterisk 22.10.1 (CoreSettings)'* ]]
	[[ $(line_of tls) == 'SKIP  tls         not used (transport tcp)' ]]
	[[ $(line_of login) == *'plain login as hello accepted'*'MD5 login works too'* ]]
	[[ $(line_of clock) == PASS*"the server's clock is 0.0"* ]]
	[[ $(line_of events) == PASS*'events/s'*'top: '* ]]
	! grep -qE '^(WARN|FAIL)' <<<"$output"
	[[ ${lines[-1]} == "PASS: 7 passed, 2 skipped in "*" s" ]]
	assert_read_only
	grep -q '^RECV Command Command=manager show settings ' "$BATS_TEST_TMPDIR/ami.log"
}

# Doctor changes nothing on the server: every action it sent is one of the
# read-only ones, and a Command only ever "manager show ...".
assert_read_only() {
	wait_log '^RECV Logoff'
	local bad
	bad=$(grep '^RECV ' "$BATS_TEST_TMPDIR/ami.log" | grep -vE '^RECV (Login|Challenge|CoreSettings|CoreStatus|Ping|ListCommands|Events|Logoff) |^RECV Command Command=manager show ') || true
	assert_equal "$bad" ""
}

@test "--json: nine objects with exactly Check, Status, Detail and Fix, statuses of the four" {
	start_fake_ami
	run --separate-stderr ami doctor --json --sample 0
	assert_success
	assert_doctor_json "$output"
	assert_equal "$(status_of login "$output")" PASS
	assert_equal "$(status_of events "$output")" SKIP
	assert_equal "$(jq -r 'select(.Check == "events") | .Detail' <<<"$output")" "--sample 0"
}

@test "refused port: route FAIL says RST and gives the manager.conf lines, exit 1, at once" {
	local port
	port=$(free_port)
	doctor_timed 2 --port "$port" --sample 0 -t 5
	assert_failure 1
	assert_equal "$(line_of route)" "FAIL  route       127.0.0.1 port $port refused (RST: the host answers, nothing listens); no address connects -- fix: in manager.conf [general]: enabled = yes, port = $port, bindaddr = 0.0.0.0 (or an address of this host), then asterisk -rx 'module reload manager'; or a firewall REJECT rule"
	[[ $(line_of banner) == 'SKIP  banner      no connection (see route)' ]]
	[[ ${lines[-1]} == "FAIL: route failed; 1 passed, 7 skipped in "* ]]
	run --separate-stderr ami doctor --port "$port" --sample 0 --json
	assert_failure 1
	assert_doctor_json "$output"
}

@test "silent port (SYN dropped): route FAIL says so and names the firewall, within -t" {
	launch_fake "$TESTS_DIR/odd_ports.py" --silent
	local port=${READY_WORDS[1]}
	doctor_timed 3 --port "$port" --sample 0 -t 1
	assert_failure 1
	[[ $(line_of route) == "FAIL  route       127.0.0.1 port $port no answer within 1.0 s (silently dropped); no address connects -- fix: let TCP port $port from this host through every firewall on the way, the server's own included (iptables, nftables, firewalld), and check that 127.0.0.1 is up" ]]
	((ELAPSED_MS >= 1000))
}

@test "wrong secret: login FAIL says Asterisk answers a wrong secret and an unknown user alike" {
	start_fake_ami
	AMI_SECRET=wrong doctor_timed 4 --sample 0 -t 2
	assert_failure 1
	[[ $(line_of login) == 'FAIL  login       authentication failed for user "hello" on 127.0.0.1:'"$AMI_PORT"': Authentication failed (after 1.'*' s) -- fix: Asterisk answers a wrong secret, an unknown user, an address refused by permit/deny and a second login under allowmultiplelogin = no alike: check secret = in [hello] of manager.conf against the one ami uses (env AMI_SECRET), that [hello] exists'*'each failed login costs 1 s' ]]
	[[ $(line_of banner) == PASS*'AMI 11.0.0 is Asterisk 22'* ]]
	[[ $(line_of permissions) == 'SKIP  permissions not logged in (see login)' ]]
}

@test "a server that answers the login, then nothing: one FAIL, the rest skipped, within a few -t" {
	start_fake_ami --hostile no-read
	doctor_timed 5 --sample 1 -t 1
	assert_failure 1
	[[ $(line_of banner) == 'FAIL  banner      "Asterisk Call Manager/11.0.0" in '*' ms; CoreSettings: timed out after 1.0 s waiting for the response to CoreSettings; AMI 11.0.0 is Asterisk 22 -- fix: Asterisk answered the login but not CoreSettings within 1.0 s: it is overloaded or stuck ('* ]]
	[[ $(line_of login) == PASS* ]]
	assert_equal "$(grep -c 'the server stopped answering (see banner)$' <<<"$output")" 3
	[[ ${lines[-1]} == 'FAIL: banner failed; '* ]]
}

@test "unknown profile: config FAIL, every other check SKIP, exit 3" {
	write_profile <<-EOF
	[pbx1]
	host = 127.0.0.1
	EOF
	run --separate-stderr ami doctor -p nosuch --sample 0
	assert_failure 3
	[[ $(line_of config) == 'FAIL  config      profile "nosuch" not found in '*'; available: pbx1 -- fix: add a [nosuch] section to '*'(ami config --list)' ]]
	assert_equal "$(grep -c '^SKIP .* the profile cannot be resolved (see config)$' <<<"$output")" 8
	run --separate-stderr ami doctor -p nosuch --json
	assert_failure 3
	assert_doctor_json "$output"
}

@test "a secret file others may read: config FAIL with the chmod, exit 3" {
	printf 'world\n' >"$BATS_TEST_TMPDIR/secret"
	chmod 644 "$BATS_TEST_TMPDIR/secret"
	unset AMI_SECRET
	run --separate-stderr ami doctor --secret-file "$BATS_TEST_TMPDIR/secret" --sample 0
	assert_failure 3
	[[ $(line_of config) == "FAIL  config      secret file $BATS_TEST_TMPDIR/secret has mode 0644; it must be private: chmod 600 $BATS_TEST_TMPDIR/secret -- fix: chmod 600 $BATS_TEST_TMPDIR/secret" ]]
}

@test "no secret: config FAIL, the network still checked, login skipped, exit 1" {
	start_fake_ami
	unset AMI_SECRET
	run --separate-stderr ami doctor --sample 0 </dev/null
	assert_failure 1
	[[ $(line_of config) == FAIL*'no secret for user hello -- fix: secret_file = PATH in [default] (a private file: chmod 600 PATH), or --secret-file, --secret-stdin or AMI_SECRET' ]]
	[[ $(line_of route) == PASS* ]]
	[[ $(line_of banner) == PASS*'Asterisk Call Manager/11.0.0'* ]]
	[[ $(line_of login) == 'SKIP  login       no credentials (see config)' ]]
}

@test "no greeting, an HTTP server, another greeting: banner FAIL with the port or transport to use" {
	start_fake_ami --hostile no-banner
	doctor_timed 3 --sample 0 -t 1
	assert_failure 1
	[[ $(line_of banner) == 'FAIL  banner      connected, but no greeting within 1.0 s -- fix: a TLS port waits for the client to start (--tls), an HTTP port for a request (--url http://HOST:PORT/); otherwise the server is stuck' ]]
	stop_fake_ami
	start_fake_ami --hostile http-banner
	run --separate-stderr ami doctor --sample 0
	assert_failure 1
	[[ $(line_of banner) == "FAIL  banner      an HTTP server answers (\"HTTP/1.1 400 Bad Request\") -- fix: for AMI over HTTP: --url http://127.0.0.1:$AMI_PORT/ (url = in the profile)" ]]
	stop_fake_ami
	start_fake_ami --hostile ssh-banner
	run --separate-stderr ami doctor --sample 0
	assert_failure 1
	[[ $(line_of banner) == 'FAIL  banner      not an AMI server: it greeted with "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" -- fix: give the AMI port: port = in manager.conf [general] (default 5038), port = in the profile or --port' ]]
}

@test "what the server says reaches the terminal escaped" {
	# "Asterisk Call Manager/1\e]0;owned\a\e[2J", a C1 CSI and a byte
	# that is not UTF-8 as a greeting.
	launch_fake "$TESTS_DIR/odd_ports.py" --greet \
		"$(printf 'Asterisk Call Manager/1\033]0;owned\a\033[2J\302\2332J\377\r\n' | od -An -tx1 | tr -d ' \n')"
	run --separate-stderr ami doctor --port "${READY_WORDS[1]}" --sample 0 -t 1
	[[ $(line_of banner) == *'"Asterisk Call Manager/1\x1b]0;owned\x07\x1b[2J\xc2\x9b2J\xff"'* ]]
	! grep -q $'\033' <<<"$output"
	! grep -q $'\302\233' <<<"$output"
}

start_tls() {
	start_fake_ami_http --tls --cert "$(certs)/$1.pem" --key "$(certs)/$1.key" --lifetime 60
}

@test "TLS: a verified certificate passes with protocol, names, issuer and days left" {
	start_tls good
	run --separate-stderr ami doctor --tls --port "$TLS_PORT" --cacert "$(certs)/good.pem" --sample 0
	assert_success
	[[ $(line_of tls) == 'PASS  tls         TLSv1.3 / '*' in '*' ms; certificate CN = localhost (DNS:localhost, IP Address:127.0.0.1), issuer CN = localhost (self-signed); chain and name verified ('"$(certs)"'/good.pem); valid for 399 more days (until '* ]]
	[[ $(line_of banner) == *'"Asterisk Call Manager/11.0.0"'* ]]
	[[ $(line_of login) == PASS* ]]
}

@test "TLS: an expired certificate fails with the date and tlscertfile" {
	start_tls expired
	run --separate-stderr ami doctor --tls --port "$TLS_PORT" --cacert "$(certs)/expired.pem" --sample 0
	assert_failure 1
	[[ $(line_of tls) == 'FAIL  tls         the certificate does not verify: SSL certificate problem: certificate has expired; certificate CN = localhost '*'the certificate expired on 2020-01-02 00:00 UTC ('*' days ago) -- fix: renew it and point tlscertfile = in manager.conf [general] at the new one, then asterisk -rx '"'module reload manager'" ]]
	[[ $(line_of login) == 'SKIP  login       no AMI server to talk to (see above)' ]]
}

@test "TLS: a certificate for another name fails and names the one it holds" {
	start_tls other
	run --separate-stderr ami doctor --tls --port "$TLS_PORT" --cacert "$(certs)/other.pem" --sample 0
	assert_failure 1
	[[ $(line_of tls) == "FAIL  tls         the certificate does not verify: SSL: no alternative certificate subject name matches target host name '127.0.0.1'; certificate CN = other.example (DNS:other.example), issuer CN = other.example (self-signed) -- fix: connect by a name the certificate holds: -H other.example (host = in the profile); or reissue it with subjectAltName = IP:127.0.0.1 and point tlscertfile = in manager.conf [general] at it" ]]
}

@test "TLS: a certificate that expires in 10 days warns, exit 0" {
	start_tls soon
	run --separate-stderr ami doctor --tls --port "$TLS_PORT" --cacert "$(certs)/soon.pem" --sample 0
	assert_success
	[[ $(line_of tls) == 'WARN  tls         '*'the certificate expires in 9 days ('*') -- fix: renew it before '*' and point tlscertfile = in manager.conf [general] at the new one' ]]
	[[ ${lines[-1]} == 'WARN: tls warned; '* ]]
}

@test "TLS: self-signed without --cacert fails with the --cacert fix; --insecure warns" {
	start_tls good
	run --separate-stderr ami doctor --tls --port "$TLS_PORT" --sample 0
	assert_failure 1
	[[ $(line_of tls) == 'FAIL  tls         the certificate does not verify: SSL certificate problem: self-signed certificate; '*' -- fix: give the CA that signed it: --cacert FILE (cacert = FILE in the profile); for a self-signed certificate the certificate itself (openssl s_client -connect 127.0.0.1:'"$TLS_PORT"' -showcerts </dev/null prints it); --insecure skips the check' ]]
	run --separate-stderr ami doctor --tls --port "$TLS_PORT" --insecure --sample 0
	assert_success
	[[ $(line_of tls) == 'WARN  tls         '*'the certificate is not checked (--insecure): anyone on the path can pose as the server and read the secret; verified it would fail: SSL certificate problem: self-signed certificate'*'-- fix: --cacert FILE with the CA that signed it (the certificate itself when self-signed), then drop --insecure' ]]
	assert_equal "$stderr" ""
}

@test "TLS to the plain AMI port: the handshake fails, drop --tls" {
	start_tls good
	run --separate-stderr ami doctor --tls --port "$TCP_PORT" --cacert "$(certs)/good.pem" --sample 0 -t 2
	assert_failure 1
	[[ $(line_of tls) == 'FAIL  tls         the TLS handshake failed: '*' -- fix: use the TLS port (tlsenable = yes, tlsbindaddr = 0.0.0.0:5039 in manager.conf [general]; plain AMI is 5038: drop --tls)' ]]
	# The plain server saw a ClientHello, as meant: once it has closed both
	# connections (the route check's and the handshake's), forget that.
	local i
	for ((i = 0; i < 100; i++)); do
		(($(grep -c '^CLOSE ' "$BATS_TEST_TMPDIR/ami.log") >= 2)) && break
		sleep 0.05
	done
	: >"$BATS_TEST_TMPDIR/violations"
}

@test "HTTP: rawman, mxml, the cookie's Max-Age and digest are reported; cookie and digest log in" {
	start_fake_ami_http --http --lifetime 60
	run --separate-stderr ami doctor --url "http://127.0.0.1:$HTTP_PORT/" --sample 1
	assert_success
	[[ $(line_of http) == "PASS  http        http://127.0.0.1:$HTTP_PORT/rawman answers (text/plain, Asterisk/22.10.1); mxml answers; session cookie Max-Age 60 s (httptimeout); digest authentication (/arawman) available" ]]
	[[ $(line_of banner) == 'PASS  banner      AMI over HTTP has no greeting; Asterisk 22.10.1 (CoreSettings); Filter takes MatchCriteria: tail-events pushes exact server-side filters' ]]
	[[ $(line_of events) == PASS* ]]
	run --separate-stderr ami doctor --url "http://127.0.0.1:$HTTP_PORT/" --http-auth digest \
		--http-encoding mxml --sample 0 --json
	assert_success
	assert_doctor_json "$output"
	[[ $(jq -r 'select(.Check == "login") | .Detail' <<<"$output") == "HTTP digest login as hello accepted in "* ]]
}

@test "HTTP: a prefix the server does not have is a 404; the URL that answers is given" {
	start_fake_ami_http --http --lifetime 60
	run --separate-stderr ami doctor --url "http://127.0.0.1:$HTTP_PORT/asterisk/" --sample 0
	assert_failure 1
	assert_equal "$(line_of http)" "FAIL  http        POST http://127.0.0.1:$HTTP_PORT/asterisk/rawman: 404, but AMI answers at http://127.0.0.1:$HTTP_PORT/: http.conf has no prefix, or another one -- fix: url = http://127.0.0.1:$HTTP_PORT/ in the profile (--url http://127.0.0.1:$HTTP_PORT/)"
	[[ $(line_of login) == 'SKIP  login       AMI over HTTP does not answer (see http)' ]]
}

@test "HTTP with webenabled off: the AMI URIs are a 404, the fix is webenabled = yes" {
	start_fake_ami_http --http --webenabled no --lifetime 60
	run --separate-stderr ami doctor --url "http://127.0.0.1:$HTTP_PORT/" --sample 0
	assert_failure 1
	assert_equal "$(line_of http)" "FAIL  http        POST http://127.0.0.1:$HTTP_PORT/rawman: 404 Not Found (Asterisk/22.10.1) -- fix: webenabled = yes (and enabled = yes) in manager.conf [general], then asterisk -rx 'module reload manager'; if http.conf [general] has prefix = P, the URL is http://127.0.0.1:$HTTP_PORT/P/"
	[[ $(line_of login) == 'SKIP  login       AMI over HTTP does not answer (see http)' ]]
	[[ ${lines[-1]} == 'FAIL: http failed; 3 passed, 5 skipped in '* ]]
}

@test "HTTP: a redirect fails (ami does not follow it); a short httptimeout warns" {
	start_fake_ami_http --http --http-hostile redirect --lifetime 60
	run --separate-stderr ami doctor --url "http://127.0.0.1:$HTTP_PORT/" --sample 0
	assert_failure 1
	[[ $(line_of http) == "FAIL  http        POST http://127.0.0.1:$HTTP_PORT/rawman: HTTP 302 redirect to http://127.0.0.1:$HTTP_PORT/elsewhere/rawman -- fix: ami does not follow redirects (the secret would go along): give the final URL with --url (url = in the profile)" ]]
	stop_fake_ami
	start_fake_ami_http --http --httptimeout 8 --lifetime 60
	run --separate-stderr ami doctor --url "http://127.0.0.1:$HTTP_PORT/" --sample 0
	assert_success
	[[ $(line_of http) == 'WARN  http        '*'session cookie Max-Age 8 s: WaitEvent can wait at most httptimeout - 10 s, so events are polled every second'*' -- fix: httptimeout = 60 in manager.conf [general]' ]]
}

@test "an event flood with VarSet dominating: WARN names VarSet and Newexten with the lines that cut them" {
	start_fake_ami --events 100000 --event-rate 4000 --flood-mix VarSet=70,Newexten=20,Hangup=10
	doctor_timed 4 --sample 1.5
	assert_success
	local ev
	ev=$(line_of events)
	[[ $ev == 'WARN  events      '*' events/s, '*'top: VarSet '*'(70%), Newexten '*'(20%), Hangup '* ]]
	[[ $ev == *'VarSet and Newexten (the dialplan class, which few readers use) are '*'% of the bytes'* ]]
	[[ $ev == *' -- fix: if no reader needs VarSet,Newexten: disabledevents = VarSet,Newexten in manager.conf [general] (for every user); for hello alone, in [hello]: eventfilter(action(exclude),name(VarSet)) = and eventfilter(action(exclude),name(Newexten)) =; or take the dialplan class out of read: read = system,call,log,verbose,agent,user,dtmf,reporting,cdr,agi,cc,aoc,test,security; a reader that wants the others: ami tail-events --exclude-event VarSet --exclude-event Newexten'* ]]
}

@test "Asterisk 16 with a flood: the banner warns it is out of support, the advice is legacy filters" {
	# 16 ended in 2023-10 whatever today is; the features name their versions.
	start_fake_ami --asterisk-version 16.30.0 --events 100000 --event-rate 2000 --flood-mix VarSet=90,Hangup=10
	run --separate-stderr ami doctor --sample 1
	assert_success
	[[ $(line_of banner) == 'WARN  banner      "Asterisk Call Manager/5.0.5" in '*' ms; Asterisk 16.30.0 (CoreSettings); Asterisk 16 is out of support: no more security fixes; it ended in 2023-10; filters with MatchCriteria (Filter action, eventfilter(...) in manager.conf) need 18.26, 20.11, 21.6, 22.1 or later; legacy regex filters work; disabledevents in manager.conf needs 20 or later -- fix: upgrade to a supported release ('*' LTS gets fixes until '* ]]
	[[ $(line_of events) == *' -- fix: for hello alone, in [hello]: eventfilter = !Event: VarSet; '* ]]
	[[ $(line_of events) != *disabledevents* ]]
}

@test "clock skew: the server's Ping Timestamp an hour off warns with NTP as the fix" {
	start_fake_ami --clock-offset 3600
	run --separate-stderr ami doctor --sample 0
	assert_success
	# 3600 s less half the round trip's asymmetry: 3599.9x on a slow day.
	[[ $(line_of clock) =~ ^"WARN  clock       the server's clock is "(3599\.9|3600\.0)[0-9]" s ahead of ours (Ping Timestamp, round trip "[0-9.]+" ms) -- fix: keep both clocks in sync with NTP (chrony, systemd-timesyncd; timedatectl shows the state)" ]]
	[[ ${lines[-1]} == 'WARN: clock warned; '* ]]
	stop_fake_ami
	start_fake_ami --clock-offset -1.5
	run --separate-stderr ami doctor --sample 0 --json
	assert_success
	assert_doctor_json "$output"
	assert_equal "$(status_of clock "$output")" PASS
	[[ $(jq -r 'select(.Check == "clock") | .Detail' <<<"$output") == "the server's clock is 1.5"*" s behind ours"* ]]
}

@test "a user without originate, command and system: permissions WARN names what each ami command needs" {
	start_fake_ami --user lim:pw:call:call
	AMI_USER=lim AMI_SECRET=pw run --separate-stderr ami doctor --sample 0
	assert_success
	[[ $(line_of permissions) == 'WARN  permissions '*' actions allowed (ListCommands); write classes seen: call; without the command class the user'"'"'s read classes and the manager settings cannot be read; no Originate: ami originate needs write = originate; no Command: ami command needs write = command; no Filter: tail-events'"'"' server-side filters (without it Asterisk sends every event and ami drops them), Originate of system applications needs write = system -- fix: in manager.conf [lim]: write = system,call,command,originate, then asterisk -rx '"'manager reload'" ]]
	[[ $(line_of banner) == *'CoreSettings refused (Permission denied: it needs write = system or reporting); AMI 11.0.0 is Asterisk 22'* ]]
	[[ ${lines[-1]} == 'WARN: permissions warned; '* ]]
	AMI_USER=lim AMI_SECRET=pw run --separate-stderr ami doctor --sample 0 --json
	assert_doctor_json "$output"
	assert_equal "$(status_of permissions "$output")" WARN
	assert_read_only
}

@test "a user with command: manager show user and settings read; allowmultiplelogin = no warns" {
	start_fake_ami --user ops:pw:system,call:system,call,command,originate --allowmultiplelogin no \
		--disabledevents Newexten,VarSet --timestampevents --channelvars ACCOUNT
	AMI_USER=ops AMI_SECRET=pw run --separate-stderr ami doctor --sample 0
	assert_success
	[[ $(line_of permissions) == 'WARN  permissions '*' actions allowed (ListCommands); write classes seen: system,call,command,'*'originate'*'; read = system,call; write = system,call,command,originate; ACL (permit/deny) no; allowmultiplelogin no; timestampevents Yes; channelvars ACCOUNT (a ChanVariable header on every channel event); disabledevents Newexten,VarSet; writetimeout is not shown by Asterisk (100 ms unless writetimeout = in [ops]); allowmultiplelogin = no: a second ami as ops (a tail-events service, a cron job) is refused -- fix: allowmultiplelogin = yes in [ops], or one user per client' ]]
	[[ $(line_of login) == 'PASS  login       plain login as ops accepted in '*'; a second session with MD5 login was refused after 1.'*' s ('*'Authentication failed): '*'or allowmultiplelogin = no for ops' ]]
	assert_read_only
}

@test "usage errors exit 2 before anything is checked" {
	run --separate-stderr ami doctor --sample abc
	assert_failure 2
	[[ $stderr == *'--sample: not a number of seconds: abc'* ]]
	assert_output ""
	run --separate-stderr ami doctor extra
	assert_failure 2
	run --separate-stderr ami doctor --format raw
	assert_failure 2
	run --separate-stderr ami doctor --port abc
	assert_failure 2
	assert_output ""
}

@test "colour on a terminal only, and never with NO_COLOR; -q prints nothing when all is well" {
	start_fake_ami
	run script -qec "ami doctor --sample 0" /dev/null
	assert_success
	[[ $output == *$'\033[32mPASS\033[0m  config'* ]]
	NO_COLOR=1 run script -qec "ami doctor --sample 0" /dev/null
	[[ $output != *$'\033'* ]]
	run --separate-stderr ami doctor --sample 0
	[[ $output != *$'\033'* ]]
	run --separate-stderr ami doctor -q --sample 0
	assert_success
	assert_output ""
	run --separate-stderr ami doctor -q --sample 0 -u nobody
	assert_failure 1
	[[ $output == 'FAIL  login '*$'\n''FAIL: login failed; '* ]]
}

@test "a host name is resolved, and its addresses listed" {
	start_fake_ami
	run --separate-stderr ami doctor -H localhost --sample 0
	assert_success
	[[ $(line_of route) == 'PASS  route       localhost resolves to '*' in '*' ms; '*"127.0.0.1 port $AMI_PORT connected in "* ]]
}

@test "Ctrl-C while sampling: events SKIP (interrupted), Logoff sent, exit 130 at once" {
	start_fake_ami
	ami doctor --sample 30 >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local pid=$! i rc=0
	wait_log 'RECV Events .*EventMask=on'
	kill -INT "$pid"
	for ((i = 0; i < $(time_bound 100); i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	wait "$pid" || rc=$?
	assert_equal "$rc" 130
	run grep -E '^SKIP +events +interrupted after ' "$BATS_TEST_TMPDIR/out"
	assert_success
	wait_log 'RECV Logoff'
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" ""
}
