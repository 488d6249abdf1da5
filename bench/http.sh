#!/usr/bin/env bash
# Requests per second and p99 latency of `gyre up` serving the demo app (a Spin JS SDK
# component, and a static route) and a wasi:http handler written in C (bench/apps/c-hello),
# beside the native server on the same stack, in one run:
#
#   bench/http.sh [build-dir] [seconds] [connections]
#
# Loopback only. Prints one line per target and the ratio to the native baseline.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"; seconds="${2:-10}"; connections="${3:-32}"
command -v wrk >/dev/null || { echo "wrk is not installed (tools/bootstrap.sh installs it)"; exit 1; }
c_component="$build/fixtures/c-http.wasm"
[ -f "$c_component" ] || { echo "$c_component is missing: build the fixtures target"; exit 1; }

# The C app runs from a temporary copy, its component linked in from the build measured.
c_app=$(mktemp -d)
cp "$root/bench/apps/c-hello/spin.toml" "$c_app/"
ln -s "$c_component" "$c_app/c-http.wasm"

"$build/bench/native_server" 127.0.0.1:3101 >/dev/null &
native=$!
"$build/src/cli/gyre" up -f "$root/examples/hello" --listen 127.0.0.1:3102 --quiet >/dev/null &
gyre=$!
"$build/src/cli/gyre" up -f "$c_app" --listen 127.0.0.1:3103 --quiet >/dev/null &
gyre_c=$!
trap 'kill $native $gyre $gyre_c 2>/dev/null; wait 2>/dev/null; rm -rf "$c_app"' EXIT
for url in http://127.0.0.1:3101/static http://127.0.0.1:3102/static http://127.0.0.1:3103/; do
  for _ in $(seq 100); do curl -s -o /dev/null "$url" && break; sleep 0.1; done
done
# A server that could not listen (a port in use) would leave another process measured.
for pid in $native $gyre $gyre_c; do
  kill -0 "$pid" 2>/dev/null || { echo "a server did not start (ports 3101-3103 in use?)"; exit 1; }
done

run() {  # name url -> "name rps p99"
  local out; out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$2")
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$1 $rps $p99"
}
baseline=$(run native http://127.0.0.1:3101/)
static=$(run gyre-static http://127.0.0.1:3102/static)
js=$(run gyre-js http://127.0.0.1:3102/)
c=$(run gyre-c http://127.0.0.1:3103/)
base_rps=$(awk '{print $2}' <<<"$baseline")
printf '%-12s %12s %10s %8s\n' target req/s p99 ratio
for line in "$baseline" "$static" "$js" "$c"; do
  read -r name rps p99 <<<"$line"
  printf '%-12s %12s %10s %8.3f\n' "$name" "$rps" "$p99" "$(awk -v a="$rps" -v b="$base_rps" 'BEGIN {print a / b}')"
done
