#include "wasm/fiber.hpp"

#include <wasmtime.h>

#include "wasm/engine.hpp"
#include "wasm/store.hpp"
#include "wasm/wasmtime_glue.hpp"

namespace gyre::wasm {
namespace {

constexpr std::string_view kModule = "gyre";
constexpr std::string_view kPark = "park";
constexpr std::string_view kRun = "run";

// The park function's host side: (fiber: i64) -> (). It returns at once and leaves a
// continuation that Wasmtime polls on the fiber: until it says yes, the fiber stays
// suspended and wasmtime_call_future_poll returns false.
void park_callback(void*, wasmtime_caller_t*, const wasmtime_val_t* args, size_t, wasmtime_val_t*,
                   size_t, wasm_trap_t**, wasmtime_async_continuation_t* continuation) {
  continuation->callback = &Fiber::may_continue;
  continuation->env = reinterpret_cast<void*>(static_cast<uintptr_t>(args[0].of.i64));
  continuation->finalizer = nullptr;
}

// The run function's host side: (fiber: i64) -> (), the body of that fiber.
wasm_trap_t* run_callback(void*, wasmtime_caller_t*, wasmtime_val_raw_t* args, size_t) {
  return Fiber::run_body(reinterpret_cast<void*>(static_cast<uintptr_t>(args[0].i64)))
             ? nullptr
             : wasmtime_trap_new("a host error escaped a fiber", 29);
}

// (i64) -> (): both functions take the fiber they serve.
wasm_functype_t* new_type() {
  wasm_valtype_vec_t params;
  wasm_valtype_vec_t results;
  wasm_valtype_t* i64 = wasm_valtype_new(WASM_I64);
  wasm_valtype_vec_new(&params, 1, &i64);
  wasm_valtype_vec_new_empty(&results);
  return wasm_functype_new(&params, &results);
}

}  // namespace

wasmtime_linker* new_park_linker(wasm_engine_t* engine) {
  wasmtime_linker_t* linker = wasmtime_linker_new(engine);
  // Defined once here, so a store takes them without registering a function type (which
  // locks the engine's type registry) per request.
  wasm_functype_t* type = new_type();
  wasmtime_error_t* error =
      wasmtime_linker_define_async_func(linker, kModule.data(), kModule.size(), kPark.data(),
                                        kPark.size(), type, park_callback, nullptr, nullptr);
  if (error != nullptr) wasmtime_error_delete(error);  // cannot happen: a fresh linker
  error = wasmtime_linker_define_func_unchecked(linker, kModule.data(), kModule.size(), kRun.data(),
                                                kRun.size(), type, run_callback, nullptr, nullptr);
  if (error != nullptr) wasmtime_error_delete(error);
  wasm_functype_delete(type);
  return linker;
}

Fiber::Fiber(Store& store, std::function<void()> body) : store_(store), body_(std::move(body)) {}

Fiber::~Fiber() {
  if (future_ == nullptr) return;
  // Dropping an unfinished future resumes the fiber with an error: the park in progress
  // returns false, the body unwinds, and the stack goes back to the pool.
  torn_down_ = true;
  wasmtime_call_future_delete(future_);
  if (trap_ != nullptr) wasm_trap_delete(trap_);
  if (error_raw_ != nullptr) wasmtime_error_delete(error_raw_);
  store_.set_fiber_active(false);
}

bool Fiber::may_continue(void* fiber) {
  const auto* self = static_cast<const Fiber*>(fiber);
  return !self->parked_ || self->torn_down_;
}

bool Fiber::run_body(void* fiber) {
  // Nothing may unwind through Wasmtime's frames; the body reports its own errors.
  try {
    static_cast<Fiber*>(fiber)->body_();
    return true;
  } catch (...) {
    return false;
  }
}

bool Fiber::resume() {
  if (future_ == nullptr) {
    wasmtime_extern_t run;
    wasmtime_linker_get(store_.engine().park_linker(), store_.context(), kModule.data(),
                        kModule.size(), kRun.data(), kRun.size(), &run);
    run_func_ = glue::to_handle(run.of.func);
    static_assert(sizeof(wasmtime_val_t) <= sizeof(run_arg_) && alignof(wasmtime_val_t) <= 16);
    auto* arg = new (run_arg_) wasmtime_val_t;
    arg->kind = WASMTIME_I64;
    arg->of.i64 = static_cast<int64_t>(reinterpret_cast<uintptr_t>(this));
    store_.set_fiber_active(true);
    // The future reads the function and its argument through these pointers while it lives.
    future_ = wasmtime_func_call_async(store_.context(),
                                       reinterpret_cast<const wasmtime_func_t*>(&run_func_), arg, 1,
                                       nullptr, 0, &trap_, &error_raw_);
  }
  store_.note_resumed();
  if (!wasmtime_call_future_poll(future_)) return false;
  wasmtime_call_future_delete(future_);
  future_ = nullptr;
  store_.set_fiber_active(false);
  if (error_raw_ != nullptr) {
    error_ = glue::take_error(error_raw_, ErrorKind::kTrap);
    error_raw_ = nullptr;
  } else if (trap_ != nullptr) {
    error_ = glue::take_trap(trap_);
    trap_ = nullptr;
  }
  return true;
}

bool Fiber::park() {
  if (!have_park_func_) {  // most guests never wait: the store gets the function on demand
    wasmtime_extern_t park;
    wasmtime_linker_get(store_.engine().park_linker(), store_.context(), kModule.data(),
                        kModule.size(), kPark.data(), kPark.size(), &park);
    park_func_ = glue::to_handle(park.of.func);
    have_park_func_ = true;
  }
  parked_ = true;
  wasmtime_val_raw_t arg;
  arg.i64 = static_cast<int64_t>(reinterpret_cast<uintptr_t>(this));
  wasm_trap_t* trap = nullptr;
  const auto park = glue::from_handle<wasmtime_func_t>(park_func_);
  wasmtime_error_t* error = wasmtime_func_call_unchecked(store_.context(), &park, &arg, 1, &trap);
  parked_ = false;
  if (trap != nullptr) wasm_trap_delete(trap);
  if (error != nullptr) {
    wasmtime_error_delete(error);
    return false;
  }
  return !torn_down_;
}

}  // namespace gyre::wasm
