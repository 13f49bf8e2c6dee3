#!/bin/sh
# The test suite on the platform the app ships on: Debian 13 (GTK 4.18,
# libadwaita 1.7, GCC 14 — the generation of the Flatpak's GNOME 50
# runtime), in a chroot made with debootstrap.  The committed tree is copied
# into it and `make test` runs there as here, warnings as errors.
# Needs root (debootstrap, mounts, chroot) and Debian's package mirror.
# Usage: build-aux/test-debian13.sh [CHROOT_DIR]   (default: _chroot-trixie)
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-$src/_chroot-trixie}

if [ "$(id -u)" -ne 0 ]; then
  echo "test-debian13: needs root (debootstrap, mount, chroot)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi

# A chroot left by an earlier run is reused: debootstrap takes minutes.
if [ ! -x "$root/usr/bin/make" ]; then
  debootstrap --variant=minbase --include=git,build-essential,ca-certificates trixie "$root"
fi

# The kernel's file systems for the tests (Xvfb, a session bus, /dev/shm),
# always unmounted again: the chroot must never be removed with them in it.
mounted=""
cleanup () {
  for dir in $mounted; do
    umount -l "$root/$dir" || true
  done
}
trap cleanup EXIT INT TERM
for dir in proc sys dev dev/pts; do
  if ! mountpoint -q "$root/$dir"; then
    mount --bind "/$dir" "$root/$dir"
    mounted="$dir $mounted"
  fi
done
cp /etc/resolv.conf "$root/etc/resolv.conf"

# The committed tree (a shallow checkout works too); outside a git
# checkout, the files as they are, without build folders.
rm -rf "$root/root/synmesh"
mkdir -p "$root/root/synmesh"
if git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1; then
  git -C "$src" archive --format=tar HEAD | tar -x -C "$root/root/synmesh"
else
  tar -C "$src" --exclude=./.git --exclude='./_build*' --exclude='./_chroot*' --exclude=./_flatpak \
      --exclude=./.flatpak-builder -cf - . | tar -x -C "$root/root/synmesh"
fi
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin CI=true \
  /bin/sh -c 'cd /root/synmesh && make test'
