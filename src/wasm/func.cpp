#include "wasm/func.hpp"

#include "wasm/wasmtime_glue.hpp"

namespace gyre::wasm {
namespace {

wasmtime_val_t to_val(const Value& value) {
  wasmtime_val_t out{};
  std::visit(
      [&](auto v) {
        using T = decltype(v);
        if constexpr (std::is_same_v<T, int32_t>) {
          out.kind = WASMTIME_I32;
          out.of.i32 = v;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          out.kind = WASMTIME_I64;
          out.of.i64 = v;
        } else if constexpr (std::is_same_v<T, float>) {
          out.kind = WASMTIME_F32;
          out.of.f32 = v;
        } else {
          out.kind = WASMTIME_F64;
          out.of.f64 = v;
        }
      },
      value);
  return out;
}

Result<Value> from_val(const wasmtime_val_t& val) {
  switch (val.kind) {
    case WASMTIME_I32:
      return Value(val.of.i32);
    case WASMTIME_I64:
      return Value(val.of.i64);
    case WASMTIME_F32:
      return Value(val.of.f32);
    case WASMTIME_F64:
      return Value(val.of.f64);
    default:
      return Error(ErrorKind::kUsage, "function returned a value type Gyre does not model");
  }
}

}  // namespace

Func Func::host(wasmtime_context* context, const FuncType& type, HostCallback callback, void* env,
                void (*finalizer)(void*)) {
  wasm_functype_t* raw_type = glue::new_functype(type);
  wasmtime_func_t func;
  wasmtime_func_new_unchecked(context, raw_type, glue::host_trampoline,
                              glue::new_host_binding(callback, env, finalizer),
                              glue::finalize_host_binding, &func);
  wasm_functype_delete(raw_type);
  return Func(glue::to_handle(func));
}

Result<void> Func::call_raw(wasmtime_context* context, std::span<RawValue> args_and_results) const {
  const auto func = glue::from_handle<wasmtime_func_t>(handle_);
  wasm_trap_t* trap = nullptr;
  if (wasmtime_error_t* error = wasmtime_func_call_unchecked(
          context, &func, reinterpret_cast<wasmtime_val_raw_t*>(args_and_results.data()),
          args_and_results.size(), &trap)) {
    return glue::take_error(error, ErrorKind::kTrap);
  }
  if (trap != nullptr) return glue::take_trap(trap);
  return {};
}

Result<std::vector<Value>> Func::call(wasmtime_context* context,
                                      std::span<const Value> args) const {
  const auto func = glue::from_handle<wasmtime_func_t>(handle_);
  std::vector<wasmtime_val_t> params;
  params.reserve(args.size());
  for (const Value& arg : args)
    params.push_back(to_val(arg));
  const size_t result_count = type(context).results.size();
  std::vector<wasmtime_val_t> results(result_count);
  wasm_trap_t* trap = nullptr;
  if (wasmtime_error_t* error = wasmtime_func_call(context, &func, params.data(), params.size(),
                                                   results.data(), results.size(), &trap)) {
    // Wrong arity or types come back as an error before any guest code ran.
    return glue::take_error(error, ErrorKind::kTrap);
  }
  if (trap != nullptr) return glue::take_trap(trap);
  std::vector<Value> out;
  out.reserve(result_count);
  for (const wasmtime_val_t& result : results) {
    Result<Value> value = from_val(result);
    if (!value) return std::move(value).error();
    out.push_back(*value);
  }
  return out;
}

FuncType Func::type(wasmtime_context* context) const {
  const auto func = glue::from_handle<wasmtime_func_t>(handle_);
  wasm_functype_t* raw = wasmtime_func_type(context, &func);
  FuncType type = glue::to_functype(raw);
  wasm_functype_delete(raw);
  return type;
}

}  // namespace gyre::wasm
