#!/usr/bin/env bats
# The man pages and the shell completions agree with `ami --help` and
# `ami COMMAND --help` (ripgrep's consistency check, without a generator);
# the pages are lint-clean; the bash completion really completes.

bats_require_minimum_version 1.5.0

if [[ -f "$BATS_TEST_DIRNAME/helper.bash" ]]; then
	load helper
fi
if ! declare -F assert_success >/dev/null; then
	bats_load_library bats-support
	bats_load_library bats-assert
fi

export BASH_COMPLETION=${BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}

setup_file() {
	DOCS_TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	export DOCS_TOP
	# Others may be mid-edit: retry the build a few times, and fall back on
	# the binary already there.
	for _ in 1 2 3; do
		make -s -C "$DOCS_TOP" ami >/dev/null 2>&1 && break
		sleep 2
	done
}

setup() {
	declare -F setup_common >/dev/null && setup_common
	cd "$DOCS_TOP" || return 1
}

need_ami() {
	[[ -x ./ami ]] || fail "./ami is not built (make ami)"
}

# The commands whose --help works (the others cannot be checked yet).
documented_commands() {
	local c
	for c in $(./ami --list); do
		./ami "$c" --help >/dev/null 2>&1 && echo "$c"
	done
}

# The long options that `ami ARGS... --help` defines, one per line: the first
# --name of each indented line that starts with an option ("  -c, --count N",
# "      --tls"), not those mentioned in the prose.
long_options() {
	./ami "$@" --help |
		sed -nE 's/^[[:space:]]+(-[A-Za-z0-9], )?(--[a-z][a-z0-9-]*).*/\2/p' | sort -u
}

# The options of `ami --help`: the common ones, plus --list and the like.
common_options() {
	long_options
}

# The words of the shell assignment NAME='...' or `set -l NAME ...` in FILE.
listed_words() {
	sed -nE "s/^(set -l )?$2[= ]'?([^']*)'?\$/\2/p" "$1"
}

# True if the mdoc source FILE documents option --NAME (`.Fl -NAME`, or
# `\-\-NAME` in an example).
man_has() {
	grep -qE -- "(Fl -|\\\\-\\\\-)$2([^A-Za-z0-9-]|\$)" "$1"
}

# True if the text on stdin names option --NAME as a whole word.
text_has() {
	grep -qE -- "(^|[^A-Za-z0-9-])--$1([^A-Za-z0-9-]|\$)"
}

# True if the zsh completion text on stdin has a spec for option --NAME:
# `--NAME[descr]`, `--NAME=[descr]` or `{-n,--NAME=}` (not just a mention in
# an exclusion list).
zsh_has() {
	grep -qE -- "--$1[=+-]?[[}]"
}

# The zsh block of command CMD in completions/_ami: `(CMD)` up to `;;`.
zsh_block() {
	awk -v c="($1)" '$1 == c { on = 1 } on { print } on && /;;/ { exit }' completions/_ami
}

# Prints the bash completions of the words "$@"; the last word is completed.
bash_complete() {
	bash --norc --noprofile -c '
		source "$BASH_COMPLETION" || exit 1
		source "$0" || exit 1
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_ami "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' "$DOCS_TOP/completions/ami.bash" "$@"
}

# Prints the fish completions (the candidates, without descriptions) of the
# command line $1, with completions/ami.fish loaded and no user config.
fish_complete() {
	HOME=$BATS_TEST_TMPDIR XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/.config \
		XDG_DATA_HOME=$BATS_TEST_TMPDIR/.local/share fish -N -c \
		"source completions/ami.fish; complete -C '$1'" 2>&1 | cut -f1
}

need_bash_completion() {
	[[ -f $BASH_COMPLETION ]] || skip "bash-completion is not installed"
}

# A stand-in `ami` for completion tests: two commands, two profiles.
make_stub_ami() {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/ami" <<-'EOF'
	#!/bin/sh
	case "$*" in
	--list) printf '%s\n' ping zzz-stub ;;
	"config --list") printf '%s\n' default prod ;;
	"config --list --config "*) printf '%s\n' from-file ;;
	*) exit 2 ;;
	esac
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/ami"
}

@test "mandoc -Tlint -W warning finds nothing in man/" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run --separate-stderr mandoc -Tlint -W warning man/*
	assert_equal "$stderr" ""
	assert_output ""
	assert_success
}

@test "every option of ami --help is in ami.1" {
	need_ami
	local opt missing=()
	for opt in $(common_options); do
		man_has man/ami.1 "${opt#--}" || missing+=("$opt")
	done
	assert_equal "${missing[*]}" ""
}

@test "ami.1 lists every command and refers to its page" {
	need_ami
	local c missing=()
	for c in $(./ami --list); do
		grep -qE "^\.It Cm $c\$" man/ami.1 || missing+=("$c (no .It Cm $c)")
		grep -qE "^\.Xr ami-$c 1" man/ami.1 || missing+=("$c (no .Xr ami-$c 1)")
	done
	assert_equal "${missing[*]}" ""
}

@test "every command has a man page with every option of its --help" {
	need_ami
	local c opt missing=()
	for c in $(documented_commands); do
		if [[ ! -f man/ami-$c.1 ]]; then
			missing+=("man/ami-$c.1")
			continue
		fi
		for opt in $(long_options "$c"); do
			man_has "man/ami-$c.1" "${opt#--}" || missing+=("ami-$c.1:$opt")
		done
	done
	assert_equal "${missing[*]}" ""
}

@test "each command page's SYNOPSIS names the command and its ami-COMMAND link" {
	need_ami
	local c missing=()
	for c in $(documented_commands); do
		[[ -f man/ami-$c.1 ]] || continue
		grep -qE "^\.Cm $c\$" "man/ami-$c.1" || missing+=("ami-$c.1: .Cm $c")
		grep -qE "^\.Nm ami-$c\$" "man/ami-$c.1" || missing+=("ami-$c.1: .Nm ami-$c")
	done
	assert_equal "${missing[*]}" ""
}

@test "completions/ami.bash completes every option of every command's --help" {
	need_ami
	need_bash_completion
	local c opt got missing=()
	for c in $(documented_commands); do
		got=$(bash_complete ami "$c" --)
		for opt in $(long_options "$c"); do
			text_has "${opt#--}" <<<"$got" || missing+=("ami $c $opt")
		done
		got=$(bash_complete "ami-$c" --)
		for opt in $(long_options "$c"); do
			text_has "${opt#--}" <<<"$got" || missing+=("ami-$c $opt")
		done
	done
	assert_equal "${missing[*]}" ""
}

@test "completions/ami.bash completes the global options before a command" {
	need_ami
	need_bash_completion
	local opt got missing=()
	got=$(bash_complete ami --)
	for opt in $(common_options); do
		text_has "${opt#--}" <<<"$got" || missing+=("$opt")
	done
	assert_equal "${missing[*]}" ""
}

@test "completions/_ami has every option, command-specific ones in the command's block" {
	need_ami
	local c opt common missing=()
	common=$(common_options)
	for opt in $common; do
		zsh_has "${opt#--}" <completions/_ami || missing+=("$opt")
	done
	for c in $(documented_commands); do
		[[ -n $(zsh_block "$c") ]] || { missing+=("no ($c) block"); continue; }
		for opt in $(long_options "$c"); do
			grep -qx -- "$opt" <<<"$common" && continue
			zsh_block "$c" | zsh_has "${opt#--}" || missing+=("$c $opt")
		done
	done
	assert_equal "${missing[*]}" ""
}

@test "completions/ami.fish has every option, command-specific ones under __ami_using" {
	need_ami
	local c opt common missing=()
	common=$(common_options)
	for opt in $common; do
		grep -qE -- "-l ${opt#--}( |\$)" completions/ami.fish || missing+=("$opt")
	done
	for c in $(documented_commands); do
		for opt in $(long_options "$c"); do
			grep -qx -- "$opt" <<<"$common" && continue
			grep -E -- "__ami_using $c'" completions/ami.fish |
				grep -qE -- "-l ${opt#--}( |\$)" || missing+=("$c $opt")
		done
	done
	assert_equal "${missing[*]}" ""
}

@test "the completions know every command of ami --list" {
	need_ami
	local c missing=()
	for c in $(./ami --list); do
		[[ " $(listed_words completions/ami.bash _ami_all_commands) " == *" $c "* ]] ||
			missing+=("ami.bash:$c")
		bash --norc --noprofile -c 'source "$0" && complete -p "ami-$1"' \
			completions/ami.bash "$c" >/dev/null 2>&1 || missing+=("ami.bash:ami-$c")
		grep -qE "^#compdef .*[[:space:]]ami-$c( |\$)" completions/_ami || missing+=("_ami:#compdef ami-$c")
		grep -qE "^[[:space:]]*'$c:" completions/_ami || missing+=("_ami:$c")
		[[ " $(listed_words completions/ami.fish ami_commands) " == *" $c "* ]] ||
			missing+=("ami.fish:$c")
	done
	assert_equal "${missing[*]}" ""
}

@test "zsh and fish accept the completion files' syntax" {
	local checked=0
	if command -v zsh >/dev/null; then
		run zsh -n completions/_ami
		assert_success
		checked=1
	fi
	if command -v fish >/dev/null; then
		run fish -n completions/ami.fish
		assert_success
		checked=1
	fi
	((checked)) || skip "neither zsh nor fish is installed"
}

@test "fish completes every option of every command's --help" {
	need_ami
	command -v fish >/dev/null || skip "fish is not installed"
	local c opt got missing=()
	for c in $(documented_commands); do
		got=$(fish_complete "ami $c --")
		for opt in $(long_options "$c"); do
			text_has "${opt#--}" <<<"$got" || missing+=("ami $c $opt")
		done
	done
	assert_equal "${missing[*]}" ""
}

@test "fish: originate --wait=<TAB> offers answer and hangup, never as operands" {
	need_ami
	command -v fish >/dev/null || skip "fish is not installed"
	run fish_complete 'ami originate PJSIP/100 --wait='
	assert_output "$(printf '%s\n' --wait=answer --wait=hangup)"
	run fish_complete 'ami originate PJSIP/100 '
	refute_output --partial answer
}

@test "bash: ami pi<TAB> completes to ping (static list when ami is not in PATH)" {
	need_bash_completion
	PATH=/usr/bin:/bin run bash_complete ami pi
	assert_success
	assert_output ping
}

@test "bash: command names come from ami --list" {
	need_bash_completion
	make_stub_ami
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run bash_complete ami zz
	assert_output zzz-stub
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run bash_complete ami ''
	assert_line ping
	assert_line help
	refute_line action
}

@test "bash: ./ami pi<TAB> asks ./ami" {
	need_ami
	need_bash_completion
	run bash_complete ./ami pi
	assert_output ping
}

@test "bash: ami ping --cou<TAB> completes to --count, also as ami-ping" {
	need_bash_completion
	run bash_complete ami ping --cou
	assert_output -- --count
	run bash_complete ami-ping --cou
	assert_output -- --count
	run bash_complete ami -p prod ping -c 3 --int
	assert_output -- --interval
}

@test "bash: option values: --format, --auth, --http-auth, --http-encoding" {
	need_bash_completion
	run bash_complete ami --format ''
	assert_output "$(printf '%s\n' text raw json)"
	run bash_complete ami ping --format=j
	assert_output json
	run bash_complete ami --auth ''
	assert_output "$(printf '%s\n' plain md5)"
	run bash_complete ami action --http-auth ''
	assert_output "$(printf '%s\n' cookie digest)"
	run bash_complete ami-ping --http-encoding ''
	assert_output "$(printf '%s\n' rawman mxml)"
}

@test "bash: originate --wait=<TAB> offers answer and hangup; --wait alone takes none" {
	need_bash_completion
	run bash_complete ami originate --wait=
	assert_output "$(printf '%s\n' answer hangup)"
	run bash_complete ami-originate --wait=h
	assert_output hangup
	run bash_complete ami originate --wait --sy
	assert_output -- --sync
}

@test "bash: profile names after -p / --profile come from ami config --list" {
	need_bash_completion
	make_stub_ami
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run bash_complete ami -p ''
	assert_output "$(printf '%s\n' default prod)"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run bash_complete ami ping --profile p
	assert_output prod
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run bash_complete ami --config x.conf -p ''
	assert_output from-file
}

@test "bash: files after --config, --secret-file and --cacert" {
	need_bash_completion
	mkdir -p "$BATS_TEST_TMPDIR/d"
	touch "$BATS_TEST_TMPDIR/d/secret.txt"
	local opt
	for opt in --config --secret-file --cacert; do
		run bash_complete ami ping "$opt" "$BATS_TEST_TMPDIR/d/se"
		assert_output "$BATS_TEST_TMPDIR/d/secret.txt"
	done
}

@test "bash: ami help <TAB> offers the commands, global options only before one" {
	need_bash_completion
	PATH=/usr/bin:/bin run bash_complete ami help pi
	assert_output ping
	run bash_complete ami --vers
	assert_output -- --version
	run bash_complete ami ping --vers
	assert_output ""
}

# A user's clone has no reference folder beside it: every test input lives in the
# repository (tests/captures/ holds the copies of the Asterisk 22 captures).
@test "no test, fake server, benchmark, CI step or Makefile rule reads the reference folder beside the repository" {
	run grep -rnE --exclude-dir=captures --exclude=docs.bats \
		'\.\./(\.\./)?shared|/shared/(captures|reference|bench)|"shared", *"captures"' \
		tests/ Makefile bench/ .ci/
	assert_failure 1
	assert_output ""
}

@test "the captures the tests read are in the repository" {
	[[ -s tests/captures/asterisk-22/events-stream.recv.raw ]]
	[[ -s tests/captures/asterisk-22/tcp-command.recv.raw ]]
	[[ -s tests/captures/README.md ]]
	run ls tests/captures/asterisk-22/*.recv.raw
	assert_success
	(( ${#lines[@]} >= 30 ))
}
