// The Engine: Wasmtime's compiler and runtime configuration, its instance pools, the
// epoch clock that enforces deadlines, and the on-disk cache of compiled modules. `gyre up`
// makes one per server lane (network thread), each with its own instances, because
// threads sharing one engine slow each other down (its pools and the reference counts of
// its modules' code are written on every instantiation); the compile cache is shared.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "wasm/error.hpp"
#include "wasm/module_cache.hpp"
#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm {

class Module;

struct EngineConfig {
  // Pooling allocator: instance slots are reserved once, so instantiation is a slot
  // reuse rather than an mmap; with copy-on-write memory images a module's data
  // segments are mapped, not copied.
  bool pooling = true;
  uint32_t pool_instances = 1000;  // concurrent core instances (and tables)
  // Concurrent linear memories, and fiber stacks (one per guest call in flight); 0: as
  // many as pool_instances. A component has fewer memories than core instances.
  uint32_t pool_memories = 0;
  uint32_t pool_stacks = 0;
  uint64_t pool_max_memory_bytes = 4ull << 30;  // per linear memory
  // Bytes of each linear memory and table kept mapped when an instance ends, reset with
  // memset rather than returned to the kernel: madvise on a multi-threaded process costs
  // a TLB shootdown on every core, more than zeroing a few pages. Enough for a small
  // guest's whole memory (the C hello's is 128 KiB), so it never reaches madvise.
  uint64_t pool_keep_resident_bytes = 1 << 20;
  // Of those bytes, reset only the pages the instance wrote (the kernel's PAGEMAP_SCAN,
  // where it has it), not all of them.
  bool pool_reset_dirty_pages_only = true;
  // The same for tables. Wasmtime asks the kernel which pages were written (a system call
  // dearer than zeroing a page) unless this is one page and the table fits in it: then an
  // app whose tables all fit one page (component/core_tables.hpp) should say one page,
  // and an app with larger tables should keep them (decommitting one costs page faults).
  uint64_t pool_table_keep_resident_bytes = 1 << 20;
  // Slots whose memory is returned to the kernel together, one shootdown for the batch.
  uint32_t pool_decommit_batch = 1;

  // Deadlines are enforced by epoch interruption; the clock ticks every epoch_tick.
  bool epoch_interruption = true;
  std::chrono::milliseconds epoch_tick{10};

  // Compiled modules are kept here, keyed by content and configuration. Empty: no cache.
  std::filesystem::path cache_dir;

  bool parallel_compilation = true;
};

// How often compile() compiled and how often it loaded from the cache; a test's proof
// that a second start does not recompile.
struct CompileCounters {
  uint64_t compiled = 0;
  uint64_t cache_hits = 0;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> create(const EngineConfig& config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Compiles a binary module, or loads it from the cache when the same bytes were
  // compiled before under the same configuration.
  Result<Module> compile(std::span<const uint8_t> wasm);

  // Epoch ticks that cover at least the given duration.
  uint64_t ticks_for(std::chrono::nanoseconds duration) const;

  const EngineConfig& config() const { return config_; }
  CompileCounters counters() const;
  // Identifies the configuration that compiled code depends on; part of cache keys.
  const std::string& fingerprint() const { return fingerprint_; }
  wasm_engine_t* raw() const { return engine_; }
  // Holds the function a Fiber parks with (wasm/fiber.hpp).
  wasmtime_linker* park_linker() const { return park_linker_; }

 private:
  Engine(const EngineConfig& config, wasm_engine_t* engine, std::string fingerprint);
  Result<Module> compile_uncached(std::span<const uint8_t> wasm);

  EngineConfig config_;
  wasm_engine_t* engine_;
  std::string fingerprint_;
  wasmtime_linker* park_linker_;
  std::unique_ptr<ModuleCache> cache_;
  std::atomic<uint64_t> compiled_{0};
  std::atomic<uint64_t> cache_hits_{0};
  std::jthread epoch_clock_;
};

}  // namespace gyre::wasm
