// Core wasm values as they cross the host boundary.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

namespace gyre::wasm {

enum class ValType : uint8_t { kI32, kI64, kF32, kF64 };

// An untyped slot, laid out exactly like Wasmtime's wasmtime_val_raw_t (checked in
// func.cpp), so raw calls pass arrays of these straight through without conversion.
// The type comes from the function's signature, which the caller must respect.
union RawValue {
  int32_t i32;
  int64_t i64;
  float f32;
  double f64;
  uint8_t bytes[16];

  static RawValue from_i32(int32_t v) {
    RawValue r{};
    r.i32 = v;
    return r;
  }
  static RawValue from_i64(int64_t v) {
    RawValue r{};
    r.i64 = v;
    return r;
  }
  static RawValue from_f32(float v) {
    RawValue r{};
    r.f32 = v;
    return r;
  }
  static RawValue from_f64(double v) {
    RawValue r{};
    r.f64 = v;
    return r;
  }
};

// A typed value, for the checked (slower) call path.
using Value = std::variant<int32_t, int64_t, float, double>;

struct FuncType {
  std::vector<ValType> params;
  std::vector<ValType> results;

  bool operator==(const FuncType&) const = default;
};

}  // namespace gyre::wasm
