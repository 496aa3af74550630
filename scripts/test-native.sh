#!/usr/bin/env bash
# Native stress test of the core, without Node: builds test/native/stress.cc with
# native/waker_core.cc and native/parking_lot.cc (test hooks on) under ThreadSanitizer and
# under AddressSanitizer + UBSan, runs each, and fails on the first broken invariant or
# sanitizer report. First it compiles the production core (no hooks) as strict C++17 with
# warnings as errors.
#
#   scripts/test-native.sh [--seconds S] [--seed N] [--only NAME]   (passed to the driver;
#   S is each run's time budget, default 3)
#
# Binaries go to a temporary folder (never build/, which node-gyp owns). CXX picks the compiler.
set -euo pipefail
cd "$(dirname "$0")/.."

cxx="${CXX:-g++}"
out="$(mktemp -d "${TMPDIR:-/tmp}/worker-waker-native.XXXXXX")"
trap 'rm -rf "$out"' EXIT

echo "== production core: -std=c++17 -Wall -Wextra -Werror, no test hooks"
for src in native/waker_core.cc native/parking_lot.cc; do
  "$cxx" -std=c++17 -O2 -Wall -Wextra -Wpedantic -Werror -c "$src" -o "$out/$(basename "$src" .cc).o"
done

sources=(native/waker_core.cc native/parking_lot.cc test/native/stress.cc)
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -pthread
       -DWORKER_WAKER_TEST_HOOKS -Itest/native -fno-sanitize-recover=all)

echo "== building the stress driver (tsan; asan+ubsan)"
"$cxx" "${flags[@]}" -fsanitize=thread "${sources[@]}" -o "$out/stress-tsan" &
tsan_build=$!
"$cxx" "${flags[@]}" -fsanitize=address,undefined "${sources[@]}" -o "$out/stress-asan" &
asan_build=$!
wait "$tsan_build"
wait "$asan_build"

# The acquireAsync waiter thread (native/async_waiter.*) against the same core.
async_sources=(native/waker_core.cc native/parking_lot.cc native/async_waiter.cc test/native/async_stress.cc)
"$cxx" "${flags[@]}" -Inative -fsanitize=thread "${async_sources[@]}" -o "$out/async-tsan" &
tsan_build=$!
"$cxx" "${flags[@]}" -Inative -fsanitize=address,undefined "${async_sources[@]}" -o "$out/async-asan" &
asan_build=$!
wait "$tsan_build"
wait "$asan_build"

# Any sanitizer report ends the run with a non-zero status (halt_on_error).
echo "== ThreadSanitizer"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" "$out/stress-tsan" "$@"
echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS="halt_on_error=1 detect_leaks=1 detect_stack_use_after_return=1 ${ASAN_OPTIONS:-}" \
UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}" \
  "$out/stress-asan" "$@"
echo "== acquireAsync waiter under ThreadSanitizer"
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" "$out/async-tsan" "$@"
echo "== acquireAsync waiter under AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS="halt_on_error=1 detect_leaks=1 ${ASAN_OPTIONS:-}" UBSAN_OPTIONS="halt_on_error=1 ${UBSAN_OPTIONS:-}" \
  "$out/async-asan" "$@"
# Unit checks of the adaptive spin, the permit cap and the last try after a timeout
# (test/native/core_unit.cc).
"$cxx" "${flags[@]}" -Inative -fsanitize=address,undefined native/waker_core.cc native/parking_lot.cc native/async_waiter.cc test/native/core_unit.cc -o "$out/core-unit"
echo "== core unit checks under AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS="halt_on_error=1 detect_leaks=1 ${ASAN_OPTIONS:-}" UBSAN_OPTIONS="halt_on_error=1 ${UBSAN_OPTIONS:-}" "$out/core-unit"
echo "== native stress: all passed"
