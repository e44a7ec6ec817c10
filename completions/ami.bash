# bash completion for ami(1) and its ami-COMMAND links       -*- shell-script -*-
#
# Install as $(BASHCOMPDIR)/ami. Command names come from `ami --list`, profile
# names from `ami config --list`; options are listed here, and
# tests/docs.bats checks that they match `ami COMMAND --help`.
#
# COMPREPLY=($(compgen ...)) splits on purpose, as bash-completion itself does.
# shellcheck disable=SC2207

# All commands, for when `ami --list` cannot run (ami not built or not in PATH).
_ami_all_commands='action callfile calls command config doctor originate ping redirect serve shell tail-events top'

# Options every command accepts (cmd/common.c), and those of them that take
# an argument (getopt would eat the next word).
_ami_common_opts='-p --profile -H --host --port -u --user --secret-file --secret-stdin
	--auth -t --timeout --config --tls --url --http-auth --http-encoding --cacert
	--insecure --format -j --json -v --verbose -q --quiet --parallel --unordered -h --help'
_ami_common_args='-p --profile -H --host --port -u --user --secret-file --auth -t
	--timeout --config --url --http-auth --http-encoding --cacert --format --parallel'

# Global options, valid only before the command name (cmd/main.c).
_ami_global_opts='--list --install --version'

# Per-command options: sets `opts` (all of the command's own options) and
# `args` (those that take an argument) for command $1. One line per command.
_ami_cmd_options()
{
	case $1 in
	action)      opts='' args='' ;;
	command)     opts='' args='' ;;
	config)      opts='-l --list' args='' ;;
	doctor)      opts='--sample' args='--sample' ;;
	originate)   opts='--app --data --context --exten --priority --callerid --ring-timeout
			--var --account --codecs --early-media --channel-id --other-channel-id
			--predial-gosub --wait --sync'
		args='--app --data --context --exten --priority --callerid --ring-timeout
			--var --account --codecs --channel-id --other-channel-id --predial-gosub' ;;
	ping)        opts='-c --count -i --interval' args='-c --count -i --interval' ;;
	redirect)    opts='--context --exten --priority --extra-channel --extra-context
			--extra-exten --extra-priority'
		args=$opts ;;
	# Commands still being written: add their line here when they land.
	callfile)    opts='--app --data --context --exten --priority --callerid --wait-time
			--max-retries --retry-time --account --set --codecs --archive --always-delete
			--early-media --at --in --force --spool --name --owner --tmp-dir --print --wait'
		args='--app --data --context --exten --priority --callerid --wait-time
			--max-retries --retry-time --account --set --codecs --at --in --spool --name
			--owner --tmp-dir' ;;
	calls)       opts='-f --follow -c --count --idle --reconnect --from' args='-c --count --idle --from' ;;
	serve)       opts='--listen --speed --realtime --loop --write-timeout'
		args='--listen --speed --write-timeout' ;;
	shell)       opts='-k --keep-going' args='' ;;
	tail-events) opts='--events-mask -e --event --exclude-event --match --no-server-filter
			-c --count --until --idle --reconnect --timestamp --buffer --from --speed --realtime'
		args='--events-mask -e --event --exclude-event --match -c --count --until --idle
			--buffer --from --speed' ;;
	top)         opts='--view --once --watch --sort --reverse --filter --no-color --events-mask'
		args='--view --watch --sort --filter --events-mask' ;;
	*)           opts='' args='' ;;
	esac
}

# Completes the argument of option $1 (the word being completed is $cur).
# Returns 1 when $1 is not an option with a value we know how to complete.
_ami_option_value()
{
	case $1 in
	-p | --profile)
		local cfg=()
		[[ -n $_ami_config ]] && cfg=(--config "$_ami_config")
		# the first word of each line: profiles, then @groups
		COMPREPLY=($(compgen -W "$("$_ami_prog" config --list "${cfg[@]}" 2>/dev/null |
			cut -d ' ' -f 1)" -- "$cur"))
		;;
	--format) COMPREPLY=($(compgen -W 'text raw json' -- "$cur")) ;;
	--auth) COMPREPLY=($(compgen -W 'plain md5' -- "$cur")) ;;
	--http-auth) COMPREPLY=($(compgen -W 'cookie digest' -- "$cur")) ;;
	--http-encoding) COMPREPLY=($(compgen -W 'rawman mxml' -- "$cur")) ;;
	--config | --secret-file | --cacert | --from) _filedir ;;
	-H | --host) _known_hosts_real -- "$cur" ;;
	--url) COMPREPLY=($(compgen -W 'http:// https://' -- "$cur")) && compopt -o nospace 2>/dev/null ;;
	--install) _filedir -d ;;
	--speed) COMPREPLY=($(compgen -W '1 2 10 60 max' -- "$cur")) ;;
	--listen) COMPREPLY=($(compgen -W '127.0.0.1:5038 127.0.0.1:0' -- "$cur")) ;;
	--view) COMPREPLY=($(compgen -W 'calls channels conferences queues extensions' -- "$cur")) ;;
	--sort) COMPREPLY=($(compgen -W 'age name state' -- "$cur")) ;;
	--wait)         # originate --wait[=answer|hangup]: only in the --wait= form
		$split || return 1
		COMPREPLY=($(compgen -W 'answer hangup' -- "$cur")) ;;
	*) return 1 ;;
	esac
	return 0
}

# The command names: from ami itself, else the static list.
_ami_commands()
{
	local cmds
	cmds=$("$_ami_prog" --list 2>/dev/null) && [[ -n $cmds ]] || cmds=$_ami_all_commands
	# shellcheck disable=SC2086 # split on purpose: one name per line
	printf '%s\n' $cmds
}

_ami()
{
	local cur prev words cword split
	_init_completion -s || return

	# The ami binary to ask (the one being completed, so ./ami works), and
	# for an ami-COMMAND link, the command.
	local base=${words[0]##*/} dir='' _ami_prog _ami_config='' cmd='' cmd_i=-1
	[[ ${words[0]} == */* ]] && dir=${words[0]%/*}/
	[[ $dir == '~'/* ]] && dir=$HOME/${dir#'~'/}
	_ami_prog=${dir}ami
	if [[ $base == ami-?* ]]; then
		cmd=${base#ami-} cmd_i=0
	fi

	# Find the command name: the first word that is neither an option nor
	# the argument of one.
	local i w opts args
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		case $w in
		--) break ;;
		--install) _filedir -d; return ;;
		--config) _ami_config=${words[i + 1]} ;;
		--config=*) _ami_config=${w#--config=} ;;
		esac
		if [[ -z $cmd && $w != -* ]]; then
			cmd=$w cmd_i=$i
			continue
		fi
		_ami_cmd_options "$cmd"
		[[ " $_ami_common_args $args " == *[[:space:]]"$w"[[:space:]]* ]] && ((i++))
	done

	_ami_option_value "$prev" && return
	$split && return                # --opt=VALUE of an option without values

	if [[ $cmd == help ]]; then     # ami help COMMAND
		((cword == cmd_i + 1)) &&
			COMPREPLY=($(compgen -W "$(_ami_commands)" -- "$cur"))
		return
	fi

	if [[ $cur == -* ]]; then
		_ami_cmd_options "$cmd"
		local all="$_ami_common_opts $opts"
		[[ -z $cmd ]] && all+=" $_ami_global_opts"
		COMPREPLY=($(compgen -W "$all" -- "$cur"))
		return
	fi

	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$(_ami_commands) help" -- "$cur"))
		return
	fi

	# The operands of a command: one line per command whose operands can
	# be completed.
	case $cmd in
	# Commands still being written: add theirs here, e.g. `callfile) _filedir ;;`.
	serve) _filedir ;;   # the recording
	shell) _filedir ;;   # FILE of commands
	esac
} &&
	complete -F _ami ami ami-action ami-callfile ami-calls ami-command ami-config ami-doctor \
		ami-originate ami-ping ami-redirect ami-serve ami-shell ami-tail-events ami-top

# ex: filetype=sh
