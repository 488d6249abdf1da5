// Binds host functions to import names, once per application; the same Linker prepares
// every module that imports them.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "wasm/caller.hpp"
#include "wasm/error.hpp"
#include "wasm/func.hpp"
#include "wasm/instance.hpp"
#include "wasm/value.hpp"
#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm {

class Engine;
class Module;

class Linker {
 public:
  explicit Linker(Engine& engine);
  ~Linker();
  Linker(const Linker&) = delete;
  Linker& operator=(const Linker&) = delete;

  // `env` is passed to every call; `finalizer` (if any) runs on it when the Linker dies.
  Result<void> define(std::string_view module, std::string_view name, const FuncType& type,
                      HostCallback callback, void* env, void (*finalizer)(void*));

  // Any callable `HostResult(Caller&, std::span<RawValue>)`; it is kept for the Linker's life.
  template <class F>
  Result<void> define(std::string_view module, std::string_view name, const FuncType& type,
                      F&& function) {
    using Fn = std::decay_t<F>;
    auto* owned = new Fn(std::forward<F>(function));
    return define(
        module, name, type,
        [](void* env, Caller& caller, std::span<RawValue> slots) -> HostResult {
          return (*static_cast<Fn*>(env))(caller, slots);
        },
        owned, [](void* env) { delete static_cast<Fn*>(env); });
  }

  // A function defined here, as an extern of `context`'s store. The function's type was
  // registered once, at definition; this only makes the store's handle for it.
  std::optional<Extern> get(wasmtime_context* context, std::string_view module,
                            std::string_view name) const;

  // Resolves every import of `module` now; a missing or mistyped import is a kLink error
  // naming it.
  Result<InstancePre> prepare(const Module& module) const;

 private:
  wasmtime_linker* raw_;
};

}  // namespace gyre::wasm
