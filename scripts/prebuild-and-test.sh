#!/bin/sh
# One release target, run by .github/workflows/release.yml on the target machine or inside a Docker
# image: build this platform's prebuild, then run the whole test suite against it. Nothing is compiled
# into build/ (the package has no install script), so only the prebuild can load (PREBUILDS_ONLY=1 makes
# sure). In node:20-bullseye the host already is at the glibc floor, so prebuildify builds directly.
set -eu
cd "$(dirname "$0")/.."
if [ -f /etc/alpine-release ]; then
  apk add --no-cache python3 make g++ # node:*-alpine ships no compiler
fi
npm ci
npm run build:ts
npm run prebuildify
PREBUILDS_ONLY=1 npx jest
