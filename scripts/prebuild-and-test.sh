#!/bin/sh
# One release target, run by .github/workflows/release.yml on the target machine or inside a Docker
# image: build this platform's prebuild and the test build of the addon, then run the whole test suite.
# PREBUILDS_ONLY=1 makes the package load the prebuild wherever it runs as a user's (the package, docs,
# binding-shape, errors and surface suites); the other suites read diagnostics, so Jest runs them on the
# test build (test/support/global-setup.js), compiled here from the same sources.
# In node:20-bullseye the host already is at the glibc floor, so prebuildify builds directly.
set -eu
cd "$(dirname "$0")/.."
if [ -f /etc/alpine-release ]; then
  apk add --no-cache python3 make g++ # node:*-alpine ships no compiler
fi
npm ci
npm run build:ts
npm run prebuildify
npm run build:native
PREBUILDS_ONLY=1 npx jest
