#!/bin/sh
# Runs the whole test suite of one build directory the way CI does: each
# test program on a virtual X display and a private session bus of its own
# (build-aux/with-display.sh: GTK warns without a bus, warnings are fatal
# in tests, and tests sharing a display disturb each other), then prints
# the case count from meson's log.
# Usage: build-aux/run-tests.sh BUILD_DIR [meson test options…]
set -u

build_dir=$1
shift

# Meson names the log after the wrapper too: testlog-with-display.sh.json.
meson test -C "$build_dir" --print-errorlogs \
  --wrapper "$(cd "$(dirname "$0")" && pwd)/with-display.sh" "$@"
meson_status=$?

python3 "$(dirname "$0")/test-summary.py" "$build_dir/meson-logs/testlog-with-display.sh.json"
summary_status=$?

# Either verdict failing fails the run: meson's (a test it could not even
# start) or ours (a case that failed inside a passing program cannot happen
# with TAP, but a crash after the last case can).
[ "$meson_status" -eq 0 ] && [ "$summary_status" -eq 0 ]
