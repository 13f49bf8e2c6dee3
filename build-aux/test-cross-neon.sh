#!/bin/sh
# Cross-builds the kernel checks (tests/kernel-checks.c, run by
# tests/simd-cross/check-kernels.c) with the generic and NEON kernels for
# AArch64 and runs them under qemu-user, so that the NEON code is tested
# for real on an x86-64 machine.  Prints TAP; without the cross tools it
# reports the whole test as skipped.  The source lists come from meson
# (tests/meson.build), so a new kernel file needs no change here.
# Usage: test-cross-neon.sh OUTPUT INCLUDE_DIR --generic FILE… --vector FILE…
set -eu

out=$1
include=$2
shift 2
cc=aarch64-linux-gnu-gcc
qemu=qemu-aarch64

for tool in "$cc" "$qemu"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "1..0 # SKIP $tool is not installed (build-aux/install-deps.sh installs it on Debian)"
    exit 0
  fi
done

generic=""
vector=""
list=""
for arg in "$@"; do
  case $arg in
    --generic) list=generic ;;
    --vector) list=vector ;;
    *) if [ "$list" = generic ]; then generic="$generic $arg"; else vector="$vector $arg"; fi ;;
  esac
done

# The same flags as the native build: the generic kernels scalar, the rest
# as they are; static, so that qemu needs no AArch64 libraries.
# shellcheck disable=SC2086 # the lists are meant to split into files
"$cc" -std=gnu11 -O2 -Wall -Wextra -Werror -static -I"$include" -o "$out" \
  $vector -fno-tree-vectorize $generic -lm

exec "$qemu" "$out"
