#!/usr/bin/env bash
# Runs the Go tests verbosely into a log and prints what a reader needs: one
# line per package, every skipped or failed test by name, how many tests ran
# on PostgreSQL, and a closing "N passed, N failed, N skipped" line. On a
# failure it also prints the log without the noise of passing tests.
set -uo pipefail
mkdir -p var
log=var/test.log
go test -race -count=1 -v -timeout 25m "$@" ./... >"$log" 2>&1
rc=$?
grep -E '^(ok|FAIL|\?) ' "$log"
skipped=$(grep -cE -- '--- SKIP' "$log")
failed=$(grep -cE -- '--- FAIL' "$log")
passed=$(grep -cE -- '--- PASS' "$log")
pg=$(grep -E -- '--- PASS' "$log" | grep -c '/postgres')
if [ "$skipped" -gt 0 ]; then
  echo "skipped:"; grep -E -- '--- SKIP' "$log" | sed 's/^ */  /'
fi
echo "PostgreSQL: $pg test(s) passed on the real server"
if [ "$rc" -ne 0 ]; then
  echo; echo "failures (full log in $log):"
  grep -vE '^\s*(=== (RUN|PAUSE|CONT|NAME)|--- PASS|PASS$)' "$log" | tail -n 300
  [ "$failed" -eq 0 ] && failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $rc
