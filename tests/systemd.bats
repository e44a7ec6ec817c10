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
