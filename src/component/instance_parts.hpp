// The inside of component/instance.cpp, shared by the files that make it up: the
// per-component plan (link_plan.cpp), instantiation (instance.cpp) and the calls that
// cross between guest and host (canon_calls.cpp). Not for use elsewhere.
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

struct RuntimeInstance;
struct ComponentDef;
// An item of a component's index spaces while it is instantiated. Plain pointers, so that
// passing items around costs no reference counting: types and host items live in the
// ComponentPre, everything made per instance in the ComponentInstance.
using RuntimeItem = std::variant<const ComponentFunction*, const RuntimeInstance*, const AnyType*,
                                 const ComponentDef*, const PreModule*>;

struct RuntimeInstance {
  RuntimeInstance() = default;
  explicit RuntimeInstance(std::pmr::memory_resource* arena) : exports(arena) {}
  // Names point into the component's decoded definitions or the host's types, which
  // outlive every instance.
  std::pmr::vector<std::pair<std::string_view, RuntimeItem>> exports;
  // By its name, or by the name without the `[async]` prefix it may carry
  // (async_function_name).
  const RuntimeItem* find(std::string_view name) const {
    for (const auto& [n, item] : exports) {
      if (n == name) return &item;
    }
    for (const auto& [n, item] : exports) {
      if (async_function_name(n) == name) return &item;
    }
    return nullptr;
  }
};

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

struct ComponentDef {
  const Component* component;
  const ResolvedComponent* resolved;
  Frame* parent;
};

// A core instance: instantiated from a module, or bundled from inline exports (read from
// the frame's index spaces when asked for, so items nobody asks for are never made).
struct CoreInstanceRT {
  std::optional<wasm::Instance> instance;
  const std::vector<CoreInlineExport>* bundle = nullptr;
  // What it was made from (its PreModule, or its definition's inline exports): export
  // positions worked out once per component are valid for instances of the same shape.
  const void* shape = nullptr;
};

struct CanonPlan;

// The index spaces of one instantiated component.
struct Frame {
  explicit Frame(std::pmr::memory_resource* arena)
      : core_modules(arena),
        core_instances(arena),
        core_funcs(arena),
        core_tables(arena),
        core_memories(arena),
        core_globals(arena),
        pending_funcs(arena),
        types(arena),
        funcs(arena),
        instances(arena),
        components(arena),
        exports(arena) {}
  Frame* parent = nullptr;
  const Component* component = nullptr;
  HandleTable handles;
  bool may_enter = true;
  bool may_leave = true;
  size_t nested_seen = 0;
  std::pmr::vector<const PreModule*> core_modules;
  std::pmr::vector<CoreInstanceRT> core_instances;
  std::pmr::vector<wasm::Extern> core_funcs, core_tables, core_memories, core_globals;
  // Beside core_funcs: the canon plan of a function not fetched from the store yet.
  std::pmr::vector<const CanonPlan*> pending_funcs;
  std::pmr::vector<const AnyType*> types;
  std::pmr::vector<const ComponentFunction*> funcs;
  std::pmr::vector<const RuntimeInstance*> instances;
  std::pmr::vector<const ComponentDef*> components;
  std::pmr::vector<std::pair<std::string_view, RuntimeItem>> exports;

  // The sizes of the index spaces, which every instantiation of one component reaches
  // alike: remembered after one, reserved before the next.
  struct Sizes {
    std::atomic<uint32_t> of[12] = {};
  };
  template <class F>
  void for_each_space(F f) {
    f(core_modules);
    f(core_instances);
    f(core_funcs);
    f(core_tables);
    f(core_memories);
    f(core_globals);
    f(pending_funcs);
    f(types);
    f(funcs);
    f(instances);
    f(components);
    f(exports);
  }
  void reserve(const Sizes& sizes) {
    size_t i = 0;
    for_each_space(
        [&](auto& space) { space.reserve(sizes.of[i++].load(std::memory_order_relaxed)); });
  }
  void remember(Sizes& sizes) {
    size_t i = 0;
    // Stored only when changed: the threads instantiating one component all read these,
    // and a write on every instantiation would move the cache line between their cores.
    for_each_space([&](auto& space) {
      auto& size = sizes.of[i++];
      const auto now = static_cast<uint32_t>(space.size());
      if (size.load(std::memory_order_relaxed) != now) size.store(now, std::memory_order_relaxed);
    });
  }
};

// What a ComponentInstance owns besides its frames: the functions it lifted, the instances
// its frames made, and the nested components they defined, all in its arena.
struct InstanceItems {
  explicit InstanceItems(std::pmr::memory_resource* arena)
      : funcs(arena), instances(arena), components(arena) {}
  std::optional<wasm::Instance> canon;  // every plan's function (Plan::canon_pre)
  std::pmr::vector<ArenaPtr<ComponentFunction>> funcs;
  std::pmr::vector<ArenaPtr<RuntimeInstance>> instances;
  std::pmr::vector<ArenaPtr<ComponentDef>> components;
};

// What every instance shares about one canon lower or built-in.
struct CanonPlan {
  enum Kind { kLower, kResourceNew, kResourceDrop, kResourceRep, kAsyncBuiltin } kind;
  uint32_t id;
  std::string name;      // under which the plan's core function is defined in Plan::linker
  FunctionTypePtr type;  // lower: the lowered function's type
  FlatSignature sig;     // lower: its core signature
  StringEncoding encoding = StringEncoding::kUtf8;
  bool async = false;    // lower: `canon lower async` (returns the subtask's status)
  ResourcePtr resource;  // resource built-ins
  const HostResourceDrop* host_drop = nullptr;  // resource.drop of a host resource
  const CanonBuiltin* builtin = nullptr;        // async built-ins
  ValueTypePtr channel;                         // ... of a stream or future: its type
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

// The per-store state of one plan.
struct CanonSlot {
  bool used = false;
  Lowering lowering;
  Builtin builtin;
};

// Where one core item comes from: an export of an earlier core instance of the same frame,
// by position, valid while that instance has the shape it had when this was worked out.
struct CoreSource {
  uint32_t instance;
  uint32_t position;
  const void* shape;
};

// The imports of one core instantiation, resolved once per component when the module
// and the instances it draws on are known without instantiating.
struct CoreImports {
  const PreModule* module;
  std::vector<CoreSource> imports;
};

struct Plan {
  explicit Plan(wasm::Engine& engine) : linker(engine) {}
  std::unordered_map<const void*, CoreImports> core_imports;  // by CoreInstance definition
  std::unordered_map<const void*, CoreSource> core_aliases;   // by Alias definition
  // Every canon plan's function for a store in one instantiation of a module that
  // re-exports them (wasm/reexport_module.hpp), found by handle rather than by name.
  std::optional<wasm::InstancePre> canon_pre;
  // The shim bypass (plan_shim_bypass), by definition address: shim instances not made,
  // fixups not made (with the start function to call in their place), aliases of shim
  // functions that are lowered functions, and instances made from an InstancePre.
  std::unordered_set<const void*> skipped_instances;
  std::unordered_map<const void*, std::optional<CoreSource>> fixups;
  std::unordered_map<const void*, const CanonPlan*> alias_plans;
  std::vector<std::unique_ptr<wasm::Linker>> linkers;
  std::unordered_map<const void*, wasm::InstancePre> prepared;
  // All of the above by component and definition index (index_definitions), so that
  // instantiating looks nothing up by address.
  struct ComponentPlan {
    std::vector<struct DefinitionPlan> definitions;
    Frame::Sizes sizes;
  };
  std::unordered_map<const Component*, ComponentPlan> components;
  std::once_flag canon_handles_once;
  std::vector<wasm::ExportHandle> canon_handles;  // by plan id
  wasm::Linker linker;
  std::vector<std::unique_ptr<CanonPlan>> canon;
  std::unordered_map<const void*, const CanonPlan*> canon_of;  // by Canon definition address
  std::unordered_map<const void*, FlatSignature> lift_sigs;    // by CanonLift definition address
  std::unordered_map<const void*, RuntimeItem> host_items;     // by top-level Import address
  // What host_items point to.
  std::vector<std::unique_ptr<ComponentFunction>> host_funcs;
  std::vector<std::unique_ptr<RuntimeInstance>> host_instances;
};

// What the plan knows about one definition of a component.
struct DefinitionPlan {
  const CanonPlan* canon = nullptr;                  // a canon lower or resource built-in
  const FlatSignature* lift_sig = nullptr;           // a canon lift
  const CoreImports* imports = nullptr;              // a core instantiation
  const wasm::InstancePre* prepared = nullptr;       // ... made from an InstancePre
  bool skipped = false;                              // ... of a bypassed shim
  const std::optional<CoreSource>* fixup = nullptr;  // ... of a bypassed fixup (its start)
  const CoreSource* alias = nullptr;                 // an aliased core export
  const CanonPlan* alias_plan = nullptr;             // ... of a bypassed shim's function
  const RuntimeItem* host_item = nullptr;            // a top-level import
  // The top-level component's item that is the same in every instance (a type, a host
  // import or what is aliased from one, a core module): pushed without running the
  // definition (plan_fixed_items).
  std::optional<RuntimeItem> fixed;
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

inline wasm::ExternKind extern_kind(CoreSort sort) {
  switch (sort) {
    case CoreSort::kTable:
      return wasm::ExternKind::kTable;
    case CoreSort::kMemory:
      return wasm::ExternKind::kMemory;
    case CoreSort::kGlobal:
      return wasm::ExternKind::kGlobal;
    case CoreSort::kTag:
      return wasm::ExternKind::kTag;
    default:
      return wasm::ExternKind::kFunc;
  }
}

// The argument of a core instantiation named `name`.
inline const CoreInstantiateArg* argument(const CoreInstantiate& inst, std::string_view name) {
  const CoreInstantiateArg* found = nullptr;
  for (const auto& a : inst.args) {
    if (a.name == name) found = &a;
  }
  return found;
}

inline std::pmr::vector<wasm::Extern>& core_space(Frame& frame, wasm::ExternKind kind) {
  switch (kind) {
    case wasm::ExternKind::kTable:
      return frame.core_tables;
    case wasm::ExternKind::kMemory:
      return frame.core_memories;
    case wasm::ExternKind::kGlobal:
      return frame.core_globals;
    default:
      return frame.core_funcs;
  }
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

// Entry points for core functions made from plans (canon_calls.cpp). Defined once in the
// plan's Linker, they find their per-store state through the Store's data (the
// ComponentInstance); made per store (the rare second instantiation of a nested
// component), they carry it directly.
struct CanonCalls {
  static wasm::HostResult shared(void* env, wasm::Caller& caller, std::span<wasm::RawValue> slots);
  static wasm::HostResult lowering(void* env, wasm::Caller& caller,
                                   std::span<wasm::RawValue> slots);
  static wasm::HostResult builtin(void* env, wasm::Caller& caller, std::span<wasm::RawValue> slots);
};

// The core signature of a plan's function.
wasm::FuncType core_signature(const CanonPlan& plan);

// The host's implementation of a top-level import, kept in `plan` (link_plan.cpp).
RuntimeItem host_item(const HostImports& host, const std::string& name, ExternKind kind,
                      const AnyType& type, Plan& plan);

}  // namespace gyre::component
