#!/bin/sh
# Runs the whole test suite of one build directory the way CI does: under a
# virtual X display and a private session bus (GTK warns without one, and
# warnings are fatal in tests), then prints the case count from meson's log.
# Usage: build-aux/run-tests.sh BUILD_DIR [meson test options…]
set -u

build_dir=$1
shift

xvfb-run -a -s "-screen 0 1280x1024x24" \
  dbus-run-session -- meson test -C "$build_dir" --print-errorlogs "$@"
meson_status=$?

python3 "$(dirname "$0")/test-summary.py" "$build_dir/meson-logs/testlog.json"
summary_status=$?

# Either verdict failing fails the run: meson's (a test it could not even
# start) or ours (a case that failed inside a passing program cannot happen
# with TAP, but a crash after the last case can).
[ "$meson_status" -eq 0 ] && [ "$summary_status" -eq 0 ]
