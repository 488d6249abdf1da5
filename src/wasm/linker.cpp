#include "wasm/linker.hpp"

#include "wasm/engine.hpp"
#include "wasm/module.hpp"
#include "wasm/wasmtime_glue.hpp"

namespace gyre::wasm {

Linker::Linker(Engine& engine) : raw_(wasmtime_linker_new(engine.raw())) {}

Linker::~Linker() {
  wasmtime_linker_delete(raw_);
}

Result<void> Linker::define(std::string_view module, std::string_view name, const FuncType& type,
                            HostCallback callback, void* env, void (*finalizer)(void*)) {
  wasm_functype_t* raw_type = glue::new_functype(type);
  // Wasmtime owns the binding from here on and finalizes it even if the definition fails.
  wasmtime_error_t* error = wasmtime_linker_define_func_unchecked(
      raw_, module.data(), module.size(), name.data(), name.size(), raw_type, glue::host_trampoline,
      glue::new_host_binding(callback, env, finalizer), glue::finalize_host_binding);
  wasm_functype_delete(raw_type);
  if (error != nullptr) return glue::take_error(error, ErrorKind::kLink);
  return {};
}

std::optional<Extern> Linker::get(wasmtime_context* context, std::string_view module,
                                  std::string_view name) const {
  wasmtime_extern_t item;
  if (!wasmtime_linker_get(raw_, context, module.data(), module.size(), name.data(), name.size(),
                           &item)) {
    return std::nullopt;
  }
  return glue::from_wasmtime(item);
}

Result<InstancePre> Linker::prepare(const Module& module) const {
  wasmtime_instance_pre_t* pre = nullptr;
  if (wasmtime_error_t* error = wasmtime_linker_instantiate_pre(raw_, module.raw(), &pre)) {
    return glue::take_error(error, ErrorKind::kLink);
  }
  return InstancePre(pre);
}

}  // namespace gyre::wasm
