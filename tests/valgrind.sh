#!/bin/sh
# valgrind.sh BINARY LOGDIR [ARGS...] - runs BINARY under valgrind memcheck,
# one log file per process in LOGDIR (LOGDIR/PID.log).
#
# `make valgrind` runs the bats suites with AMI_VALGRIND=1; setup_common
# (helper.bash) then puts a small `ami` script first in PATH that calls this
# one, and stop_fake_ami (every teardown) fails the test when a log holds
# anything: an error, or a definite or indirect leak. The exit status 99
# also tells the test at once that valgrind found something.
#
# Valgrind's own output goes only to the log, so stdout and stderr of the
# program are what the tests compare. Children forked without exec (the
# fan-out's, one per profile) stay under valgrind, each with its own log;
# programs it execs are not followed.
if [ $# -lt 2 ]; then
	echo "usage: $0 BINARY LOGDIR [ARGS...]" >&2
	exit 2
fi
bin=$1 logdir=$2
shift 2
mkdir -p "$logdir" || exit 8
exec valgrind --quiet --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
	--log-file="$logdir/%p.log" "$bin" "$@"
