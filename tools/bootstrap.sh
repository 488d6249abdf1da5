#!/usr/bin/env bash
# Installs everything Gyre's build and tests need on a fresh machine, and nothing the
# second time: each step checks a stamp or a version first. Safe to run again at any time.
#
#   tools/bootstrap.sh           everything
#   tools/bootstrap.sh engine    one step: packages | engine | wasm-tools | adapter | js | python
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEBIAN_PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config clang-format-19
  # libraries
  libboost1.81-dev libcurl4-openssl-dev libssl-dev libtomlplusplus-dev nlohmann-json3-dev
  libcli11-dev libspdlog-dev libfmt-dev libsqlite3-dev libhiredis-dev libpq-dev libmariadb-dev
  libmosquitto-dev libmimalloc-dev
  # tests and benchmarks (the servers Spin apps talk to are started by the tests)
  libgtest-dev libgmock-dev libbenchmark-dev wrk curl redis-server postgresql mariadb-server
  mosquitto
  # guest toolchain for C fixtures; clang's own runtime for the sanitizers and libFuzzer
  clang-19 lld-19 libclang-rt-19-dev libclang-rt-19-dev-wasm32 wasi-libc
)

step_packages() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then say "debian packages: present"; return; fi
  say "debian packages: installing ${missing[*]}"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

step_engine() {
  local dir; dir=$(engine_dir)
  if [ -f "$dir/stamp" ]; then say "engine: cached at $dir"; return; fi
  say "engine: building Wasmtime $WASMTIME_VERSION C API (first time only, a few minutes)"
  local tmp="$dir.partial"
  rm -rf "$tmp"; mkdir -p "$tmp/lib" "$tmp/include"
  GYRE_ENGINE_INCLUDE_OUT="$tmp/include" CARGO_TARGET_DIR="$GYRE_CACHE/engine/target" \
    cargo build --release --locked --manifest-path "$GYRE_ROOT/deps/wasmtime-capi/Cargo.toml"
  cp "$GYRE_CACHE/engine/target/release/libgyre_wasmtime.a" "$tmp/lib/"
  [ -f "$tmp/include/wasmtime.h" ] || die "engine: the crate build did not export the headers"
  touch "$tmp/stamp"
  rm -rf "$dir"; mv "$tmp" "$dir"
  # Engines built from an older crate or toolchain are never used again.
  find "$GYRE_CACHE/engine" -maxdepth 1 -name 'wasmtime-*' ! -name "$(basename "$dir")" -exec rm -rf {} +
  say "engine: $(du -h "$dir/lib/libgyre_wasmtime.a" | cut -f1) static library in $dir"
}

# cargo install, skipped when the binary already reports the pinned version.
cargo_tool() {
  local crate="$1" bin="$2" version="$3" root; root="$(toolchain_dir)/cargo"
  if "$root/bin/$bin" --version 2>/dev/null | grep -q " $version"; then
    say "$bin: $version present"; return
  fi
  say "$bin: installing $version"
  cargo install --locked --root "$root" "$crate@$version"
}

step_wasm_tools() {
  cargo_tool wasm-tools wasm-tools "$WASM_TOOLS_VERSION"
  cargo_tool wit-bindgen-cli wit-bindgen "$WIT_BINDGEN_VERSION"
}

step_adapter() {
  local crate="$GYRE_ROOT/deps/wasi-adapter" out; out="$(toolchain_dir)/adapter"
  local key; key=$(content_key "" "$crate/Cargo.toml" "$crate/Cargo.lock")
  if [ -f "$out/$key.stamp" ]; then say "wasi adapter: present"; return; fi
  say "wasi adapter: fetching"
  cargo fetch --locked --manifest-path "$crate/Cargo.toml" >&2
  local src
  src=$(cargo metadata --locked --format-version 1 --manifest-path "$crate/Cargo.toml" |
    python3 -c 'import json,sys,os; m=json.load(sys.stdin); print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"]=="wasi-preview1-component-adapter-provider"))')
  rm -rf "$out"; mkdir -p "$out"
  cp "$src"/artefacts/*.wasm "$out/"
  touch "$out/$key.stamp"
}

# npm packages for JavaScript fixtures, installed once per lock file into the cache;
# fixtures/js/node_modules is a link to it.
step_js() {
  local pkg="$GYRE_ROOT/fixtures/js"
  local key; key=$(content_key "$(node --version)" "$pkg/package.json" "$pkg/package-lock.json")
  local dir; dir="$(toolchain_dir)/npm/$key"
  if [ ! -f "$dir/stamp" ]; then
    say "js toolchain: npm install (from the committed lock)"
    rm -rf "$dir"; mkdir -p "$dir"
    cp "$pkg/package.json" "$pkg/package-lock.json" "$dir/"
    # npm ci rejects locks that omit other platforms' optional packages; install honours the lock.
    (cd "$dir" && npm install --no-audit --no-fund --no-save >&2)
    touch "$dir/stamp"
  else
    say "js toolchain: present"
  fi
  ln -sfn "$dir/node_modules" "$pkg/node_modules"
}

# PyPI packages for Python fixtures, in a virtualenv keyed by the requirements file.
step_python() {
  local req="$GYRE_ROOT/fixtures/python/requirements.txt"
  local dir; dir="$(python_venv_dir)"
  if [ -f "$dir/stamp" ]; then say "python toolchain: present"; return; fi
  say "python toolchain: installing $(tr '\n' ' ' <"$req")"
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q -r "$req" >&2
  touch "$dir/stamp"
}

main() {
  local steps=("$@")
  ((${#steps[@]})) || steps=(packages engine wasm-tools adapter js python)
  local start=$SECONDS
  for s in "${steps[@]}"; do "step_${s//-/_}"; done
  say "bootstrap done in $((SECONDS - start)) s"
}
main "$@"
