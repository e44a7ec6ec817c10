#!/bin/sh
# demo.sh - a first taste: start the bundled test AMI server on a free
# loopback port and run a few commands against it.
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d) || exit 1
python3 tests/fake_ami.py --channels 2 --lifetime 30 >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
i=0
until port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$tmp/server.out") && [ -n "$port" ]; do
	i=$((i + 1)); [ $i -gt 50 ] && { echo "test server did not start" >&2; cat "$tmp/server.err" >&2; exit 1; }
	sleep 0.1
done
# The test server's user is hello/world; a real setup keeps the secret in a
# private file or profile (see ami.conf(5)), never on the command line.
export AMI_HOST=127.0.0.1 AMI_PORT="$port" AMI_USER=hello AMI_SECRET=world
unset AMI_CONFIG AMI_PROFILE
run() { printf '\n$ %s\n' "$*"; "$@"; }
run ./ami ping -c 3 -i 0.2 || exit $?
run ./ami action CoreShowChannels || exit $?
run ./ami command 'core show version' || exit $?
run ./ami action CoreStatus --json || exit $?
