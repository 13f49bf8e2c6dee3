#!/bin/sh
# Runs one test program on an X display and a session bus of its own.
# Tests run in parallel: on one shared display, text one test selects (an
# entry focused selects its text) becomes the display's PRIMARY selection,
# every other GTK test asks its owner for it, and GTK 4.8 leaks the
# requests still open when such a test closes its windows (LeakSanitizer
# failed test-mesh-page and test-dashboard on a fresh machine that way).
# Xvfb picks a free display number itself (-displayfd), so that parallel
# starts never race for one.
# Usage: build-aux/with-display.sh PROGRAM [ARGS…]   (meson test --wrapper)
set -u

dir=$(mktemp -d "${TMPDIR:-/tmp}/synmesh-display-XXXXXX")
Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp -noreset 3>"$dir/display" 2>"$dir/xvfb.log" &
xvfb=$!
# A test stopped for its timeout takes its display with it.
test=""
cleanup () {
  [ -n "$test" ] && kill "$test" 2>/dev/null
  kill "$xvfb" 2>/dev/null
  wait "$xvfb" 2>/dev/null
  rm -rf "$dir"
}
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 130' INT

tries=0
while [ ! -s "$dir/display" ]; do
  tries=$((tries + 1))
  if [ "$tries" -gt 200 ] || ! kill -0 "$xvfb" 2>/dev/null; then
    echo "with-display: Xvfb did not start:" >&2
    cat "$dir/xvfb.log" >&2
    cleanup
    exit 1
  fi
  sleep 0.05
done

DISPLAY=":$(cat "$dir/display")" dbus-run-session -- "$@" &
test=$!
wait "$test"
status=$?
cleanup
exit "$status"
