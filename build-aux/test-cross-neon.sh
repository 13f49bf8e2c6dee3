#!/bin/sh
# Cross-builds the kernel checker (tests/simd-cross/) with the generic and
# NEON kernels for AArch64 and runs it under qemu-user, so that the NEON
# code is tested for real on an x86-64 machine.  Prints TAP; without the
# cross tools it reports the whole test as skipped.
# Usage: test-cross-neon.sh SOURCE_ROOT OUTPUT_DIR
set -eu

src=$1
out=$2/check-kernels-aarch64
cc=aarch64-linux-gnu-gcc
qemu=qemu-aarch64

for tool in "$cc" "$qemu"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "1..0 # SKIP $tool is not installed (build-aux/install-deps.sh installs it on Debian)"
    exit 0
  fi
done

simd="$src/engine/simd"
# The same flags as the native build: the generic kernels scalar, the rest
# as they are; static, so that qemu needs no AArch64 libraries.
"$cc" -std=gnu11 -O2 -Wall -Wextra -Werror -static -I"$simd" \
  -o "$out" \
  "$src/tests/simd-cross/check-kernels.c" \
  "$simd/sm-gemm-neon.c" "$simd/sm-vmath-neon.c" "$simd/sm-kernels-neon.c" \
  "$simd/sm-pack.c" "$simd/sm-kernels-generic.c" \
  -fno-tree-vectorize "$simd/sm-gemm-generic.c" "$simd/sm-vmath-generic.c" \
  -lm

exec "$qemu" "$out"
