#!/usr/bin/env bats
# The service unit contrib/systemd/ami-tail-events@.service (issue 17).

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
