// A Store holds the instances of one unit of work (one request) and everything they
// allocate; dropping it frees them all. Not thread-safe: one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm {

class Engine;

// What ends a guest before it returns, checked on every epoch tick while it runs, so a
// guest computing in a loop is stopped within a tick: a deadline, or a flag another thread
// sets (the request's client went away, the server is shutting down).
struct StopWhen {
  std::optional<std::chrono::nanoseconds> deadline;  // from the stop_when call
  std::shared_ptr<const std::atomic<bool>> cancelled;
};

class Store {
 public:
  // `data` is the embedder's per-store state, handed back to host functions through
  // Caller::data(); the Store does not own it.
  explicit Store(Engine& engine, void* data = nullptr);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Guest code running longer than this (from now) stops with ErrorKind::kDeadline.
  // Granularity is the engine's epoch tick. Without a call there is no deadline.
  void set_deadline(std::chrono::nanoseconds from_now);
  void clear_deadline();
  // Stops the guest (ErrorKind::kDeadline or kInterrupted) when either condition holds;
  // replaces set_deadline. Conditions that are both empty change nothing.
  void stop_when(StopWhen stop);

  // Each linear memory may grow to at most this many bytes; instantiating a module that
  // needs more, or growing past it, fails with ErrorKind::kMemoryLimit.
  void set_memory_limit(uint64_t bytes);
  uint64_t memory_limit() const { return memory_limit_; }

  void* data() const { return data_; }
  // Replaces the per-store state host functions see through Caller::data().
  void set_data(void* data);
  wasmtime_context* context() const { return context_; }
  Engine& engine() const { return engine_; }

  // Set by Fiber while guest code of this store runs on one: a guest that computes on
  // through a whole epoch tick interval then suspends the fiber at the next tick (after
  // the stop conditions are checked), so the thread can serve others before it goes on.
  void set_fiber_active(bool active);
  // Called by Fiber each time the guest goes on after a suspension: the run it starts
  // counts its ticks from zero.
  void note_resumed();

  struct Stop;  // what stop_when set, read by the epoch callback on the guest's thread

 private:
  Engine& engine_;
  wasmtime_store* store_;
  wasmtime_context* context_;
  void* data_;
  uint64_t memory_limit_ = UINT64_MAX;
  std::unique_ptr<Stop> stop_;

  Stop& stop_state();  // made, and the epoch callback installed, on first use
};

}  // namespace gyre::wasm
