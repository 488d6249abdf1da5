// The inside of component/instance.cpp, shared by the files that make it up: linking
// (component_pre.cpp, with the plan of plan.hpp), instantiation (instance.cpp) and the
// calls that cross between guest and host (canon_calls.cpp). Not for use elsewhere.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "component/abi.hpp"
#include "component/async_builtins.hpp"
#include "component/concurrency/concurrency.hpp"
#include "component/decode.hpp"
#include "component/handles.hpp"
#include "component/instance.hpp"
#include "component/layout.hpp"
#include "component/plan.hpp"
#include "component/shim_modules.hpp"
#include "wasm/caller.hpp"
#include "wasm/func.hpp"
#include "wasm/instance.hpp"
#include "wasm/linker.hpp"
#include "wasm/memory.hpp"
#include "wasm/module.hpp"
#include "wasm/reexport_module.hpp"

namespace gyre::component {

// A compiled core module and its imports, once per component.
struct PreModule {
  PreModule(uint64_t at, wasm::Module compiled) : offset(at), module(std::move(compiled)) {}
  uint64_t offset;
  wasm::Module module;
  std::vector<wasm::ImportDesc> imports;
  std::vector<wasm::ExportDesc> exports;
  // What wit-component's helper modules are (component/shim_modules.hpp).
  std::optional<IndirectShim> shim;
  std::optional<TableFixup> fixup;
  bool may_start = true;
  // exports[i] found without its name in any instance of the module; made from the first
  // instance (a handle needs one), then shared by every store.
  mutable std::once_flag handles_once;
  mutable std::vector<wasm::ExportHandle> handles;

  std::optional<uint32_t> export_position(std::string_view name) const {
    for (size_t i = 0; i < exports.size(); ++i) {
      if (exports[i].name == name) return static_cast<uint32_t>(i);
    }
    return std::nullopt;
  }
  void make_handles(wasmtime_context* store, const wasm::Instance& instance) const {
    std::call_once(handles_once, [&] {
      handles.reserve(exports.size());
      for (const auto& e : exports)
        handles.push_back(wasm::ExportHandle::find(store, instance, e.name));
    });
  }
};

// The name of an async function as wasm-tools up to 1.239 encoded it — "[async]f",
// "[async method]r.f", "[async static]r.f" — without its async marker ("f",
// "[method]r.f", "[static]r.f"); other names as they are. Hosts and callers name
// functions the later way, where async is part of the function's type.
inline std::string async_function_name(std::string_view name) {
  static constexpr std::string_view kPlain = "[async]";
  if (name.starts_with(kPlain)) return std::string(name.substr(kPlain.size()));
  static constexpr std::string_view kAsync = "[async ";  // of "[async method]", "[async static]"
  if (name.starts_with(kAsync)) return "[" + std::string(name.substr(kAsync.size()));
  return std::string(name);
}

// A component function: lifted from a core function of some frame, or the host's.
struct ComponentFunction {
  FunctionTypePtr type;
  const FlatSignature* sig = nullptr;  // lifted functions: the plan's (Plan::lift_sigs)
  // Lifted:
  Frame* frame = nullptr;
  std::optional<wasm::Func> core;
  StringEncoding encoding = StringEncoding::kUtf8;
  std::optional<wasm::Memory> memory;
  std::optional<wasm::Func> realloc;
  std::optional<wasm::Func> post_return;
  bool async = false;                  // lifted async: its result comes by task.return
  std::optional<wasm::Func> callback;  // ... driven by this callback (else stackful)
  // Host:
  const HostFunction* host = nullptr;
  std::string import_name;  // for the trap when the host lacks it
};

// The run-time state of one component instance (the top-level one, or a nested one):
// its resource handles, and whether it may be entered or may call out now.
struct Frame {
  const Component* component = nullptr;
  HandleTable handles;
  bool may_enter = true;
  bool may_leave = true;
};

// A guest's call of a component function through canon lower, in one store.
struct Lowering {
  const CanonPlan* plan = nullptr;
  ComponentInstance* instance = nullptr;
  Frame* caller = nullptr;
  const ComponentFunction* target = nullptr;
  std::optional<wasm::Memory> memory;
  std::optional<wasm::Func> realloc;

  // Lifts the guest's arguments and calls the target. The arguments go into the
  // instance's vector (its capacity kept from call to call), unless a call already uses
  // it: a host call that calls a guest that calls the host.
  std::optional<Val> call(const CanonContext& cx, std::span<const wasm::RawValue> flat,
                          std::shared_ptr<PendingCall>* deferred) {
    std::pmr::vector<Val> own;
    std::pmr::vector<Val>& args = instance->call_args_in_use_ ? own : instance->call_args_;
    struct InUse {
      bool& flag;
      bool was;
      ~InUse() { flag = was; }
    } in_use{instance->call_args_in_use_, instance->call_args_in_use_};
    instance->call_args_in_use_ = true;
    lift_params(cx, flat, *plan->type, plan->sig, args);
    std::optional<Val> result = instance->invoke(*target, args, deferred);
    args.clear();
    return result;
  }
};

struct Builtin {
  const CanonPlan* plan = nullptr;
  Frame* frame = nullptr;
  std::optional<wasm::Func> destructor;  // resource.drop of the component's own resource
  std::optional<wasm::Memory> memory;    // async built-ins' options
  std::optional<wasm::Func> realloc;
  Concurrency* concurrency = nullptr;  // async built-ins: the instance's
};

// The per-store state of one plan, made by its CanonStep.
struct CanonSlot : std::variant<Lowering, Builtin> {
  using variant::variant;
};

// A guest trap or engine error, carried through the ABI code to the call boundary.
struct GuestError {
  wasm::Error error;
};

[[noreturn]] inline void fail(std::string message) {
  throw AbiTrap{std::move(message)};
}

inline wasm::FuncType core_type(const std::vector<CoreKind>& params,
                                const std::vector<CoreKind>& results) {
  return wasm::FuncType{params, results};
}

template <class Space>
inline const auto& at(const Space& space, uint32_t index, const char* what) {
  if (index >= space.size()) {
    fail(std::string(what) + " index " + std::to_string(index) + " out of range");
  }
  return space[index];
}

// A task of a function lifted async with a callback (async_tasks.cpp): what it waits on
// between its callback's calls.
struct AsyncTask {
  uint64_t id = 0;
  bool cancel_requested = false;  // TASK_CANCELLED is due at its next turn
  const ComponentFunction* fn = nullptr;
  TaskState state;
  std::vector<Val> args;  // while it waits to start
  ComponentInstance::OnExit on_exit;
  bool running = false;          // its core code is on the stack now
  uint32_t code = 0;             // what its last call returned: EXIT, YIELD or WAIT
  WaitableSet* waits = nullptr;  // WAIT's set (the guest cannot drop it meanwhile)

  void stop_waiting() {
    if (waits != nullptr) --waits->waiting;
    waits = nullptr;
  }
};

inline wasm::Error poisoned_error() {
  return wasm::Error(wasm::ErrorKind::kUsage,
                     "this component instance trapped earlier and may not be called again");
}

// Runs `body`; a trap in it (an ABI violation or the guest's own) poisons the instance,
// ends every task with the error, and is returned.
template <class F>
Result<void, wasm::Error> ComponentInstance::guarded(F&& body) {
  std::optional<wasm::Error> error;
  try {
    body();
    return {};
  } catch (const AbiTrap& trap) {
    error = wasm::Error(wasm::ErrorKind::kTrap, trap.message);
  } catch (GuestError& guest) {
    error = std::move(guest.error);
  }
  poisoned_ = true;
  fail_tasks(*error);
  return std::move(*error);
}

// The entry point of every core function made from a plan (canon_calls.cpp). Defined
// once in the plan's Linker, it finds its per-store state through the Store's data (the
// ComponentInstance).
struct CanonCalls {
  static wasm::HostResult shared(void* env, wasm::Caller& caller, std::span<wasm::RawValue> slots);
};

// The core signature of a plan's function.
wasm::FuncType core_signature(const CanonPlan& plan);

}  // namespace gyre::component
