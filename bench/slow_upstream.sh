#!/usr/bin/env bash
# I/O-bound rows: wrk against `gyre up` serving handlers (a Spin JS SDK component and a C
# one) that await a local upstream answering after a delay (bench/native_server's
# /delay/<ms>). Each connection
# can do at most one request per delay, so the ideal is connections / delay; a runtime
# that holds a thread per waiting guest gets a small fraction of it. The native rows are
# the ceiling this machine allows: a second native_server doing what the C component does
# (its /fetch/), natively, through the same outbound client.
#
#   bench/slow_upstream.sh [build-dir] [seconds]
#
# Rows, for native, then each component: 200 connections against a 1 s upstream, 1000
# connections against a 100 ms one. A wrk run of S seconds completes at most S/delay - 1
# requests a connection, so the 1 s rows need a long run (the default, 60 s, caps them at
# 0.983 of the ideal). The run's length moves p99 too: wrk opens every connection at once,
# so the first requests arrive together and the last of them waits for the others' CPU
# (200 JS guests at about 2 ms each on two lanes: up to 0.2 s). Later requests arrive
# spread out. Those first 200 are 3.4% of a 30 s run's requests, and set its p99 (1.12 to
# 1.19 s for JS); in a 60 s run they are 1.7% (1.09 s). Each row starts once gyre is idle again, so that the guests of an
# overloaded row, still being stopped, do not slow the next one down.
# Loopback only. Prints req/s, the ratios to the ideal and to the native row of the same
# load, p99, non-2xx answers and socket errors, and gyre's RSS idle and under the load.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"; seconds="${2:-60}"
command -v wrk >/dev/null || { echo "wrk is not installed (tools/bootstrap.sh installs it)"; exit 1; }
for fixture in js-outbound c-fetch; do
  [ -f "$build/fixtures/$fixture.wasm" ] || { echo "$fixture.wasm is missing: build the fixtures target"; exit 1; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

app=$(mktemp -d)
cp "$root/bench/apps/slow-upstream/spin.toml" "$app/"
ln -s "$build/fixtures/js-outbound.wasm" "$build/fixtures/c-fetch.wasm" "$app/"
"$build/bench/native_server" 127.0.0.1:3111 >/dev/null &
upstream=$!
"$build/bench/native_server" 127.0.0.1:3113 >/dev/null &
native=$!
"$build/src/cli/gyre" up -f "$app" --listen 127.0.0.1:3112 --quiet >/dev/null &
gyre=$!
trap 'kill $upstream $native $gyre 2>/dev/null; wait 2>/dev/null; rm -rf "$app"' EXIT
declare -A base=([js]="http://127.0.0.1:3112/js/?url=http://127.0.0.1:3111/delay"
                 [c]="http://127.0.0.1:3112/c/fetch/127.0.0.1:3111/delay"
                 [native]="http://127.0.0.1:3113/fetch/127.0.0.1:3111/delay")
for _ in $(seq 100); do curl -s -o /dev/null "${base[js]}/0" && break; sleep 0.1; done
curl -s -o /dev/null "${base[c]}/0"
for pid in $upstream $native $gyre; do
  kill -0 "$pid" 2>/dev/null || { echo "a server did not start (ports 3111-3113 in use?)"; exit 1; }
done
rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$gyre/status"; }
threads() { awk '/Threads/ {print $2}' "/proc/$gyre/status"; }
echo "gyre idle after its first request: RSS $(rss), $(threads) threads"
# Waits (up to 30 s) until gyre is idle: after an overloaded row it is still stopping the
# guests of the requests wrk gave up on, which would slow the next row down.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$gyre/stat"; }
settle() {
  local before after
  for _ in $(seq 60); do
    before=$(cpu_ticks); sleep 0.5; after=$(cpu_ticks)
    ((after - before < 3)) && return
  done
}

# wrk's summary -> "req/s p99 non2xx socket-errors"
summarise() {
  awk '/Requests\/sec/ {rps = $2}
       $1 == "99%" {p99 = $2}
       /Non-2xx or 3xx responses/ {non2xx = $5}
       /Socket errors/ {gsub(",", ""); errors = $4 + $6 + $8 + $10}
       END {printf "%s %s %d %d\n", rps, p99, non2xx, errors}'
}
printf '%-30s %9s %7s %7s %7s %9s %7s %7s\n' row req/s ideal ratio native p99 non-2xx errors
declare -A native_rps
for row in "native 200 1000" "native 1000 100" "js 200 1000" "js 1000 100" "c 200 1000" "c 1000 100"; do
  read -r kind connections delay <<<"$row"
  settle
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --timeout 10s --latency "${base[$kind]}/$delay" &
        if [ "$kind" != native ]; then
          sleep $((seconds / 2)); echo "  under load: RSS $(rss), $(threads) threads" >&2
        fi
        wait)
  read -r rps p99 non2xx errors <<<"$(summarise <<<"$out")"
  ideal=$(awk -v c="$connections" -v d="$delay" 'BEGIN {printf "%.0f", c * 1000 / d}')
  ratio=$(awk -v a="$rps" -v b="$ideal" 'BEGIN {printf "%.3f", a / b}')
  [ "$kind" = native ] && native_rps[$connections]=$rps
  of_native=$(awk -v a="$rps" -v b="${native_rps[$connections]}" 'BEGIN {printf "%.3f", a / b}')
  printf '%-30s %9s %7s %7s %7s %9s %7s %7s\n' "$kind ${connections}c ${delay}ms upstream" \
    "$rps" "$ideal" "$ratio" "$of_native" "$p99" "$non2xx" "$errors"
done
echo "gyre after the load: RSS $(rss), $(threads) threads"
