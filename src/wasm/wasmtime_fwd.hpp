// Wasmtime's C types, named but not defined, so that the engine layer's headers do not
// pull Wasmtime's headers into other layers. Only src/wasm/*.cpp include <wasmtime.h>.
#pragma once

#include <cstddef>

struct wasm_engine_t;
struct wasmtime_caller;
struct wasmtime_context;
struct wasmtime_instance_pre;
struct wasmtime_linker;
struct wasmtime_module;
struct wasmtime_store;

namespace gyre::wasm {

// Wasmtime's store-bound handles (func, memory, instance) are small plain values; this
// holds their bytes. The .cpp files convert after a static_assert that they fit.
struct alignas(8) Handle {
  std::byte bytes[24];
};

}  // namespace gyre::wasm
