#!/usr/bin/env bash
# Linux glibc prebuilds that load on glibc 2.31 and GCC 10's libstdc++ (Debian 11, Ubuntu 20.04):
# they are compiled inside a Debian 11 (bullseye) root made with debootstrap, with bullseye's own g++ 10
# for x64 and its aarch64 cross compiler for arm64 (on an arm64 machine, its own g++ for arm64). Both link against bullseye's glibc 2.31 and
# libstdc++ (GLIBCXX_3.4.28), which is what keeps the floor: a glibc-only sysroot would still take
# GLIBCXX symbols from the host's newer libstdc++.
#
#   scripts/bullseye.sh root             make the root if it is missing; print its path
#   scripts/bullseye.sh prebuild ARCH    build prebuilds/linux-ARCH/worker-waker.glibc.node (x64, arm64)
#   scripts/bullseye.sh testbuild ARCH FILE   build the test addon (worker_waker_test.node) for ARCH into FILE
#
# The root is cached in $WORKER_WAKER_CACHE (default .dev/, git-ignored) and made once (about a minute
# and 1.4 GB); it needs root (chroot) and Debian's package servers. The same root holds the arm64 glibc
# and libstdc++ that qemu-user runs the arm64 Node with (scripts/platforms.js).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
cache="${WORKER_WAKER_CACHE:-$repo/.dev}"
root="$cache/bullseye"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The Node that runs node-gyp inside the root: the official build (needs glibc 2.28), whose include/
# holds the headers node-gyp compiles against, so nothing is downloaded at build time.
node_version=20.20.2
case "$(uname -m)" in
  x86_64) host=x64; packages=g++,make,python3,g++-aarch64-linux-gnu ;; # arm64 is cross-compiled
  aarch64) host=arm64; packages=g++,make,python3 ;;                     # an arm64 runner: arm64 only
  *) echo "bullseye.sh: runs on x86_64 or aarch64 Linux, not $(uname -m)" >&2; exit 2 ;;
esac

need_tool() { # need_tool COMMAND DEBIAN-PACKAGE: a fresh machine gets it from apt
  command -v "$1" > /dev/null && return
  echo "bullseye.sh: installing $2 with apt-get" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >&2
}

make_root() {
  [ -f "$root/.complete" ] && return
  [ "$(id -u)" = 0 ] || { echo "bullseye.sh: making the Debian 11 root needs root (debootstrap, chroot)" >&2; exit 1; }
  need_tool debootstrap debootstrap
  mkdir -p "$cache"
  local tmp="$root.partial.$$"
  rm -rf "$tmp"
  echo "bullseye.sh: making the Debian 11 root in $root (about a minute)" >&2
  debootstrap --variant=minbase --include="$packages" bullseye "$tmp" "$mirror" >&2
  local pack
  pack="$(cd "$tmp/opt" && npm pack --silent "node-linux-$host@$node_version")"
  mkdir -p "$tmp/opt/node"
  tar -xzf "$tmp/opt/$pack" -C "$tmp/opt/node" --strip-components=1
  rm "$tmp/opt/$pack"
  touch "$tmp/.complete"
  rm -rf "$root"
  mv "$tmp" "$root"
}

prebuild() { # prebuild ARCH [DEST]: with DEST, the test build (worker_waker_test.node) goes there
  local arch="$1" dest="${2:-}" env=()
  case "$host:$arch" in
    x64:x64 | arm64:arm64) ;;
    x64:arm64) env=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++
                    PREBUILD_STRIP_BIN=aarch64-linux-gnu-strip) ;;
    *) echo "bullseye.sh: cannot build $arch on $host (x64 builds x64 and arm64; arm64 builds arm64)" >&2; exit 2 ;;
  esac
  make_root
  # A copy of the build inputs (node_modules hard-linked when it can be): nothing is mounted, so an
  # interrupted build leaves nothing behind but this folder.
  local work="$root/work"
  rm -rf "$work"
  mkdir -p "$work/scripts"
  cp -r binding.gyp package.json native "$work/"
  cp scripts/prebuildify.js scripts/check-prebuilds.js "$work/scripts/"
  modules="$(readlink -f node_modules)"
  cp -al "$modules" "$work/node_modules" 2> /dev/null || cp -a "$modules" "$work/node_modules"
  if [ -n "$dest" ]; then
    # The test build of the addon (binding.gyp's worker_waker_test target: the release code plus
    # diagnostics), for running this package's own tests on ARCH.
    chroot "$root" /usr/bin/env -i PATH=/opt/node/bin:/usr/bin:/bin HOME=/tmp \
      npm_config_nodedir=/opt/node "${env[@]}" \
      sh -c "cd /work && node node_modules/node-gyp/bin/node-gyp.js rebuild --arch=$arch -- -Dworker_waker_test=1" >&2
    mkdir -p "$(dirname "$dest")"
    cp "$work/build/Release/worker_waker_test.node" "$dest"
  else
    chroot "$root" /usr/bin/env -i PATH=/opt/node/bin:/usr/bin:/bin HOME=/tmp \
      npm_config_nodedir=/opt/node PREBUILD_ARCH="$arch" "${env[@]}" \
      sh -c 'cd /work && node scripts/prebuildify.js' >&2
    mkdir -p "prebuilds/linux-$arch"
    cp "$work/prebuilds/linux-$arch/"*.glibc.node "prebuilds/linux-$arch/"
  fi
  rm -rf "$work"
}

case "${1:-}" in
  root) make_root; echo "$root" ;;
  prebuild) prebuild "${2:?arch}" ;;
  testbuild) prebuild "${2:?arch}" "${3:?destination file}" ;;
  *) echo "usage: scripts/bullseye.sh root | prebuild x64|arm64 | testbuild x64|arm64 FILE" >&2; exit 2 ;;
esac
