#include "wasm/caller.hpp"

#include "wasm/wasmtime_glue.hpp"

namespace gyre::wasm {

Caller::Caller(wasmtime_caller* raw) : raw_(raw), context_(wasmtime_caller_context(raw)) {}

void* Caller::data() const {
  return wasmtime_context_get_data(context_);
}

std::optional<Memory> Caller::memory(std::string_view name) const {
  wasmtime_extern_t item;
  if (!wasmtime_caller_export_get(raw_, name.data(), name.size(), &item)) return std::nullopt;
  if (item.kind != WASMTIME_EXTERN_MEMORY) return std::nullopt;
  return Memory(glue::to_handle(item.of.memory));
}

}  // namespace gyre::wasm
