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
  // The export `handle` names (see ExportHandle): no name lookup.
  std::optional<Extern> get(wasmtime_context* context, const class ExportHandle& handle) const;
  std::optional<Func> func(wasmtime_context* context, std::string_view name) const;
  std::optional<Memory> memory(wasmtime_context* context, std::string_view name) const;

 private:
  friend class ExportHandle;
  Handle handle_;
};

// One export of a module, found by name once (in any instance of it) and then found in
// every instance of the same module without a name lookup. Not tied to a Store.
class ExportHandle {
 public:
  // Empty when the module has no export of that name.
  static ExportHandle find(wasmtime_context* context, const Instance& instance,
                           std::string_view name);
  ~ExportHandle();
  ExportHandle(ExportHandle&& other) noexcept;
  ExportHandle& operator=(ExportHandle&& other) noexcept;
  ExportHandle(const ExportHandle&) = delete;
  ExportHandle& operator=(const ExportHandle&) = delete;

  explicit operator bool() const { return raw_ != nullptr; }

 private:
  friend class Instance;
  explicit ExportHandle(void* raw) : raw_(raw) {}
  void* raw_;  // Wasmtime's ModuleExport, made by deps/wasmtime-capi
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
  Result<Instance> instantiate(wasmtime_context* context) const;

 private:
  wasmtime_instance_pre* raw_;
};

}  // namespace gyre::wasm
