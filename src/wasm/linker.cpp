#include "wasm/linker.hpp"

#include "wasm/engine.hpp"
#include "wasm/module.hpp"
#include "wasm/wasmtime_glue.hpp"

namespace gyre::wasm {
namespace {

// What Wasmtime calls: unpacks the env and the caller, runs the host function and turns
// its HostTrap into a Wasmtime trap.
struct Binding {
  HostCallback callback;
  void* env;
  void (*finalizer)(void*);
};

wasm_trap_t* trampoline(void* env, wasmtime_caller_t* raw_caller, wasmtime_val_raw_t* slots,
                        size_t count) {
  auto* binding = static_cast<Binding*>(env);
  Caller caller(raw_caller);
  HostResult result =
      binding->callback(binding->env, caller, {reinterpret_cast<RawValue*>(slots), count});
  if (!result) return nullptr;
  return wasmtime_trap_new(result->message.data(), result->message.size());
}

void finalize(void* env) {
  auto* binding = static_cast<Binding*>(env);
  if (binding->finalizer != nullptr) binding->finalizer(binding->env);
  delete binding;
}

}  // namespace

Linker::Linker(Engine& engine) : raw_(wasmtime_linker_new(engine.raw())) {}

Linker::~Linker() {
  wasmtime_linker_delete(raw_);
}

Result<void> Linker::define(std::string_view module, std::string_view name, const FuncType& type,
                            HostCallback callback, void* env, void (*finalizer)(void*)) {
  wasm_functype_t* raw_type = glue::new_functype(type);
  // Wasmtime owns the binding from here on and finalizes it even if the definition fails.
  wasmtime_error_t* error = wasmtime_linker_define_func_unchecked(
      raw_, module.data(), module.size(), name.data(), name.size(), raw_type, trampoline,
      new Binding{callback, env, finalizer}, finalize);
  wasm_functype_delete(raw_type);
  if (error != nullptr) return glue::take_error(error, ErrorKind::kLink);
  return {};
}

Result<InstancePre> Linker::prepare(const Module& module) const {
  wasmtime_instance_pre_t* pre = nullptr;
  if (wasmtime_error_t* error = wasmtime_linker_instantiate_pre(raw_, module.raw(), &pre)) {
    return glue::take_error(error, ErrorKind::kLink);
  }
  return InstancePre(pre);
}

}  // namespace gyre::wasm
