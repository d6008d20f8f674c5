#!/usr/bin/env bash
# Runs the test suite on the release build `make test` has just made, keeps the whole output
# in .build/test-output.txt, and when a test fails repeats at the end which tests failed and
# their first error lines: a CI log often shows only its last lines, and those would
# otherwise name no test.
set -uo pipefail
cd "$(dirname "$0")/.."

SWIFT="${SWIFT:-swift}"
LOG=.build/test-output.txt
mkdir -p .build

"$SWIFT" test -c release --skip-build --disable-swift-testing "$@" 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}

if [ "$status" -ne 0 ]; then
  echo
  failed=$(grep -E "^Test Case '.*' failed \(" "$LOG" | sed -E "s/^Test Case '(.*)' failed \((.*)\)$/\1 (\2)/")
  if [ -n "$failed" ]; then
    echo "== the first errors (at most 10, each cut at 300 characters):"
    grep -E ": error: " "$LOG" | head -10 | cut -c1-300 | sed 's/^/   /'
    echo "== failed tests:"
    echo "$failed" | sed 's/^/   /'
  else
    echo "== no test reported a failure: the test process ended early (a crash or a signal); its last lines:"
    tail -5 "$LOG" | sed 's/^/   /'
  fi
  echo "== make test failed (exit $status); the whole output is in $LOG"
fi
exit "$status"
