#!/usr/bin/env bash
# Builds everything (bootstrapping a fresh machine first) and serves the demo app in
# examples/hello with `gyre up` on http://127.0.0.1:3000 until Ctrl-C.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$GYRE_ROOT/tools/build.sh" "$GYRE_ROOT/build"
"$GYRE_ROOT/build/src/cli/gyre" --version
say "serving examples/hello: open the URL below (/ is a JavaScript component, /static a static route)"
exec "$GYRE_ROOT/build/src/cli/gyre" up -f "$GYRE_ROOT/examples/hello" "$@"
