#!/usr/bin/env bash
# Native stress test of the core, without Node: builds test/native/stress.cc (the core) and
# test/native/wait_queue_stress.cc (the wait queue: blocked and async waiters) with
# native/waker_core.cc and native/wait_queue.cc (test hooks on) under ThreadSanitizer and under
# AddressSanitizer + UBSan, runs each, and fails on the first broken invariant or sanitizer
# report. The wait-queue driver runs twice under ThreadSanitizer: with the OS address wait
# (futex) and with the condition-variable fallback forced (-DWORKER_WAKER_FORCE_CONDVAR). First
# it compiles the production core (no hooks) as strict C++17 with warnings as errors, both ways.
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
for src in native/waker_core.cc native/wait_queue.cc; do
  "$cxx" -std=c++17 -O2 -Wall -Wextra -Wpedantic -Werror -c "$src" -o "$out/$(basename "$src" .cc).o"
done
"$cxx" -std=c++17 -O2 -Wall -Wextra -Wpedantic -Werror -DWORKER_WAKER_FORCE_CONDVAR -c native/wait_queue.cc -o "$out/wait_queue_condvar.o"

core=(native/waker_core.cc native/wait_queue.cc)
sources=("${core[@]}" test/native/stress.cc)
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -pthread
       -DWORKER_WAKER_TEST_HOOKS -Itest/native -fno-sanitize-recover=all)

echo "== building the stress driver (tsan; asan+ubsan)"
"$cxx" "${flags[@]}" -fsanitize=thread "${sources[@]}" -o "$out/stress-tsan" &
tsan_build=$!
"$cxx" "${flags[@]}" -fsanitize=address,undefined "${sources[@]}" -o "$out/stress-asan" &
asan_build=$!
wait "$tsan_build"
wait "$asan_build"

# The wait queue, blocked and async waiters together, against the same core.
queue_sources=("${core[@]}" test/native/wait_queue_stress.cc)
"$cxx" "${flags[@]}" -Inative -fsanitize=thread "${queue_sources[@]}" -o "$out/queue-tsan" &
tsan_build=$!
"$cxx" "${flags[@]}" -Inative -fsanitize=address,undefined "${queue_sources[@]}" -o "$out/queue-asan" &
asan_build=$!
wait "$tsan_build"
wait "$asan_build"
"$cxx" "${flags[@]}" -Inative -DWORKER_WAKER_FORCE_CONDVAR -fsanitize=thread "${queue_sources[@]}" -o "$out/queue-condvar-tsan"

# Any sanitizer report ends the run with a non-zero status (halt_on_error).
echo "== ThreadSanitizer"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" "$out/stress-tsan" "$@"
echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS="halt_on_error=1 detect_leaks=1 detect_stack_use_after_return=1 ${ASAN_OPTIONS:-}" \
UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}" \
  "$out/stress-asan" "$@"
echo "== wait queue under ThreadSanitizer"
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" "$out/queue-tsan" "$@"
echo "== wait queue under AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS="halt_on_error=1 detect_leaks=1 ${ASAN_OPTIONS:-}" UBSAN_OPTIONS="halt_on_error=1 ${UBSAN_OPTIONS:-}" \
  "$out/queue-asan" "$@"
echo "== wait queue with the condition-variable fallback, under ThreadSanitizer"
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" "$out/queue-condvar-tsan" "$@"
# Unit checks of the adaptive spin, the permit cap and the last try after a timeout
# (test/native/core_unit.cc).
"$cxx" "${flags[@]}" -Inative -fsanitize=address,undefined native/waker_core.cc native/wait_queue.cc test/native/core_unit.cc -o "$out/core-unit"
echo "== core unit checks under AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS="halt_on_error=1 detect_leaks=1 ${ASAN_OPTIONS:-}" UBSAN_OPTIONS="halt_on_error=1 ${UBSAN_OPTIONS:-}" "$out/core-unit"
echo "== native stress: all passed"
