#include "wasm/memory.hpp"

#include "wasm/wasmtime_glue.hpp"

namespace gyre::wasm {

std::span<uint8_t> Memory::data(wasmtime_context* context) const {
  const auto memory = glue::from_handle<wasmtime_memory_t>(handle_);
  return {wasmtime_memory_data(context, &memory), wasmtime_memory_data_size(context, &memory)};
}

uint64_t Memory::pages(wasmtime_context* context) const {
  const auto memory = glue::from_handle<wasmtime_memory_t>(handle_);
  return wasmtime_memory_size(context, &memory);
}

Result<uint64_t> Memory::grow(wasmtime_context* context, uint64_t pages) const {
  const auto memory = glue::from_handle<wasmtime_memory_t>(handle_);
  uint64_t previous = 0;
  if (wasmtime_error_t* error = wasmtime_memory_grow(context, &memory, pages, &previous)) {
    return glue::take_error(error, ErrorKind::kMemoryLimit);
  }
  return previous;
}

}  // namespace gyre::wasm
