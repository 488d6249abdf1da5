// A module ready to instantiate (imports resolved once, at link time), and an instance of
// it in a Store.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "wasm/error.hpp"
#include "wasm/extern.hpp"
#include "wasm/func.hpp"
#include "wasm/memory.hpp"
#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm {

class Store;

class Module;

class Instance {
 public:
  explicit Instance(Handle handle) : handle_(handle) {}

  // Instantiates `module` with imports given in the module's import order. For modules
  // whose imports differ per store (the core modules inside a component); otherwise
  // prefer Linker::prepare and InstancePre.
  static Result<Instance> create(wasmtime_context* context, const Module& module,
                                 std::span<const Extern> imports);

  std::optional<Extern> get(wasmtime_context* context, std::string_view name) const;
  std::optional<Func> func(wasmtime_context* context, std::string_view name) const;
  std::optional<Memory> memory(wasmtime_context* context, std::string_view name) const;

 private:
  Handle handle_;
};

// Made by Linker::prepare. Instantiating does no name resolution or type checking,
// only the allocation of the instance (a pooled slot) and its initialisation.
class InstancePre {
 public:
  explicit InstancePre(wasmtime_instance_pre* raw) : raw_(raw) {}
  ~InstancePre();
  InstancePre(InstancePre&& other) noexcept;
  InstancePre& operator=(InstancePre&& other) noexcept;
  InstancePre(const InstancePre&) = delete;
  InstancePre& operator=(const InstancePre&) = delete;

  Result<Instance> instantiate(Store& store) const;

 private:
  wasmtime_instance_pre* raw_;
};

}  // namespace gyre::wasm
