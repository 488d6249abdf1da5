// Private to src/wasm/*.cpp: conversions between Wasmtime's C values and ours.
#pragma once

#include <wasmtime.h>

#include <cstring>
#include <string>
#include <type_traits>

#include "wasm/error.hpp"
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

}  // namespace gyre::wasm::glue
