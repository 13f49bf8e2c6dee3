#!/bin/sh
# Packs a build for the device host (a GPU machine that cannot install
# packages): synmesh and test-gpu, every shared library they load but
# glibc's own, and libvulkan1's package, into _device/ (ignored by git;
# name it in the device run's `carry`).  build-aux/device-run.sh runs
# there.  Debian 12's binaries run on that host with their libraries
# beside them.
# Usage: build-aux/device-pack.sh [BUILD_DIR]
set -eu

build=${1:-_build}
pack=_device

rm -rf "$pack"
mkdir -p "$pack/bin" "$pack/lib" "$pack/debs"
cp "$build/cli/synmesh" "$build/tests/test-gpu" "$pack/bin/"
for binary in "$pack"/bin/*; do
  ldd "$binary"
done | awk '/=> \// { print $3 }' | sort -u \
  | grep -v -E '/(libc|libm|libpthread|libdl|librt|libresolv)\.so|/ld-linux' \
  | while read -r library; do cp -L "$library" "$pack/lib/"; done
(cd "$pack/debs" && apt-get download libvulkan1 >/dev/null 2>&1)
du -sh "$pack"
