#!/usr/bin/env bash
# The whole test suite, from a fresh clone or a fresh machine: bootstrap (idempotent),
# build, and every test through ctest: an optimised build, the same suite under
# AddressSanitizer and UndefinedBehaviorSanitizer, then each fuzz target for a bounded time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$GYRE_ROOT/tools/build.sh" "$GYRE_ROOT/build"
say "testing build"
ctest --test-dir "$GYRE_ROOT/build" --output-on-failure -j 2

"$GYRE_ROOT/tools/build.sh" "$GYRE_ROOT/build-asan" -DGYRE_SANITIZE=ON -DGYRE_BENCH=OFF
say "testing build-asan (AddressSanitizer + UndefinedBehaviorSanitizer)"
ctest --test-dir "$GYRE_ROOT/build-asan" --output-on-failure -j 2

# Every parser's libFuzzer target, for a bounded time each (clang-19 build).
"$GYRE_ROOT/tools/build.sh" "$GYRE_ROOT/build-fuzz" -DGYRE_FUZZ=ON -DGYRE_TESTS=OFF \
  -DGYRE_BENCH=OFF -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DGYRE_FUZZ_SECONDS="${GYRE_FUZZ_SECONDS:-60}"
say "fuzzing (build-fuzz)"
ctest --test-dir "$GYRE_ROOT/build-fuzz" --output-on-failure
