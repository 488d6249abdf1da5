#!/usr/bin/env bash
# Builds everything (bootstrapping a fresh machine first) and shows the result.
# Until `gyre up` exists this prints `gyre --version` and `gyre --help`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$GYRE_ROOT/tools/build.sh" "$GYRE_ROOT/build"
"$GYRE_ROOT/build/src/cli/gyre" --version
"$GYRE_ROOT/build/src/cli/gyre" --help
say "built: $GYRE_ROOT/build/src/cli/gyre"
