#!/bin/sh
# Fails when a C file marks strings for translation (_("…") or N_("…"))
# but po/POTFILES.in does not list it: its strings would silently never
# reach translators.  Usage: check-potfiles.sh SOURCE_ROOT
set -eu
cd "$1"
missing=0
for file in $(grep -rlE '\bN?_\("' --include='*.c' app cli engine); do
  if ! grep -qxF "$file" po/POTFILES.in; then
    echo "$file marks strings for translation but is not in po/POTFILES.in"
    missing=1
  fi
done
exit $missing
