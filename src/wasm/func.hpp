// A guest (or host) function living in a Store.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "wasm/error.hpp"
#include "wasm/extern.hpp"
#include "wasm/value.hpp"
#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm {

class Caller;

// A host function's outcome: success, or a trap whose message the guest's caller sees.
struct HostTrap {
  std::string message;
};
using HostResult = std::optional<HostTrap>;

// The raw fast path for host functions: parameters arrive in `args_and_results` (typed by
// the declared FuncType); results are written from index 0 over them.
using HostCallback = HostResult (*)(void* env, Caller& caller,
                                    std::span<RawValue> args_and_results);

class Func {
 public:
  explicit Func(Handle handle) : handle_(handle) {}

  // A host function living in one store (for imports that differ per store; functions
  // that are the same for every store belong in a Linker). `finalizer`, if any, runs on
  // `env` when the store is dropped.
  static Func host(wasmtime_context* context, const FuncType& type, HostCallback callback,
                   void* env, void (*finalizer)(void*));

  // The fast path: parameters in, results out, in one array sized for the larger of
  // the two. No type checks: the caller must match the signature (see type()).
  Result<void> call_raw(wasmtime_context* context, std::span<RawValue> args_and_results) const;

  // The checked path: arity and types verified by the engine.
  Result<std::vector<Value>> call(wasmtime_context* context, std::span<const Value> args) const;

  FuncType type(wasmtime_context* context) const;
  Extern as_extern() const { return Extern{ExternKind::kFunc, handle_}; }

 private:
  Handle handle_;
};

}  // namespace gyre::wasm
