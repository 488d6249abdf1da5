// A guest's linear memory. The span it hands out is valid until the guest or the host
// grows the memory; re-fetch it after any call into the guest.
#pragma once

#include <cstdint>
#include <span>

#include "wasm/error.hpp"
#include "wasm/extern.hpp"
#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm {

class Memory {
 public:
  explicit Memory(Handle handle) : handle_(handle) {}

  std::span<uint8_t> data(wasmtime_context* context) const;
  uint64_t pages(wasmtime_context* context) const;
  // Grows by `pages`; returns the previous size in pages.
  Result<uint64_t> grow(wasmtime_context* context, uint64_t pages) const;
  Extern as_extern() const { return Extern{ExternKind::kMemory, handle_}; }

 private:
  Handle handle_;
};

}  // namespace gyre::wasm
