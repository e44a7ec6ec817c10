#!/bin/sh
# run-tests.sh UNIT_TEST... - runs the C unit tests and every bats suite,
# then prints one summary line "N passed, N failed" (bats itself prints TAP).
# BATS_JOBS=N runs N test files at a time (each file's tests in order);
# BATS_FILES="tests/a.bats ..." runs those suites instead of all.
cd "$(dirname "$0")/.." || exit 1
passed=0 failed=0
for t in "$@"; do
	out=$("./$t" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -v '^ok ' | tail -n 5
	p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' | tail -n 1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' | tail -n 1)
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
	[ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ] && failed=$((failed + 1)) && echo "not ok $t exited $rc"
done
tap=$(mktemp)
bats --tap ${BATS_FILTER:+--filter "$BATS_FILTER"} \
	${BATS_JOBS:+--jobs "$BATS_JOBS" --no-parallelize-within-files} ${BATS_FILES:-tests/*.bats} | tee "$tap"
bp=$(grep -c '^ok ' "$tap"); bf=$(grep -c '^not ok ' "$tap")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -n 1)
# A suite that died before running all its tests counts the missing ones as failed.
missing=$(( ${planned:-0} - bp - bf )); [ $missing -gt 0 ] && bf=$((bf + missing))
rm -f "$tap"
passed=$((passed + bp)); failed=$((failed + bf))
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
