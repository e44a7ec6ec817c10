#!/usr/bin/env bats
# The Debian package (issue 17): `make deb` builds ami_VERSION_amd64.deb
# from a scratch copy of the tree; unpacked into a scratch root (dpkg -x),
# its ami runs, its man pages read, its ami-COMMAND links and completions
# are where Debian's shells look for them, and lintian finds nothing at its
# default level. The package is built once for the whole file (~30 s, and
# ~20 s of lintian), so this file is skipped where dpkg-dev or debhelper is
# missing; .ci/run installs them.

load helper

# What git sees of the tree, ignored files included ("no git" without it).
tree_state() {
	git -C "$REPO_ROOT" status --porcelain --ignored 2>/dev/null || echo "no git"
}

# Why the package cannot or need not be built here, if so.
skip_reason() {
	command -v dpkg-buildpackage >/dev/null ||
		{ echo "dpkg-buildpackage is not installed (apt-get install dpkg-dev)"; return; }
	command -v dh >/dev/null || { echo "debhelper is not installed (apt-get install debhelper)"; return; }
	(cd "$REPO_ROOT" && dpkg-checkbuilddeps 2>&1) || return
	# The build runs no ami of the tree: under valgrind or make asan it
	# would only repeat what make check did.
	[ "$VALGRIND_ON" != 1 ] || { echo "make check builds the package, not valgrind"; return; }
	[[ ${MAKEFLAGS:-} != *-fsanitize=* ]] || echo "make check builds the package, not make asan"
}

# bats 1.8 cannot skip from setup_file: each test skips in setup.
setup_file() {
	DEB_SKIP=$(skip_reason)
	export DEB_SKIP
	[ -z "$DEB_SKIP" ] || return 0
	VERSION=$(sed -n 's/^VERSION = //p' "$REPO_ROOT/config.mk")
	OUT="$BATS_FILE_TMPDIR/out"
	ROOT="$BATS_FILE_TMPDIR/root"
	DEB="$OUT/ami_${VERSION}_$(dpkg --print-architecture).deb"
	export VERSION OUT ROOT DEB
	tree_state >"$BATS_FILE_TMPDIR/tree.before"
	# Not the flags of the make that runs the tests: the package is built
	# as debian/rules says. make check has run the unit tests (nocheck); no
	# debug symbols package (noddebs), which lintian would check too.
	if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL DEB_BUILD_OPTIONS="nocheck noddebs" \
		make -C "$REPO_ROOT" deb DEB_OUT="$OUT" >"$BATS_FILE_TMPDIR/build.log" 2>&1; then
		tail -n 40 "$BATS_FILE_TMPDIR/build.log" >&3
		return 1
	fi
	tree_state >"$BATS_FILE_TMPDIR/tree.after"
	dpkg -x "$DEB" "$ROOT"
}

setup() {
	setup_common
	[ -z "$DEB_SKIP" ] || skip "$DEB_SKIP"
}

@test "make deb builds ami_VERSION_ARCH.deb, Depends on libcurl4 that shlibs cannot see" {
	[ -f "$DEB" ]
	assert_equal "$(dpkg-deb -f "$DEB" Package)" ami
	assert_equal "$(dpkg-deb -f "$DEB" Version)" "$VERSION"
	run dpkg-deb -f "$DEB" Depends
	assert_output --partial "libcurl4 (>= 7.85.0)"
	assert_output --partial "libcjson1"
	assert_output --partial "libreadline8"
	assert_output --partial "libc6"
}

@test "the build left the tree as it was" {
	grep -qx "no git" "$BATS_FILE_TMPDIR/tree.before" && skip "not a git work tree"
	run diff "$BATS_FILE_TMPDIR/tree.before" "$BATS_FILE_TMPDIR/tree.after"
	assert_success
}

@test "the installed ami runs and prints its version" {
	run "$ROOT/usr/bin/ami" --version
	assert_success
	assert_line --index 0 "ami $VERSION"
}

@test "man -l reads the installed pages" {
	local page
	for page in man1/ami.1.gz man1/ami-tail-events.1.gz man5/ami.conf.5.gz; do
		run env MANWIDTH=80 man -l "$ROOT/usr/share/man/$page"
		assert_success
		assert_line --regexp '^NAME'
		assert_output --partial "$(basename "$page" .gz | sed 's/\.[15]$//') "
	done
}

@test "one ami-COMMAND link per command of ami --list, each a working ami" {
	local c n=0
	for c in $("$ROOT/usr/bin/ami" --list); do
		n=$((n + 1))
		assert_equal "$(readlink "$ROOT/usr/bin/ami-$c")" ami
		run "$ROOT/usr/bin/ami-$c" --help
		assert_success
		assert_line --index 0 --partial "usage: ami $c"
		[ -f "$ROOT/usr/share/man/man1/ami-$c.1.gz" ]
	done
	[ "$n" -gt 0 ]
	assert_equal "$(find "$ROOT/usr/bin" -name 'ami-*' | wc -l)" "$n"
}

@test "the completions are where bash, zsh and fish look for them on Debian" {
	local share="$ROOT/usr/share" c
	cmp "$share/bash-completion/completions/ami" "$REPO_ROOT/completions/ami.bash"
	cmp "$share/zsh/vendor-completions/_ami" "$REPO_ROOT/completions/_ami"
	cmp "$share/fish/vendor_completions.d/ami.fish" "$REPO_ROOT/completions/ami.fish"
	for c in $("$ROOT/usr/bin/ami" --list); do
		assert_equal "$(readlink "$share/bash-completion/completions/ami-$c")" ami
		grep -q "complete -c ami-$c " "$share/fish/vendor_completions.d/ami-$c.fish"
	done
}

@test "the unit is contrib's, installed but neither enabled nor started" {
	local unit
	unit=$(find "$ROOT" -path '*/systemd/system/ami-tail-events@.service')
	[ -n "$unit" ]
	cmp "$unit" "$REPO_ROOT/contrib/systemd/ami-tail-events@.service"
	mkdir "$BATS_TEST_TMPDIR/control"
	dpkg-deb -e "$DEB" "$BATS_TEST_TMPDIR/control"
	run grep -rlE 'deb-systemd-(helper enable|invoke start)|systemctl .*(enable|start)' \
		"$BATS_TEST_TMPDIR/control"
	assert_output ""
}

@test "lintian finds nothing in the .deb and the .changes" {
	command -v lintian >/dev/null || skip "lintian is not installed"
	run --separate-stderr lintian --fail-on error,warning "$OUT"/ami_"$VERSION"_*.changes
	assert_success
	assert_output ""
}
