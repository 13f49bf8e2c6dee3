#!/bin/bash
# Installs what Synaptic Mesh needs to build, test and run, and nothing that
# is already there.  Debian and Ubuntu use apt (through sudo when not root);
# elsewhere the script lists the Debian package names and stops, so that a
# person can map them to their distribution.
set -eu

# Debian package names, grouped by what needs them; '#' starts a comment.
PACKAGES=$(sed -e 's/#.*//' <<'LIST'
# building
build-essential meson ninja-build pkg-config gettext
# engine and CLI
libglib2.0-dev libglib2.0-dev-bin libjson-glib-dev libxxhash-dev libsqlite3-dev sqlite3
# the mesh node: ZeroMQ with CURVE (libsodium)
libzmq3-dev
libczmq-dev
libcairo2-dev
# the Vulkan compute backend: headers, the shader compiler, and Mesa's
# lavapipe (a CPU Vulkan driver) for its tests on machines without a GPU
libvulkan-dev glslc mesa-vulkan-drivers
# glib-compile-resources strips blanks from .ui files with xmllint
libxml2-utils
# the application
libgtk-4-dev libadwaita-1-dev librsvg2-common
# tests: data-file validators, a headless display and a session bus
desktop-file-utils appstream xvfb xauth dbus-daemon
# tests: the NEON kernels, cross-built for AArch64 and run under qemu-user
gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
# benchmarks: the OpenBLAS baseline (loaded at run time, never linked)
libopenblas-dev
# packaging checks: the Flatpak manifest parsed by flatpak-builder and
# checked against the manifest schema
flatpak-builder python3-jsonschema
LIST
)

missing=""
for pkg in $PACKAGES; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  case "$status" in
    ii*) ;;
    *) missing="$missing $pkg" ;;
  esac
done 2>/dev/null

if [ -z "$missing" ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps: this is not a Debian or Ubuntu system." >&2
  echo "install-deps: install the equivalents of these Debian packages, then run make again:" >&2
  for pkg in $PACKAGES; do echo "  $pkg" >&2; done
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "install-deps: not root and no sudo; as root, run:" >&2
  echo "  apt-get install$missing" >&2
  exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086 # the list is meant to split into words
$sudo apt-get install -y -qq --no-install-recommends $missing
