#!/usr/bin/env bash
# Requests per second and p99 latency of `gyre up` serving the demo app (a Spin JS SDK
# component, and a static route) and wasi:http handlers written in C (bench/apps/c-hello:
# 0.2, and WASIp3's at /p3/), beside the native server on the same stack, in one run:
#
#   bench/http.sh [build-dir] [seconds] [connections] [rounds]
#
# Loopback only. Prints one line per target and the ratio to the native baseline.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"; seconds="${2:-10}"; connections="${3:-32}"
rounds="${4:-3}"
command -v wrk >/dev/null || { echo "wrk is not installed (tools/bootstrap.sh installs it)"; exit 1; }
for fixture in c-http c-p3hello; do
  [ -f "$build/fixtures/$fixture.wasm" ] || { echo "$fixture.wasm is missing: build the fixtures target"; exit 1; }
done

# The C app runs from a temporary copy, its component linked in from the build measured.
c_app=$(mktemp -d)
results=$(mktemp)  # one line per target and round: name req/s p99 ratio
cp "$root/bench/apps/c-hello/spin.toml" "$c_app/"
ln -s "$build/fixtures/c-http.wasm" "$build/fixtures/c-p3hello.wasm" "$c_app/"

"$build/bench/native_server" 127.0.0.1:3101 >/dev/null &
native=$!
"$build/src/cli/gyre" up -f "$root/examples/hello" --listen 127.0.0.1:3102 --quiet >/dev/null &
gyre=$!
"$build/src/cli/gyre" up -f "$c_app" --listen 127.0.0.1:3103 --quiet >/dev/null &
gyre_c=$!
trap 'kill $native $gyre $gyre_c 2>/dev/null; wait 2>/dev/null; rm -rf "$c_app" "$results"' EXIT
for url in http://127.0.0.1:3101/static http://127.0.0.1:3102/static http://127.0.0.1:3103/; do
  for _ in $(seq 100); do curl -s -o /dev/null "$url" && break; sleep 0.1; done
done
# A server that could not listen (a port in use) would leave another process measured.
for pid in $native $gyre $gyre_c; do
  kill -0 "$pid" 2>/dev/null || { echo "a server did not start (ports 3101-3103 in use?)"; exit 1; }
done

run() {  # name url -> "name rps p99 non2xx socket-errors"
  local out; out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$2")
  awk -v n="$1" '/Requests\/sec/ {rps = $2}
       $1 == "99%" {p99 = $2}
       /Non-2xx or 3xx responses/ {non2xx = $5}
       /Socket errors/ {gsub(",", ""); errors = $4 + $6 + $8 + $10}
       END {printf "%s %s %s %d %d\n", n, rps, p99, non2xx, errors}' <<<"$out"
}
# Rounds: each measures every target back to back, so that each ratio compares runs made
# under the same load of the machine; the table gives each target's median over the rounds
# and the median of its per-round ratios (the native baseline varies by ~10% run to run).
targets=("native http://127.0.0.1:3101/" "gyre-static http://127.0.0.1:3102/static"
         "gyre-js http://127.0.0.1:3102/" "gyre-c http://127.0.0.1:3103/"
         "gyre-c-p3 http://127.0.0.1:3103/p3/")
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for round in $(seq "$rounds"); do
  base_rps=""
  for target in "${targets[@]}"; do
    read -r name url <<<"$target"
    read -r _ rps p99 non2xx errors <<<"$(run "$name" "$url")"
    base_rps=${base_rps:-$rps}
    ratio=$(awk -v a="$rps" -v b="$base_rps" 'BEGIN {printf "%.3f", a / b}')
    echo "$name $rps $p99 $ratio $non2xx $errors" >>"$results"
    printf 'round %d: %-12s %12s req/s  p99 %-9s ratio %s  non-2xx %s  socket errors %s\n' \
      "$round" "$name" "$rps" "$p99" "$ratio" "$non2xx" "$errors"
  done
done
echo
printf '%-12s %12s %10s %8s %9s %9s   (medians of %d rounds; non-2xx and socket errors summed)\n' \
  target req/s p99 ratio non-2xx errors "$rounds"
for target in "${targets[@]}"; do
  read -r name _ <<<"$target"
  rps=$(awk -v n="$name" '$1 == n {print $2}' "$results" | median)
  p99=$(awk -v n="$name" '$1 == n {print $3}' "$results" |
    awk '/us$/ {sub("us", ""); print $1 / 1000; next} /ms$/ {sub("ms", ""); print; next}
           /s$/ {sub("s", ""); print $1 * 1000; next} {print}' | median)
  ratio=$(awk -v n="$name" '$1 == n {print $4}' "$results" | median)
  non2xx=$(awk -v n="$name" '$1 == n {s += $5} END {print s + 0}' "$results")
  errors=$(awk -v n="$name" '$1 == n {s += $6} END {print s + 0}' "$results")
  printf '%-12s %12.0f %8.2fms %8.3f %9d %9d\n' "$name" "$rps" "$p99" "$ratio" "$non2xx" "$errors"
done
