// A Store holds the instances of one unit of work (one request) and everything they
// allocate; dropping it frees them all. Not thread-safe: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>

#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm {

class Engine;

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

  // Each linear memory may grow to at most this many bytes; instantiating a module that
  // needs more, or growing past it, fails with ErrorKind::kMemoryLimit.
  void set_memory_limit(uint64_t bytes);
  uint64_t memory_limit() const { return memory_limit_; }

  void* data() const { return data_; }
  // Replaces the per-store state host functions see through Caller::data().
  void set_data(void* data);
  wasmtime_context* context() const { return context_; }

 private:
  Engine& engine_;
  wasmtime_store* store_;
  wasmtime_context* context_;
  void* data_;
  uint64_t memory_limit_ = UINT64_MAX;
};

}  // namespace gyre::wasm
