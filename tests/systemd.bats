#!/usr/bin/env bats
# The service unit contrib/systemd/ami-tail-events@.service (issue 17):
# systemd-analyze verify finds nothing in it; ami takes the secret it gets
# as a systemd credential in both layouts systemd makes; and under a real
# systemd (root, namespaces) it streams events into the journal.

load helper

UNIT="$REPO_ROOT/contrib/systemd/ami-tail-events@.service"

@test "systemd-analyze verify finds nothing in the unit" {
	command -v systemd-analyze >/dev/null ||
		skip "systemd-analyze is not installed (apt-get install systemd)"
	local units="$BATS_TEST_TMPDIR/units" man="$BATS_TEST_TMPDIR/man"
	grep -q '^ExecStart=/usr/bin/ami ' "$UNIT"
	# verify checks that ExecStart= is executable and that the pages of
	# Documentation= exist: here they are the tree's.
	mkdir -p "$units" "$man/man1" "$man/man5"
	cp "$REPO_ROOT"/man/*.1 "$man/man1/"
	cp "$REPO_ROOT"/man/*.5 "$man/man5/"
	sed "s|^ExecStart=/usr/bin/ami |ExecStart=$REPO_ROOT/ami |" "$UNIT" >"$units/ami-tail-events@.service"
	cp "$units/ami-tail-events@.service" "$units/ami-tail-events@pbx1.service"
	run env MANPATH="$man" systemd-analyze verify \
		"$units/ami-tail-events@.service" "$units/ami-tail-events@pbx1.service"
	assert_success
	assert_output ""
}

# The unit passes the secret as a systemd credential: --secret-file
# $CREDENTIALS_DIRECTORY/secret. systemd 252 (Debian 12) makes that file the
# service user's, mode 0400, which passes ami's usual check; where the file
# system takes ACLs, systemd leaves the file root's and lets the service's
# user read it through an ACL, whose mask shows as mode 0440.

# grant PATH UID PERM: adds "user:UID:PERM" (PERM 4 = r, 5 = r-x) to the ACL
# of PATH, as systemd does (setfacl without the acl package); fails where the
# file system has no ACLs.
grant() {
	python3 - "$@" <<'EOF'
import os, struct, sys
path, uid, perm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
owner = (os.stat(path).st_mode >> 6) & 7
entry = lambda tag, p, id=0xffffffff: struct.pack('<HHI', tag, p, id)
# USER_OBJ, USER uid, GROUP_OBJ, MASK, OTHER
acl = struct.pack('<I', 2) + entry(1, owner) + entry(2, perm, uid) + entry(4, 0) + \
      entry(0x10, perm) + entry(0x20, 0)
os.setxattr(path, 'system.posix_acl_access', acl)
EOF
}

# credentials_dir: a directory of credentials as systemd makes it, with the
# secret "world" in it; sets CREDS.
credentials_dir() {
	CREDS="$BATS_TEST_TMPDIR/credentials/ami-tail-events@pbx1.service"
	mkdir -p "$CREDS"
	(umask 077 && echo world >"$CREDS/secret")
	chmod 400 "$CREDS/secret"
	chmod 500 "$CREDS"
}

@test "a credential whose ACL shows as mode 0440 is taken from \$CREDENTIALS_DIRECTORY only" {
	start_fake_ami
	unset AMI_SECRET
	credentials_dir
	grant "$CREDS/secret" 61900 4 || skip "no ACLs on this file system"
	cp -p "$CREDS/secret" "$BATS_TEST_TMPDIR/secret"
	[ "$(stat -c %a "$CREDS/secret")" = 440 ]
	CREDENTIALS_DIRECTORY=$CREDS run ami ping -q --secret-file "$CREDS/secret"
	assert_success
	# The same file elsewhere, or that directory not named, is not private.
	CREDENTIALS_DIRECTORY=$CREDS run ami ping -q --secret-file "$BATS_TEST_TMPDIR/secret"
	assert_failure 3
	assert_output --partial "has mode 0440"
	run ami ping -q --secret-file "$CREDS/secret"
	assert_failure 3
}

@test "in \$CREDENTIALS_DIRECTORY, a file others may read, or below it, is still refused" {
	start_fake_ami
	unset AMI_SECRET
	credentials_dir
	chmod 700 "$CREDS"
	mkdir "$CREDS/sub"
	cp -p "$CREDS/secret" "$CREDS/sub/secret"
	chmod 444 "$CREDS/secret"
	CREDENTIALS_DIRECTORY=$CREDS run ami ping -q --secret-file "$CREDS/secret"
	assert_failure 3
	assert_output --partial "has mode 0444"
	chmod 440 "$CREDS/sub/secret"
	CREDENTIALS_DIRECTORY=$CREDS run ami ping -q --secret-file "$CREDS/sub/secret"
	assert_failure 3
	CREDENTIALS_DIRECTORY=$CREDS/ run ami ping -q --secret-file "$CREDS/sub/secret"
	assert_failure 3
}

@test "a dynamic user reads root's credential through its ACL (as root)" {
	[ "$(id -u)" = 0 ] || skip "needs root, to run ami as another user"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	start_fake_ami
	unset AMI_SECRET
	# Outside bats' private temporary directory: the user must get through.
	local top
	top=$(mktemp -d /tmp/ami-credentials.XXXXXX)
	chmod 711 "$top"
	CREDS="$top/ami-tail-events@pbx1.service"
	mkdir -m 700 "$CREDS"
	(umask 077 && echo world >"$CREDS/secret")
	chmod 400 "$CREDS/secret"
	chmod 500 "$CREDS"
	if ! grant "$CREDS/secret" 61900 4 || ! grant "$CREDS" 61900 5; then
		rm -rf "$top"
		skip "no ACLs on this file system"
	fi
	# The ami of the tree itself: valgrind's logs would not be writable.
	run setpriv --reuid=61900 --regid=61900 --clear-groups env HOME="$top" \
		XDG_CONFIG_HOME="$top/none" CREDENTIALS_DIRECTORY="$CREDS" \
		"$REPO_ROOT/ami" ping -q --secret-file "$CREDS/secret"
	rm -rf "$top"
	assert_success
	wait_log 'RECV Login Username=hello Secret=\*\*\*\*'
}

# ---- the unit under a real systemd ------------------------------------------
# systemd boots as PID 1 of new PID, mount, UTS, IPC and cgroup namespaces,
# in a cgroup of its own; /run, /etc (an overlay), /usr (an overlay with the
# built ami as /usr/bin/ami), the journal and the console are private to it,
# and /proc/sys is read-only, as in a container.
# It starts journald and ami-tail-events@test, as shipped but for
# DefaultDependencies=no (no sysinit.target: nothing else boots).

# nested_precondition: why the nested systemd cannot run here, if it cannot.
nested_precondition() {
	[ "$(id -u)" = 0 ] || { echo "needs root"; return; }
	[ -x /lib/systemd/systemd ] || { echo "systemd is not installed"; return; }
	[ "$(ps -o comm= -p 1)" = systemd ] &&
		{ echo "this machine runs systemd: the test would boot a second one beside it"; return; }
	[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] &&
		[ -d /sys/fs/cgroup/systemd ] || { echo "not a hybrid cgroup hierarchy"; return; }
	unshare --mount --pid --fork --cgroup true 2>/dev/null || echo "cannot make namespaces"
}

# in_nested COMMAND...: runs COMMAND in the nested system's namespaces.
in_nested() {
	nsenter -t "$NESTED_PID" -m -p -- "$@"
}

start_nested_systemd() {
	local w="$BATS_TEST_TMPDIR/nested" i
	NESTED_CG="amitest-$$-$BATS_TEST_NUMBER"
	mkdir -p "$w/usr/bin" "$w/etc-up" "$w/etc-work" "$w/etc-up/ami" "$w/units"
	cp "$REPO_ROOT/ami" "$w/usr/bin/ami"
	printf '[test]\nhost = 127.0.0.1\nport = %s\nusername = hello\n' "$AMI_PORT" >"$w/etc-up/ami/config"
	chmod 644 "$w/etc-up/ami/config"
	(umask 077 && echo world >"$w/etc-up/ami/test.secret")
	cp "$UNIT" "$w/units/"
	printf '[Unit]\nWants=systemd-journald.socket systemd-journald.service ami-tail-events@test.service\n' \
		>"$w/units/ami-test.target"
	mkdir "$w/units/ami-tail-events@test.service.d"
	printf '[Unit]\nDefaultDependencies=no\nAfter=systemd-journald.socket\n' \
		>"$w/units/ami-tail-events@test.service.d/test.conf"
	ln -s /dev/null "$w/units/network-online.target"
	# shellcheck disable=SC2016
	(
		for h in unified systemd; do
			mkdir "/sys/fs/cgroup/$h/$NESTED_CG" || exit 1
			echo $BASHPID >"/sys/fs/cgroup/$h/$NESTED_CG/cgroup.procs" || exit 1
		done
		exec unshare --pid --fork --mount --uts --ipc --cgroup --propagation private --mount-proc \
			bash -c '
			set -e
			w=$1
			mount -t tmpfs tmpfs /run
			! [ -d /var/log/journal ] || mount -t tmpfs tmpfs /var/log/journal
			mount -t overlay overlay -o "lowerdir=/etc,upperdir=$w/etc-up,workdir=$w/etc-work" /etc
			mount -t overlay overlay -o "lowerdir=$w/usr:/usr" /usr
			mount --bind /dev/null /dev/console
			# as in a container: no sysctl of the machine changes
			mount --bind /proc/sys /proc/sys
			mount -o remount,bind,ro /proc/sys
			mount -t tmpfs tmpfs /sys/fs/cgroup
			mkdir /sys/fs/cgroup/unified /sys/fs/cgroup/systemd
			mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
			mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
			# systemd moves the credentials mount back from a child namespace
			mount --make-rshared /
			mkdir -p /run/systemd/system
			cp -r "$w"/units/. /run/systemd/system/
			exec env container=ami-test /lib/systemd/systemd --system --unit=ami-test.target \
				--log-target=null
			' nested "$w"
	) >"$w/boot.log" 2>&1 3>&- &
	NESTED_UNSHARE=$!
	for ((i = 0; i < 100; i++)); do
		NESTED_PID=$(pgrep -P "$NESTED_UNSHARE" -x systemd) && break
		sleep 0.05
	done
	[ -n "$NESTED_PID" ] || { cat "$w/boot.log"; return 1; }
}

stop_nested_systemd() {
	local h
	[ -n "${NESTED_UNSHARE:-}" ] || return 0
	[ -z "${NESTED_PID:-}" ] || kill -KILL "$NESTED_PID" 2>/dev/null || true
	kill -KILL "$NESTED_UNSHARE" 2>/dev/null || true
	wait "$NESTED_UNSHARE" 2>/dev/null || true
	for h in unified systemd; do
		[ ! -d "/sys/fs/cgroup/$h/$NESTED_CG" ] ||
			find "/sys/fs/cgroup/$h/$NESTED_CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	unset NESTED_UNSHARE NESTED_PID
}

# wait_nested COMMAND...: retries COMMAND in the nested system for 20 s.
wait_nested() {
	local end=$((SECONDS + 20))
	while ((SECONDS < end)); do
		in_nested "$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	in_nested journalctl --no-pager -o cat | tail -n 30
	return 1
}

@test "under systemd the unit streams events to the journal as a dynamic user, and stops with a Logoff" {
	local why uid
	why=$(nested_precondition)
	[ -z "$why" ] || skip "$why"
	[ "$VALGRIND_ON" = 1 ] && skip "the service runs ami without valgrind"
	[[ ${MAKEFLAGS:-} == *-fsanitize=* ]] && skip "the sandbox is for the release build, not ASan's"
	start_fake_ami --events 3
	start_nested_systemd
	wait_nested sh -c 'journalctl -u ami-tail-events@test -o cat | grep -qx "{\"Event\":\"StreamDone\"}"'
	# ami ran as one of systemd's dynamic users, 61184 to 65519
	uid=$(in_nested journalctl -u ami-tail-events@test -o json --output-fields=MESSAGE,_UID |
		grep StreamDone | sed -n 's/.*"_UID":"\([0-9]*\)".*/\1/p')
	[ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ]
	run in_nested systemctl show -p ActiveState -p DynamicUser ami-tail-events@test
	assert_line ActiveState=active
	assert_line DynamicUser=yes
	in_nested systemctl stop ami-tail-events@test
	run in_nested systemctl show -p ActiveState -p ExecMainStatus ami-tail-events@test
	assert_line ActiveState=inactive
	assert_line ExecMainStatus=143
	wait_log '^RECV Logoff'
}

teardown() {
	stop_nested_systemd
	stop_fake_ami
}
