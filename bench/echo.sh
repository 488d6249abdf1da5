#!/usr/bin/env bash
# Streaming throughput: MEGABYTES of request body streamed through a server and back, by
# bench/echo_client on loopback, through the native server's echo (the ceiling of the HTTP stack), the
# C wasi:http component (fixtures/c/http, `/stream`) and the JS SDK echo component
# (fixtures/js/echo, `/stream`), in one run, each ROUNDS times back to back:
#
#   bench/echo.sh [build-dir] [megabytes] [rounds]
#
# Prints MB/s per target and round (upload and echo flow at once, so MB/s counts each byte
# once), the median, and its ratio to the native median. A row whose echo came back short
# is marked.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"; megabytes="${2:-1024}"; rounds="${3:-3}"
for f in c-http js-echo; do
  [ -f "$build/fixtures/$f.wasm" ] || { echo "$build/fixtures/$f.wasm is missing: build the fixtures target"; exit 1; }
done
apps=$(mktemp -d)
for f in c-http js-echo; do
  mkdir -p "$apps/$f"
  ln -s "$build/fixtures/$f.wasm" "$apps/$f/$f.wasm"
  printf 'spin_manifest_version = 2\n[application]\nname = "%s"\n[[trigger.http]]\nroute = "/..."\ncomponent = "c"\n[component.c]\nsource = "%s.wasm"\n' "$f" "$f" >"$apps/$f/spin.toml"
done
"$build/bench/native_server" 127.0.0.1:3111 >/dev/null &
native=$!
"$build/src/cli/gyre" up -f "$apps/c-http" --listen 127.0.0.1:3112 --quiet >/dev/null 2>&1 &
gyre_c=$!
"$build/src/cli/gyre" up -f "$apps/js-echo" --listen 127.0.0.1:3113 --quiet >/dev/null 2>&1 &
gyre_js=$!
trap 'kill $native $gyre_c $gyre_js 2>/dev/null; wait 2>/dev/null; rm -rf "$apps"' EXIT
for port in 3111 3112 3113; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done
for pid in $native $gyre_c $gyre_js; do
  kill -0 "$pid" 2>/dev/null || { echo "a server did not start (ports 3111-3113 in use?)"; exit 1; }
done

bytes=$((megabytes * 1024 * 1024))
run() {  # port -> MB/s, or "short" when the echo lost bytes
  local got seconds
  if ! read -r got seconds < <("$build/bench/echo_client" "$1" /stream "$megabytes"); then
    echo short; return
  fi
  if [ "${got:-0}" -lt "$bytes" ]; then echo "short($got)"; return; fi
  awk -v b="$bytes" -v s="$seconds" 'BEGIN {printf "%.1f", b / 1048576 / s}'
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A all
targets=("native 3111" "gyre-c 3112" "gyre-js 3113")
for round in $(seq "$rounds"); do
  for target in "${targets[@]}"; do
    read -r name port <<<"$target"
    mbs=$(run "$port")
    printf 'round %d: %-8s %10s MB/s (%d MB)\n' "$round" "$name" "$mbs" "$megabytes"
    all[$name]+="$mbs "
  done
done
native_median=$(tr ' ' '\n' <<<"${all[native]}" | grep -v '^$' | median)
echo
printf '%-8s %12s %8s\n' target "median MB/s" ratio
for target in "${targets[@]}"; do
  read -r name _ <<<"$target"
  m=$(tr ' ' '\n' <<<"${all[$name]}" | grep -v '^$' | grep -v short | median)
  printf '%-8s %12s %8s\n' "$name" "$m" "$(awk -v a="$m" -v b="$native_median" 'BEGIN {printf "%.3f", a / b}')"
done
