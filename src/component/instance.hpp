// Instantiating components and calling them.
//
// A ComponentPre is made once per component (per app): it decodes the binary, resolves its
// types, compiles every core module (through the engine's compile cache), checks that the
// host provides every import, and compiles the definitions into a flat list of steps
// (component/plan.hpp). ComponentPre::instantiate then only runs those steps in a fresh
// Store: the per-request part.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "base/result.hpp"
#include "component/host_imports.hpp"
#include "component/model.hpp"
#include "component/types.hpp"
#include "component/value.hpp"
#include "wasm/engine.hpp"
#include "wasm/error.hpp"
#include "wasm/instance.hpp"
#include "wasm/store.hpp"
#include "wasm/value.hpp"

namespace gyre::component {

class ComponentInstance;
class Concurrency;
struct AsyncTask;
struct ComponentFunction;
struct Frame;
struct PreModule;

struct LinkOptions {
  // Imports the host does not provide become functions that trap when called, instead
  // of failing the link (for components that import more than they use).
  bool trap_on_missing_imports = false;
};

class ComponentPre {
 public:
  // Decodes, compiles and links `bytes`, which it does not keep: what an instance needs
  // (compiled modules, types, the plan) is taken out of them here. `host` it does keep
  // (pointers to its functions): it must outlive the ComponentPre and every instance.
  static Result<std::shared_ptr<const ComponentPre>, std::string> create(
      wasm::Engine& engine, std::span<const uint8_t> bytes, const HostImports& host,
      LinkOptions options = {});
  ~ComponentPre();

  Result<std::unique_ptr<ComponentInstance>, wasm::Error> instantiate(wasm::Store& store) const;

  const ComponentTypeInfo& types() const { return resolved_.info; }
  // Imports the host does not provide (empty unless trap_on_missing_imports).
  const std::vector<std::string>& missing_imports() const { return missing_; }

 private:
  friend class Instantiator;
  ComponentPre() = default;

  Component component_;
  ResolvedComponent resolved_;
  std::vector<std::unique_ptr<PreModule>> modules_;  // by the module's byte offset, sorted
  const HostImports* host_ = nullptr;
  std::vector<std::string> missing_;
  // Everything about canon definitions and host imports that is the same for every
  // instance: worked out once here so instantiate() only allocates per-store state.
  std::unique_ptr<struct Plan> plan_;

  const PreModule* module_at(uint64_t offset) const;
};

// A component instance living in one Store. Destroy it before the Store, and do not use
// it from two threads at once.
class ComponentInstance {
 public:
  ~ComponentInstance();

  // An exported function: a top-level one ("greet"), or one of an exported instance
  // ("wasi:http/incoming-handler@0.2.3", "handle").
  const ComponentFunction* function(std::string_view name) const;
  const ComponentFunction* function(std::string_view instance, std::string_view name) const;
  const FunctionType& type_of(const ComponentFunction& function) const;

  // Calls a function: arguments are lowered into the guest, the result is lifted out, and
  // post-return runs. A trap in the guest or an ABI violation is an Error, and the
  // instance must not be called again after one (as the canonical ABI requires).
  //
  // A function lifted async hands its result over with task.return, possibly before its
  // core function is done; `on_return` then gets it at once, while the guest goes on
  // (a response whose body it keeps writing). call() returns when the task has exited.
  Result<std::optional<Val>, wasm::Error> call(
      const ComponentFunction& function, std::span<const Val> args,
      std::function<void(const std::optional<Val>&)> on_return = nullptr);

  // Starts a call of a function lifted async with a callback, and returns once its task
  // first waits or exits: the task then goes on whenever drive() runs, side by side with
  // the other tasks started here (each waits on its own set; one runs at a time). A task
  // started while the guest applies backpressure starts once it stops. `on_return` gets
  // the result (task.return); `on_exit` runs when the task exits, with the error when the
  // instance trapped instead (then every task exits with it). Returns the task's id.
  using OnReturn = std::function<void(const std::optional<Val>&)>;
  using OnExit = std::function<void(const std::optional<wasm::Error>&)>;
  Result<uint64_t, wasm::Error> start(const ComponentFunction& function, std::span<const Val> args,
                                      OnReturn on_return, OnExit on_exit);
  // Asks task `id` to stop (its caller went away): a task not started yet exits at once;
  // one that waits gets a TASK_CANCELLED event at its next turn and may end with
  // task.cancel, without a result. Nothing happens for a task that has exited.
  void cancel(uint64_t id);
  // Runs the started tasks as their events arrive, until `done()` holds. Waiting for
  // events suspends the guest's fiber, as any wait of the guest does.
  Result<void, wasm::Error> drive(const std::function<bool()>& done);

  // The instance's component-model async state (component/concurrency/concurrency.hpp):
  // its scheduler, the streams and futures passed to and from the host.
  Concurrency& concurrency() { return *concurrency_; }

  wasmtime_context* store() const { return store_; }

  // The embedder's per-store state, for host functions (HostCall::instance). The
  // instance itself occupies the Store's data slot.
  void* user_data() const { return user_data_; }
  void set_user_data(void* data) { user_data_ = data; }

  // Host state that lives as long as this instance, one object per type, made on first
  // use (resource tables of host-implemented resources, for example).
  template <class T>
  T& host_state() {
    const std::type_info& type = typeid(T);
    // A handful of types per instance, asked for on every host call: a linear search by
    // type_info address, then by type_info equality (types from another shared object).
    for (auto& [t, state] : host_state_) {
      if (t == &type) return *static_cast<T*>(state.get());
    }
    for (auto& [t, state] : host_state_) {
      if (*t == type) return *static_cast<T*>(state.get());
    }
    auto& added = host_state_.emplace_back(
        &type, HostState(new T(), [](void* state) { delete static_cast<T*>(state); }));
    return *static_cast<T*>(added.second.get());
  }

 private:
  friend class Instantiator;
  friend class ComponentPre;
  friend struct Lowering;
  friend struct CanonCalls;
  explicit ComponentInstance(wasmtime_context* store);
  static constexpr size_t kArenaBlock = 8192;  // a small component's instantiation fits

  std::optional<Val> invoke(const ComponentFunction& function, std::span<const Val> args,
                            std::shared_ptr<PendingCall>* deferred = nullptr);
  std::optional<Val> invoke_host(const ComponentFunction& function, std::span<const Val> args,
                                 std::shared_ptr<PendingCall>* deferred);
  template <class F>
  Result<void, wasm::Error> guarded(F&& body);
  std::optional<Val> invoke_callback_task(const ComponentFunction& function,
                                          std::span<const Val> args,
                                          std::shared_ptr<PendingCall>* deferred);
  // start() and drive() without the trap boundary, for calls already inside one.
  uint64_t start_task(const ComponentFunction& function, std::span<const Val> args,
                      OnReturn on_return, OnExit on_exit);
  void drive_tasks(const std::function<bool()>& done);
  AsyncTask* find_task(uint64_t id);
  void begin(std::unique_ptr<AsyncTask> task, std::span<const Val> args);
  void run_core(AsyncTask& task, bool callback, std::span<wasm::RawValue> slots);
  // One task's turn: a task waiting to start starts, or one with an event (or yielding)
  // has its callback called. False when none can go on now.
  bool advance();
  bool step();
  void fail_tasks(const wasm::Error& error);

  wasmtime_context* store_;
  // Before the frames, so that it outlives the stream ends their handle tables hold.
  std::unique_ptr<Concurrency> concurrency_;
  std::function<void(const std::optional<Val>&)> on_return_;  // of the call() running
  // Tasks of functions lifted async with a callback: running, and waiting to start.
  std::vector<std::unique_ptr<AsyncTask>> tasks_;
  std::vector<std::unique_ptr<AsyncTask>> tasks_to_start_;
  size_t next_task_ = 0;  // where step() looks first, so that tasks take turns
  uint64_t next_task_id_ = 1;
  void* user_data_ = nullptr;
  // What instantiating makes (see below) lives in this arena: in the block inside the
  // instance while it fits, and is freed with the instance at once.
  alignas(std::max_align_t) std::byte arena_block_[kArenaBlock];
  std::pmr::monotonic_buffer_resource arena_{arena_block_, sizeof arena_block_};
  using HostState = std::unique_ptr<void, void (*)(void*)>;
  std::pmr::vector<std::pair<const std::type_info*, HostState>> host_state_{&arena_};
  bool poisoned_ = false;
  // The lifted arguments of the host call running (run_lowering), capacity kept.
  std::pmr::vector<Val> call_args_{&arena_};
  bool call_args_in_use_ = false;
  const struct Plan* plan_ = nullptr;  // the ComponentPre's, for the exports
  // What the plan's steps make, in the arena, sized once: the state of each component
  // instance (frames_[0] is the top-level one), the core instances, the lifted functions,
  // the core items of their options, and the per-store state of each canon lowering and built-in
  // (by plan id). Their element types are complete only in instance.cpp: its constructor gives them
  // the arena.
  std::pmr::vector<Frame> frames_;
  std::pmr::vector<std::optional<wasm::Instance>> core_instances_{&arena_};
  std::pmr::vector<ComponentFunction> lifted_;
  std::pmr::vector<wasm::Extern> extracted_;  // core items canon options use
  std::pmr::vector<struct CanonSlot> slots_;
  std::optional<wasm::Instance> canon_;  // every canon plan's function (Plan::canon_pre)
};

}  // namespace gyre::component
