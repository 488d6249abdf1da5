# Shared by the tools/ scripts: where caches live and how their keys are made.
# Sourced, never run. Every cache lives outside the build tree so that a fresh clone
# on the same machine reuses it; each key changes when what it was built from changes.

GYRE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GYRE_CACHE="${GYRE_CACHE:-$HOME/.cache/gyre}"

# Pinned versions of the tools the fixtures are built with.
WASMTIME_VERSION=48.0.8
WIT_BINDGEN_VERSION=0.63.0
WASM_TOOLS_VERSION=1.263.0

# Cargo's usual home, for shells that did not source its profile (CI does not).
case ":$PATH:" in *":$HOME/.cargo/bin:"*) ;; *) [ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH" ;; esac

# ccache hashes paths relative to the clone (and not the folder compiled in), so that a
# fresh clone in another folder, as CI makes, reuses what an earlier clone compiled.
export CCACHE_BASEDIR="$GYRE_ROOT"
export CCACHE_NOHASHDIR=1

say() { printf '\033[1m[gyre]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[gyre] error:\033[0m %s\n' "$*" >&2; exit 1; }

# Hash of the named files' contents plus any extra words, first 16 hex digits.
content_key() {
  local extra="$1"; shift
  { printf '%s\n' "$extra"; cat "$@"; } | sha256sum | cut -c1-16
}

# The engine cache folder: lib/libgyre_wasmtime.a and include/.
engine_dir() {
  local crate="$GYRE_ROOT/deps/wasmtime-capi"
  local key
  key=$(content_key "$(rustc -V 2>/dev/null)" "$crate/Cargo.toml" "$crate/Cargo.lock" \
    "$crate/build.rs" "$crate/src/lib.rs")
  printf '%s/engine/wasmtime-%s-%s\n' "$GYRE_CACHE" "$WASMTIME_VERSION" "$key"
}

# Guest toolchains for fixtures (wasm-tools, wit-bindgen, adapters, npm and PyPI tools).
toolchain_dir() { printf '%s/toolchain\n' "$GYRE_CACHE"; }

# The virtualenv holding the Python fixture toolchain (componentize-py, spin-sdk).
python_venv_dir() {
  local req="$GYRE_ROOT/fixtures/python/requirements.txt"
  printf '%s/venv/%s\n' "$(toolchain_dir)" "$(content_key "$(python3 --version)" "$req")"
}
