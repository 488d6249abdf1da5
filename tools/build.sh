#!/usr/bin/env bash
# Configures and builds Gyre into a build folder, after making sure the bootstrap ran.
#
#   tools/build.sh [build-dir] [extra cmake -D options...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_dir="${1:-$GYRE_ROOT/build}"; shift || true
"$GYRE_ROOT/tools/bootstrap.sh"

say "configuring $build_dir"
cmake -S "$GYRE_ROOT" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="${GYRE_BUILD_TYPE:-RelWithDebInfo}" \
  -DGYRE_ENGINE_DIR="$(engine_dir)" -DGYRE_CACHE="$GYRE_CACHE" "$@" >/dev/null
say "building $build_dir"
# Two cores: two jobs. More only thrashes the machine.
cmake --build "$build_dir" -j "${GYRE_JOBS:-2}"
