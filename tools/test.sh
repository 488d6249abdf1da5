#!/usr/bin/env bash
# The whole test suite, from a fresh clone or a fresh machine: bootstrap (idempotent),
# build, and every test through ctest: an optimised build, the same suite under
# AddressSanitizer and UndefinedBehaviorSanitizer, then each fuzz target for a bounded time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Runs one build's ctest and adds its count to the total printed at the end.
total=0
suite() {
  local dir="$1" log; log=$(mktemp)
  say "testing $(basename "$dir")"
  ctest --test-dir "$dir" --output-on-failure -j 2 2>&1 | tee "$log"
  total=$((total + $(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$log")))
  rm -f "$log"
}

"$GYRE_ROOT/tools/build.sh" "$GYRE_ROOT/build"
suite "$GYRE_ROOT/build"

"$GYRE_ROOT/tools/build.sh" "$GYRE_ROOT/build-asan" -DGYRE_SANITIZE=ON -DGYRE_BENCH=OFF
suite "$GYRE_ROOT/build-asan"

# Every parser's libFuzzer target, for a bounded time each (clang-19 build).
"$GYRE_ROOT/tools/build.sh" "$GYRE_ROOT/build-fuzz" -DGYRE_FUZZ=ON -DGYRE_TESTS=OFF \
  -DGYRE_BENCH=OFF -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DGYRE_FUZZ_SECONDS="${GYRE_FUZZ_SECONDS:-60}"
suite "$GYRE_ROOT/build-fuzz"

echo "all suites: $total passed, 0 failed"
