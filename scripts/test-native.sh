#!/usr/bin/env bash
# The native tests of the core, without Node. First compiles the production core (native/core/*.cc,
# no test hooks) as strict C++17 with warnings as errors, with the OS address wait (futex) and with
# the condition-variable fallback forced (-DWORKER_WAKER_FORCE_CONDVAR). Then builds each run that
# test/native/runs.txt lists (a driver, a sanitizer, extra flags) and runs them in order; any
# broken invariant or sanitizer report fails the script.
#
#   scripts/test-native.sh [--seconds S] [--seed N] [--only NAME]   (passed to the drivers that
#   take arguments; S is each run's time budget, default 3)
#
# Binaries go to a temporary folder (never build/, which node-gyp owns). CXX picks the compiler,
# JOBS how many builds run at once (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

cxx="${CXX:-g++}"
jobs="${JOBS:-2}"
out="$(mktemp -d "${TMPDIR:-/tmp}/worker-waker-native.XXXXXX")"
trap 'rm -rf "$out"' EXIT

core=(native/core/*.cc)
strict=(-std=c++17 -O2 -Wall -Wextra -Wpedantic -Werror -c)
echo "== production core: -std=c++17 -Wall -Wextra -Wpedantic -Werror, no test hooks"
for src in "${core[@]}"; do
  name="$(basename "$src" .cc)"
  "$cxx" "${strict[@]}" "$src" -o "$out/$name.o"
  "$cxx" "${strict[@]}" -DWORKER_WAKER_FORCE_CONDVAR "$src" -o "$out/$name-condvar.o"
done

flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -pthread
       -DWORKER_WAKER_TEST_HOOKS -Inative/core -fno-sanitize-recover=all)
declare -A sanitize=([thread]=thread [address]=address,undefined)

# The runs, from test/native/runs.txt: driver, sanitizer, flags, arguments.
runs=()
while read -r driver sanitizer extra arguments rest; do
  [[ -z "$driver" || "$driver" == \#* ]] && continue
  if [[ -z "${sanitize[$sanitizer]:-}" || -z "$arguments" || -n "$rest" || ! -f "test/native/$driver" ]]; then
    echo "test/native/runs.txt: bad line: $driver $sanitizer $extra $arguments $rest" >&2
    exit 2
  fi
  runs+=("$driver $sanitizer $extra $arguments")
done < test/native/runs.txt

echo "== building ${#runs[@]} runs (test hooks on)"
# At most $jobs builds at once; each is waited for exactly once, so a failed build fails the script.
builds=()
for i in "${!runs[@]}"; do
  read -r driver sanitizer extra _ <<< "${runs[$i]}"
  extra_flags=()
  [[ "$extra" != "-" ]] && extra_flags=("$extra")
  (( i >= jobs )) && wait "${builds[i - jobs]}"
  "$cxx" "${flags[@]}" "${extra_flags[@]}" -fsanitize="${sanitize[$sanitizer]}" \
    "${core[@]}" "test/native/$driver" -o "$out/run-$i" &
  builds+=($!)
done
for (( i = ${#runs[@]} > jobs ? ${#runs[@]} - jobs : 0; i < ${#runs[@]}; i++ )); do wait "${builds[i]}"; done

# Any sanitizer report ends the run with a non-zero status (halt_on_error).
for i in "${!runs[@]}"; do
  read -r driver sanitizer extra arguments <<< "${runs[$i]}"
  label="$driver under the $sanitizer sanitizer"
  [[ "$extra" != "-" ]] && label+=" ($extra)"
  echo "== $label"
  args=()
  [[ "$arguments" == "args" ]] && args=("$@")
  if [[ "$sanitizer" == thread ]]; then
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" "$out/run-$i" "${args[@]}"
  else
    ASAN_OPTIONS="halt_on_error=1 detect_leaks=1 detect_stack_use_after_return=1 ${ASAN_OPTIONS:-}" \
    UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}" "$out/run-$i" "${args[@]}"
  fi
done
echo "== native tests: all passed"
