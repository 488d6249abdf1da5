#!/usr/bin/env bash
# The whole test suite, from a fresh clone or a fresh machine: bootstrap (idempotent),
# build, and every test through ctest, twice: an optimised build, then the same suite
# under AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$GYRE_ROOT/tools/build.sh" "$GYRE_ROOT/build"
say "testing build"
ctest --test-dir "$GYRE_ROOT/build" --output-on-failure -j 2

"$GYRE_ROOT/tools/build.sh" "$GYRE_ROOT/build-asan" -DGYRE_SANITIZE=ON -DGYRE_BENCH=OFF
say "testing build-asan (AddressSanitizer + UndefinedBehaviorSanitizer)"
ctest --test-dir "$GYRE_ROOT/build-asan" --output-on-failure -j 2
