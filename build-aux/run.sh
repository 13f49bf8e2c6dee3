#!/bin/sh
# `make run`: starts the application from the build tree, or, when there is
# no display to show it on, the headless session of the CLI.
set -eu

build_dir=$1

# The schema is compiled into the build tree; nothing needs installing.
export GSETTINGS_SCHEMA_DIR="$build_dir/data${GSETTINGS_SCHEMA_DIR:+:$GSETTINGS_SCHEMA_DIR}"

if [ -n "${WAYLAND_DISPLAY:-}" ] || [ -n "${DISPLAY:-}" ]; then
  if [ -x "$build_dir/app/synaptic-mesh" ]; then
    exec "$build_dir/app/synaptic-mesh"
  fi
  echo "make run: the application was not built (GTK 4 or libadwaita missing); starting the headless session instead." >&2
else
  echo "make run: no display (neither WAYLAND_DISPLAY nor DISPLAY is set); starting the headless session instead: synmesh run" >&2
fi

exec "$build_dir/cli/synmesh" run
