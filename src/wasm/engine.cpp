#include "wasm/engine.hpp"

#include <wasmtime.h>

#include <condition_variable>
#include <mutex>

#include "base/thread_name.hpp"
#include "wasm/fiber.hpp"
#include "wasm/module.hpp"
#include "wasm/wasmtime_glue.hpp"

// deps/wasmtime-capi: the one pooling setting Wasmtime's C API lacks.
extern "C" void gyre_pooling_allocation_config_pagemap_scan_set(
    wasmtime_pooling_allocation_config_t* config, bool enable);

namespace gyre::wasm {
namespace {

// The Wasmtime version compiled code depends on; the cache key must change with it.
constexpr const char* kEngineVersion = "wasmtime-c-api-48.0.8";

std::string fingerprint_of(const EngineConfig& config) {
  // Only settings that change generated code belong here.
  return std::string(kEngineVersion) + ";epoch=" + (config.epoch_interruption ? "1" : "0") +
         ";pool=" + (config.pooling ? std::to_string(config.pool_max_memory_bytes) : "0");
}

wasm_config_t* make_config(const EngineConfig& config) {
  wasm_config_t* raw = wasm_config_new();
  wasmtime_config_epoch_interruption_set(raw, config.epoch_interruption);
  wasmtime_config_parallel_compilation_set(raw, config.parallel_compilation);
  wasmtime_config_memory_init_cow_set(raw, true);
  if (config.pooling) {
    wasmtime_pooling_allocation_config_t* pool = wasmtime_pooling_allocation_config_new();
    wasmtime_pooling_allocation_config_total_core_instances_set(pool, config.pool_instances);
    const auto or_instances = [&](uint32_t n) { return n != 0 ? n : config.pool_instances; };
    wasmtime_pooling_allocation_config_total_memories_set(pool, or_instances(config.pool_memories));
    wasmtime_pooling_allocation_config_total_tables_set(pool, config.pool_instances);
    wasmtime_pooling_allocation_config_total_stacks_set(pool, or_instances(config.pool_stacks));
    wasmtime_pooling_allocation_config_max_memory_size_set(pool, config.pool_max_memory_bytes);
    wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(
        pool, config.pool_keep_resident_bytes);
    wasmtime_pooling_allocation_config_table_keep_resident_set(
        pool, config.pool_table_keep_resident_bytes);
    wasmtime_pooling_allocation_config_decommit_batch_size_set(pool, config.pool_decommit_batch);
    gyre_pooling_allocation_config_pagemap_scan_set(pool, config.pool_reset_dirty_pages_only);
    wasmtime_pooling_allocation_strategy_set(raw, pool);
    wasmtime_pooling_allocation_config_delete(pool);
  }
  return raw;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::create(const EngineConfig& config) {
  if (config.epoch_tick.count() <= 0) {
    return Error(ErrorKind::kUsage, "epoch_tick must be positive");
  }
  wasm_engine_t* raw = wasm_engine_new_with_config(make_config(config));
  if (raw == nullptr) {
    return Error(ErrorKind::kUsage, "Wasmtime rejected the engine configuration");
  }
  return std::unique_ptr<Engine>(new Engine(config, raw, fingerprint_of(config)));
}

Engine::Engine(const EngineConfig& config, wasm_engine_t* engine, std::string fingerprint)
    : config_(config),
      engine_(engine),
      fingerprint_(std::move(fingerprint)),
      park_linker_(new_park_linker(engine)) {
  if (!config_.cache_dir.empty()) {
    cache_ = std::make_unique<ModuleCache>(config_.cache_dir, fingerprint_);
  }
  if (config_.epoch_interruption) {
    // The clock every store's deadline is measured against. Stopping must not wait out
    // a whole tick, hence the condition variable rather than a sleep.
    epoch_clock_ =
        std::jthread([engine = engine_, tick = config_.epoch_tick](std::stop_token stop) {
          name_this_thread("gyre-epoch");
          std::mutex mutex;
          std::condition_variable_any wake;
          std::unique_lock lock(mutex);
          while (!wake.wait_for(lock, stop, tick, [] { return false; })) {
            if (stop.stop_requested()) break;
            wasmtime_engine_increment_epoch(engine);
          }
        });
  }
}

Engine::~Engine() {
  epoch_clock_ = {};  // joins before the engine goes away
  wasmtime_linker_delete(park_linker_);
  wasm_engine_delete(engine_);
}

uint64_t Engine::ticks_for(std::chrono::nanoseconds duration) const {
  const auto tick = std::chrono::duration_cast<std::chrono::nanoseconds>(config_.epoch_tick);
  // Round up, and add one: the current tick may be about to end.
  return static_cast<uint64_t>((duration.count() + tick.count() - 1) / tick.count()) + 1;
}

CompileCounters Engine::counters() const {
  return CompileCounters{compiled_.load(), cache_hits_.load()};
}

Result<Module> Engine::compile_uncached(std::span<const uint8_t> wasm) {
  wasmtime_module_t* module = nullptr;
  if (wasmtime_error_t* error = wasmtime_module_new(engine_, wasm.data(), wasm.size(), &module)) {
    return glue::take_error(error, ErrorKind::kCompile);
  }
  compiled_.fetch_add(1);
  return Module(module, false);
}

Result<Module> Engine::compile(std::span<const uint8_t> wasm) {
  if (!cache_) return compile_uncached(wasm);

  const std::string key = cache_->key(wasm);
  if (auto path = cache_->find(key)) {
    wasmtime_module_t* module = nullptr;
    // Deserializing from a file maps it, so the code pages are shared, not copied.
    // An entry Wasmtime refuses (another version, a torn file) is recompiled below.
    if (wasmtime_error_t* error =
            wasmtime_module_deserialize_file(engine_, path->c_str(), &module)) {
      wasmtime_error_delete(error);
    } else {
      cache_hits_.fetch_add(1);
      return Module(module, true);
    }
  }

  Result<Module> compiled = compile_uncached(wasm);
  if (!compiled) return compiled;
  wasm_byte_vec_t bytes;
  if (wasmtime_error_t* error = wasmtime_module_serialize(compiled->raw(), &bytes)) {
    return glue::take_error(error, ErrorKind::kCache);
  }
  std::string why;
  // A cache that cannot be written costs the next start a compile, nothing more.
  (void)cache_->store(key, {reinterpret_cast<const uint8_t*>(bytes.data), bytes.size}, &why);
  wasm_byte_vec_delete(&bytes);
  return compiled;
}

}  // namespace gyre::wasm
