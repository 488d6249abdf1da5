// A guest (or host) function living in a Store.
#pragma once

#include <span>
#include <vector>

#include "wasm/error.hpp"
#include "wasm/value.hpp"
#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm {

class Func {
 public:
  explicit Func(Handle handle) : handle_(handle) {}

  // The fast path: parameters in, results out, in one array sized for the larger of
  // the two. No type checks: the caller must match the signature (see type()).
  Result<void> call_raw(wasmtime_context* context, std::span<RawValue> args_and_results) const;

  // The checked path: arity and types verified by the engine.
  Result<std::vector<Value>> call(wasmtime_context* context, std::span<const Value> args) const;

  FuncType type(wasmtime_context* context) const;

 private:
  Handle handle_;
};

}  // namespace gyre::wasm
