// What a host function sees of its caller: the store's per-store state and the
// calling instance's exported memory.
#pragma once

#include <optional>
#include <string_view>

#include "wasm/memory.hpp"
#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm {

class Caller {
 public:
  explicit Caller(wasmtime_caller* raw);

  // The `data` the Store was created with.
  void* data() const;
  template <class T>
  T& data_as() const {
    return *static_cast<T*>(data());
  }
  // The calling instance's exported memory (by default "memory").
  std::optional<Memory> memory(std::string_view name = "memory") const;
  wasmtime_context* context() const { return context_; }

 private:
  wasmtime_caller* raw_;
  wasmtime_context* context_;
};

}  // namespace gyre::wasm
