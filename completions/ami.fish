# fish completion for ami(1) and its ami-COMMAND links. Install as
# $(FISHCOMPDIR)/ami.fish. tests/docs.bats checks that the options here match
# `ami COMMAND --help`.

set -l ami_commands action callfile calls command config doctor originate ping redirect serve shell tail-events top

# The ami binary to ask: the one being completed (so ./ami works).
function __ami_prog
    set -l prog (commandline -opc)[1]
    if string match -q -- '*/*' $prog
        echo (string replace -r '/[^/]*$' '' -- $prog)/ami
    else
        echo ami
    end
end

# Prints the command being completed (nothing before one is typed): the first
# word that is neither an option nor the argument of one.
function __ami_cmd
    set -l tokens (commandline -opc)
    set -l prog (string replace -r '.*/' '' -- $tokens[1])
    if string match -q -- 'ami-?*' $prog
        string replace -- ami- '' $prog
        return 0
    end
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            # Options that take an argument: the next word is not a command.
            case -p --profile -H --host --port -u --user --secret-file --auth -t --timeout \
                --config --url --http-auth --http-encoding --cacert --format
                set skip 1
            case '-*'
            case '*'
                echo $t
                return 0
        end
    end
    return 1
end

function __ami_using --argument-names cmd
    set -l c (__ami_cmd)
    and test "$c" = "$cmd"
end

function __ami_needs_command
    not __ami_cmd >/dev/null
end

function __ami_commands
    set -l prog (__ami_prog)
    set -l cmds
    command -q $prog; and set cmds ($prog --list 2>/dev/null)
    test -n "$cmds"; or set cmds action callfile calls command config doctor originate ping redirect serve shell tail-events top
    printf '%s\n' $cmds
end

function __ami_profiles
    set -l tokens (commandline -opc)
    set -l cfg
    if set -l i (contains -i -- --config $tokens)
        set cfg --config $tokens[(math $i + 1)]
    end
    set -l prog (__ami_prog)
    # the first word of each line: profiles, then @groups
    command -q $prog; and $prog config --list $cfg 2>/dev/null | string split -f1 ' ' 
end

complete -c ami -f

# The command name, or `help COMMAND`.
complete -c ami -n __ami_needs_command -a '(__ami_commands)' -d Command
complete -c ami -n __ami_needs_command -a help -d 'show the help of a command'
complete -c ami -n '__ami_using help' -a '(__ami_commands)' -d Command

# Global options: only before the command name (cmd/main.c).
complete -c ami -n __ami_needs_command -l list -d 'print the command names'
complete -c ami -n __ami_needs_command -l install -r -F -d 'make ami-COMMAND links in DIR'
complete -c ami -n __ami_needs_command -l version -d 'print the version and library versions'

# Options every command accepts (cmd/common.c).
complete -c ami -s p -l profile -x -a '(__ami_profiles)' -d 'use profile NAME from the config file'
complete -c ami -s H -l host -x -a '(__fish_print_hostnames)' -d 'AMI host'
complete -c ami -l port -x -d 'AMI port (default 5038; 5039 with --tls)'
complete -c ami -s u -l user -x -d 'AMI username'
complete -c ami -l secret-file -r -F -d 'read the secret from FILE (mode 0600)'
complete -c ami -l secret-stdin -d 'read the secret from the first line of stdin'
complete -c ami -l auth -x -a 'plain md5' -d 'login method'
complete -c ami -s t -l timeout -x -d 'bound for connect, login and each response'
complete -c ami -l config -r -F -d 'config file'
complete -c ami -l tls -d 'AMI over TLS (default port 5039)'
complete -c ami -l url -x -a 'http:// https://' -d 'AMI over HTTP(S)'
complete -c ami -l http-auth -x -a 'cookie digest' -d 'HTTP login method'
complete -c ami -l http-encoding -x -a 'rawman mxml' -d 'HTTP body format'
complete -c ami -l cacert -r -F -d 'CA certificates to verify the TLS server with'
complete -c ami -l insecure -d 'do not verify the TLS certificate'
complete -c ami -l format -x -a 'text raw json' -d 'output format'
complete -c ami -s j -l json -d 'same as --format json'
complete -c ami -s v -l verbose -d 'show target and timings; twice: a wire trace'
complete -c ami -s q -l quiet -d 'print only data and errors'
complete -c ami -l parallel -x -d 'with several profiles, at most N at once'
complete -c ami -l unordered -d 'with several profiles, each answer as it completes'
complete -c ami -s h -l help -d 'show the help'

# Per-command options: one block per command.

# action: no options of its own.

# command: no options of its own.

# config
complete -c ami -n '__ami_using config' -s l -l list -d 'print the profile names in the config file'

# calls
complete -c ami -n '__ami_using calls' -s f -l follow -d 'print each call as it ends'
complete -c ami -n '__ami_using calls' -s c -l count -x -d 'stop after N calls'
complete -c ami -n '__ami_using calls' -l idle -x -d 'exit 6 when no call ended for SECONDS'
complete -c ami -n '__ami_using calls' -l reconnect -d 'on connection loss reconnect; calls across the gap marked incomplete'
complete -c ami -n '__ami_using calls' -l from -r -F -d 'the records of a recording'

# doctor
complete -c ami -n '__ami_using doctor' -l sample -x -d 'measure the event load for SECONDS (default 5; 0 skips)'

# callfile
complete -c ami -n '__ami_using callfile' -l app -x -d 'run this application on the answered channel'
complete -c ami -n '__ami_using callfile' -l data -x -d 'arguments of the application'
complete -c ami -n '__ami_using callfile' -l context -x -d 'dialplan context to start in'
complete -c ami -n '__ami_using callfile' -l exten -x -d 'extension in that context'
complete -c ami -n '__ami_using callfile' -l priority -x -d 'priority number (default 1; no labels)'
complete -c ami -n '__ami_using callfile' -l callerid -x -d 'caller ID'
complete -c ami -n '__ami_using callfile' -l wait-time -x -d 'seconds to ring per attempt (default 45)'
complete -c ami -n '__ami_using callfile' -l max-retries -x -d 'retries after the first attempt (default 0)'
complete -c ami -n '__ami_using callfile' -l retry-time -x -d 'seconds between attempts (default 300)'
complete -c ami -n '__ami_using callfile' -l account -x -d 'CDR account code'
complete -c ami -n '__ami_using callfile' -l set -x -d 'set a channel variable: NAME=VALUE'
complete -c ami -n '__ami_using callfile' -l codecs -x -d 'codecs to offer, e.g. alaw,ulaw'
complete -c ami -n '__ami_using callfile' -l archive -d 'move the file to outgoing_done with a Status: line'
complete -c ami -n '__ami_using callfile' -l always-delete -d 'delete the file after the call: --always-delete[=yes|no]'
complete -c ami -n '__ami_using callfile' -l early-media -d 'connect on early media (extension calls only)'
complete -c ami -n '__ami_using callfile' -l at -x -d 'call at TIME (YYYY-MM-DD HH:MM[:SS], ISO 8601, @EPOCH)'
complete -c ami -n '__ami_using callfile' -l in -x -d 'call after DURATION (90s, 15m, 2h, 1d)'
complete -c ami -n '__ami_using callfile' -l force -d 'accept a past time; replace a same-named file'
complete -c ami -n '__ami_using callfile' -l spool -x -a '(__fish_complete_directories)' -d 'spool directory'
complete -c ami -n '__ami_using callfile' -l name -x -d 'file name in the spool'
complete -c ami -n '__ami_using callfile' -l owner -x -a '(__fish_complete_users)' -d 'owner of the file: USER[:GROUP]'
complete -c ami -n '__ami_using callfile' -l tmp-dir -x -a '(__fish_complete_directories)' -d 'directory for the temporary file'
complete -c ami -n '__ami_using callfile' -l print -d 'write the file to stdout instead of spooling it'
complete -c ami -n '__ami_using callfile' -l wait -d 'with --archive: wait for the Status'

# originate
complete -c ami -n '__ami_using originate' -l app -x -d 'run this application on the answered channel'
complete -c ami -n '__ami_using originate' -l data -x -d 'arguments of the application'
complete -c ami -n '__ami_using originate' -l context -x -d 'dialplan context to connect the channel to'
complete -c ami -n '__ami_using originate' -l exten -x -d 'extension in that context'
complete -c ami -n '__ami_using originate' -l priority -x -d 'priority number or label (default 1)'
complete -c ami -n '__ami_using originate' -l callerid -x -d 'caller ID'
complete -c ami -n '__ami_using originate' -l ring-timeout -x -d 'how long to ring before giving up (default 30)'
complete -c ami -n '__ami_using originate' -l var -x -d 'set a channel variable: NAME=VALUE'
complete -c ami -n '__ami_using originate' -l account -x -d 'CDR account code'
complete -c ami -n '__ami_using originate' -l codecs -x -d 'codecs to offer, e.g. ulaw,alaw'
complete -c ami -n '__ami_using originate' -l early-media -d 'connect on early media, before the answer'
complete -c ami -n '__ami_using originate' -l channel-id -x -d 'Uniqueid to give the channel'
complete -c ami -n '__ami_using originate' -l other-channel-id -x -d 'Uniqueid of the second half of a Local channel'
complete -c ami -n '__ami_using originate' -l predial-gosub -x -d 'subroutine run before dialing: context,exten,priority'
complete -c ami -n '__ami_using originate' -l wait -f -a 'answer hangup' -d 'follow the call: --wait[=answer|hangup]'
complete -c ami -n '__ami_using originate' -l sync -d 'send Async: false (implies --wait)'

# ping
complete -c ami -n '__ami_using ping' -s c -l count -x -d 'number of pings (default 1)'
complete -c ami -n '__ami_using ping' -s i -l interval -x -d 'wait between pings (default 1)'

# redirect
complete -c ami -n '__ami_using redirect' -l context -x -d 'dialplan context to send the channel to'
complete -c ami -n '__ami_using redirect' -l exten -x -d 'extension in that context'
complete -c ami -n '__ami_using redirect' -l priority -x -d 'priority number or label (default 1)'
complete -c ami -n '__ami_using redirect' -l extra-channel -x -d 'a second channel to move at the same time'
complete -c ami -n '__ami_using redirect' -l extra-context -x -d 'its context (default --context)'
complete -c ami -n '__ami_using redirect' -l extra-exten -x -d 'its extension (default --exten)'
complete -c ami -n '__ami_using redirect' -l extra-priority -x -d 'its priority (default --priority)'

# tail-events
complete -c ami -n '__ami_using tail-events' -l events-mask -x -a 'on off system call log verbose agent user config dtmf reporting cdr dialplan agi cc aoc test security all' -d 'event classes to receive (default on)'
complete -c ami -n '__ami_using tail-events' -s e -l event -x -d 'only events named NAME (glob, any case)'
complete -c ami -n '__ami_using tail-events' -l exclude-event -x -d 'not events named NAME (glob, any case)'
complete -c ami -n '__ami_using tail-events' -l match -x -d 'only events whose header matches: KEY=GLOB or KEY~REGEX'
complete -c ami -n '__ami_using tail-events' -l no-server-filter -d 'do not ask Asterisk to filter events'
complete -c ami -n '__ami_using tail-events' -s c -l count -x -d 'stop after N printed events'
complete -c ami -n '__ami_using tail-events' -l until -x -d 'stop after the first such event: EVENT[:KEY=GLOB]'
complete -c ami -n '__ami_using tail-events' -l idle -x -d 'exit 6 when no event was printed for SECONDS'
complete -c ami -n '__ami_using tail-events' -l reconnect -d 'on connection loss reconnect, and mark the gap'
complete -c ami -n '__ami_using tail-events' -l timestamp -d 'add the receive time to each event'
complete -c ami -n '__ami_using tail-events' -l buffer -x -d 'queue for a slow reader, e.g. 512K, 64M (default 64M)'
complete -c ami -n '__ami_using tail-events' -l from -r -F -d 'read a recording instead of connecting'
complete -c ami -n '__ami_using tail-events' -l speed -x -d 'replay X times as fast as recorded'
complete -c ami -n '__ami_using tail-events' -l realtime -d 'replay at the pace it was recorded'

# serve (FILE: the recording)
complete -c ami -n '__ami_using serve' -l listen -x -a '127.0.0.1:5038 127.0.0.1:0' -d 'address to listen on (default 127.0.0.1:5038)'
complete -c ami -n '__ami_using serve' -l speed -x -a '1 2 10 60 max' -d 'replay X times as fast (default 1); max: no pauses'
complete -c ami -n '__ami_using serve' -l realtime -d 'the same as --speed 1'
complete -c ami -n '__ami_using serve' -l loop -d 'after the last event, start again'
complete -c ami -n '__ami_using serve' -l write-timeout -x -d 'drop a client that takes nothing for MS ms (default 100)'
complete -c ami -n '__ami_using serve' -F

# top
complete -c ami -n '__ami_using top' -l view -x -a 'calls channels conferences queues extensions' -d 'what to show (default calls)'
complete -c ami -n '__ami_using top' -l once -d 'print one snapshot and exit'
complete -c ami -n '__ami_using top' -l watch -x -d 'print a snapshot every SECONDS'
complete -c ami -n '__ami_using top' -l sort -x -a 'age name state' -d 'order of the rows (default age)'
complete -c ami -n '__ami_using top' -l reverse -d 'sort the other way round'
complete -c ami -n '__ami_using top' -l filter -x -d 'only rows containing TEXT (case ignored)'
complete -c ami -n '__ami_using top' -l no-color -d 'no colours (also when NO_COLOR is set)'
complete -c ami -n '__ami_using top' -l events-mask -x -a 'on off system call log verbose agent user config dtmf reporting cdr dialplan agi cc aoc test security all' -d 'event classes to ask for'

# shell (FILE: a file of commands)
complete -c ami -n '__ami_using shell' -s k -l keep-going -d 'go on after a failing command'
complete -c ami -n '__ami_using shell' -F

# Commands still being written: add a block here when they land, e.g.
# complete -c ami -n '__ami_using tail-events' -l count -x -d '...'
# (callfile, shell, tail-events)

# The ami-COMMAND links complete like `ami COMMAND`.
for c in $ami_commands
    complete -c ami-$c -w "ami $c"
end
