// Private to src/wasm/*.cpp: conversions between Wasmtime's C values and ours.
#pragma once

#include <wasmtime.h>

#include <cstring>
#include <string>
#include <type_traits>

#include "wasm/error.hpp"
#include "wasm/extern.hpp"
#include "wasm/func.hpp"
#include "wasm/value.hpp"
#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm::glue {

static_assert(sizeof(RawValue) == sizeof(wasmtime_val_raw_t));

template <class T>
T from_handle(const Handle& handle) {
  static_assert(sizeof(T) <= sizeof(Handle) && std::is_trivially_copyable_v<T>);
  T value;
  std::memcpy(&value, handle.bytes, sizeof(T));
  return value;
}
template <class T>
Handle to_handle(const T& value) {
  static_assert(sizeof(T) <= sizeof(Handle) && std::is_trivially_copyable_v<T>);
  Handle handle{};
  std::memcpy(handle.bytes, &value, sizeof(T));
  return handle;
}

// Takes ownership of `error` and deletes it.
Error take_error(wasmtime_error_t* error, ErrorKind kind);
// Takes ownership of `trap` and deletes it.
Error take_trap(wasm_trap_t* trap);

std::string to_string(const wasm_byte_vec_t& bytes);
wasm_functype_t* new_functype(const FuncType& type);
FuncType to_functype(const wasm_functype_t* type);

// Host functions: Wasmtime calls host_trampoline with a binding made by
// new_host_binding, and finalize_host_binding when it drops the function.
void* new_host_binding(HostCallback callback, void* env, void (*finalizer)(void*));
wasm_trap_t* host_trampoline(void* binding, wasmtime_caller_t* caller, wasmtime_val_raw_t* slots,
                             size_t count);
void finalize_host_binding(void* binding);

wasmtime_extern_t to_wasmtime(const Extern& item);
Extern from_wasmtime(const wasmtime_extern_t& item);

}  // namespace gyre::wasm::glue
