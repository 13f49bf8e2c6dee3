#!/bin/sh
# Takes the app's screenshots into data/screenshots/: the Dashboard under
# load in the light and dark styles, Recommendations, and Mesh, each from a
# real run under Xvfb (1280×860 screen, the window at its default size).
# Usage: build-aux/take-screenshots.sh [BUILD_DIR]   (needs xvfb-run, import)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$src/_build"}
out="$src/data/screenshots"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/config/glib-2.0/settings" "$work/data"

shoot () {   # page style seconds file
  cat > "$work/config/glib-2.0/settings/keyfile" <<KEYS
[io/github/synmesh/SynapticMesh]
last-page='$1'
color-scheme='$2'
mesh-bind='tcp://127.0.0.1:*'
KEYS
  cat > "$work/run.sh" <<RUN
export SYNMESH_DATA_DIR="$work/data" XDG_CONFIG_HOME="$work/config" GSETTINGS_BACKEND=keyfile
export GSETTINGS_SCHEMA_DIR="$build/data" GDK_DEBUG=gl-disable GSK_RENDERER=cairo NO_AT_BRIDGE=1
"$build/app/synaptic-mesh" --load 3000 & app=\$!
sleep $3
import -window root -crop 1200x780+0+0 "$out/$4"
kill \$app
RUN
  xvfb-run -a -s "-screen 0 1280x860x24" dbus-run-session -- sh "$work/run.sh" > /dev/null 2>&1
  echo "wrote $out/$4"
}

shoot dashboard light 15 dashboard.png
shoot dashboard dark 15 dashboard-dark.png
shoot recommendations light 25 recommendations.png
shoot mesh light 6 mesh.png
