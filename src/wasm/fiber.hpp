// Host code on a fiber of Wasmtime's: a guest call that can stop half-way and go on later.
//
// A Fiber runs a C++ body (typically: call a component's export) on a stack of its own,
// taken from the engine's pool. Inside it, host code reached from the guest may park the
// fiber: resume() then returns false and the thread is free; the owner calls resume()
// again after unpark(), and the body goes on from where it parked. While the guest
// computes on through a whole epoch tick interval, the next tick suspends the fiber too
// (yield), so one guest cannot keep its thread from the others; resume() returns false then as
// well, with parked() false.
//
// Wasmtime allows this only through its async entry points: the body runs in a host
// function called with wasmtime_func_call_async, and parking calls an async host function
// (its continuation says whether the fiber may go on). Calls from the body into the guest
// go through Func::call_raw, which Wasmtime permits on a fiber.
#pragma once

#include <functional>
#include <memory>

#include "wasm/error.hpp"
#include "wasm/wasmtime_fwd.hpp"

struct wasmtime_call_future;
struct wasm_trap_t;
struct wasmtime_error;
struct wasmtime_linker;

namespace gyre::wasm {

class Store;

class Fiber {
 public:
  // `body` runs on the fiber at the first resume(). The Store must outlive the Fiber, and
  // must have been instantiated into already: once a store has fibers, Wasmtime refuses
  // its synchronous instantiation.
  Fiber(Store& store, std::function<void()> body);
  ~Fiber();  // a fiber still parked is unwound: its pending host call fails
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Runs the body until it finishes (true) or the fiber suspends (false). Not after true.
  bool resume();
  // What ended the body's call, when Wasmtime itself failed it (empty otherwise; the
  // body reports its own outcome).
  const std::optional<Error>& error() const { return error_; }

  // From host code on this fiber: suspends it until unpark() and a resume(). False when
  // the fiber is being torn down instead; the caller must then return (or trap) at once.
  bool park();
  bool parked() const { return parked_; }
  // Lets the next resume() continue a parked fiber. From the thread that resumes it.
  void unpark() { parked_ = false; }

  // Wasmtime's continuation for a park: may the parked fiber go on?
  static bool may_continue(void* fiber);
  // Runs the fiber's body; false when it threw.
  static bool run_body(void* fiber);

 private:
  Store& store_;
  std::function<void()> body_;
  wasmtime_call_future* future_ = nullptr;
  wasm_trap_t* trap_ = nullptr;
  wasmtime_error* error_raw_ = nullptr;
  std::optional<Error> error_;
  Handle park_func_{};  // the engine's park function, in this store (once needed)
  bool have_park_func_ = false;
  Handle run_func_{};                           // the host function that runs body_
  alignas(16) unsigned char run_arg_[32] = {};  // its argument, this fiber (a wasmtime_val_t)
  bool parked_ = false;
  bool torn_down_ = false;
};

// The Engine's linker that holds the park function (one per engine; the Engine owns it).
wasmtime_linker* new_park_linker(wasm_engine_t* engine);

}  // namespace gyre::wasm
