#include "component/instance.hpp"

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
  const RuntimeItem* find(std::string_view name) const {
    for (const auto& [n, item] : exports) {
      if (n == name) return &item;
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

namespace {

// A guest trap or engine error, carried through the ABI code to the call boundary.
struct GuestError {
  wasm::Error error;
};

[[noreturn]] void fail(std::string message) {
  throw AbiTrap{std::move(message)};
}

wasm::FuncType core_type(const std::vector<CoreKind>& params,
                         const std::vector<CoreKind>& results) {
  return wasm::FuncType{params, results};
}

template <class Space>
const auto& at(const Space& space, uint32_t index, const char* what) {
  if (index >= space.size()) {
    fail(std::string(what) + " index " + std::to_string(index) + " out of range");
  }
  return space[index];
}

wasm::ExternKind extern_kind(CoreSort sort) {
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
const CoreInstantiateArg* argument(const CoreInstantiate& inst, std::string_view name) {
  const CoreInstantiateArg* found = nullptr;
  for (const auto& a : inst.args) {
    if (a.name == name) found = &a;
  }
  return found;
}

std::pmr::vector<wasm::Extern>& core_space(Frame& frame, wasm::ExternKind kind) {
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

}  // namespace

// ---- the host's side of lowered calls ---------------------------------------------------

namespace {

// An async-lowered call the host finishes later: the guest gets a subtask now, and an
// event when the result is in its memory.
void start_subtask(Lowering& lowering, std::shared_ptr<PendingCall> pending,
                   std::span<wasm::RawValue> slots) {
  const CanonPlan& plan = *lowering.plan;
  Concurrency& concurrency = lowering.instance->concurrency();
  auto subtask = std::make_shared<Subtask>();
  HandleEntry entry;
  entry.kind = HandleKind::kSubtask;
  entry.object = subtask;
  auto index = lowering.caller->handles.add(std::move(entry));
  if (!index) fail("the handle table is full");
  subtask->request_cancel = [weak = std::weak_ptr<PendingCall>(pending)] {
    if (auto p = weak.lock()) p->request_cancel();
  };
  // The flat parameters end with the out-pointer the result goes to.
  std::vector<wasm::RawValue> params(slots.begin(), slots.begin() + plan.sig.params.size());
  concurrency.scheduler.hold();
  pending->set_deliver([&lowering, &concurrency, weak = std::weak_ptr<Subtask>(subtask),
                        params = std::move(params)](PendingCall::Outcome outcome) mutable {
    concurrency.scheduler.release();
    std::shared_ptr<Subtask> s = weak.lock();
    if (!s) return;  // the guest is gone
    if (outcome.kind == PendingCall::Outcome::kFailed)
      fail(lowering.target->import_name + ": " + outcome.error);
    if (outcome.kind == PendingCall::Outcome::kReturned) {
      const CanonPlan& p = *lowering.plan;
      CanonContext cx{lowering.instance->store(), p.encoding, lowering.memory, lowering.realloc,
                      &lowering.caller->handles,  nullptr,    &concurrency};
      lower_result(cx, outcome.result, *p.type, p.sig, params);
      s->state = Subtask::kReturned;
    } else {
      s->state = Subtask::kCancelledBeforeReturned;
    }
    Subtask* raw = s.get();
    s->set_pending_event([raw] {
      raw->resolve_delivered = true;
      return Event{EventCode::kSubtask, raw->index, raw->state};
    });
  });
  slots[0] = wasm::RawValue::from_i32(static_cast<int32_t>(Subtask::kStarted | (*index << 4)));
}

wasm::HostResult run_lowering(Lowering& lowering, wasm::Caller& caller,
                              std::span<wasm::RawValue> slots) {
  const CanonPlan& plan = *lowering.plan;
  try {
    if (!lowering.caller->may_leave) fail("a component may not call imports during post-return");
    CanonContext cx{caller.context(),
                    plan.encoding,
                    lowering.memory,
                    lowering.realloc,
                    &lowering.caller->handles,
                    nullptr,
                    &lowering.instance->concurrency()};
    std::shared_ptr<PendingCall> deferred;
    std::optional<Val> result = lowering.call(cx, slots.subspan(0, plan.sig.params.size()),
                                              plan.async ? &deferred : nullptr);
    if (deferred) {
      start_subtask(lowering, std::move(deferred), slots);
      return std::nullopt;
    }
    cx.forget_memory();  // the call may have run a guest
    lower_result(cx, result, *plan.type, plan.sig, slots);
    // The call has finished: the subtask is RETURNED before the guest could see it.
    if (plan.async) slots[0] = wasm::RawValue::from_i32(Subtask::kReturned);
    return std::nullopt;
  } catch (const AbiTrap& trap) {
    return wasm::HostTrap{trap.message};
  } catch (const GuestError& error) {
    return wasm::HostTrap{error.error.describe()};
  }
}

wasm::HostResult run_builtin(Builtin& b, wasm::Caller& caller, std::span<wasm::RawValue> slots) {
  const CanonPlan& plan = *b.plan;
  if (plan.kind == CanonPlan::kAsyncBuiltin) {
    if (!b.frame->may_leave) return wasm::HostTrap{"a component may not call built-ins now"};
    CanonContext cx{caller.context(),  plan.builtin->options.string_encoding,
                    b.memory,          b.realloc,
                    &b.frame->handles, b.frame->component,
                    b.concurrency};
    try {
      run_async_builtin(*plan.builtin, plan.channel.get(), cx, *b.concurrency, slots);
    } catch (const AbiTrap& trap) {
      return wasm::HostTrap{trap.message};
    } catch (const GuestError& error) {  // posted host work that ran the guest's realloc
      return wasm::HostTrap{error.error.describe()};
    }
    return std::nullopt;
  }
  const auto index = static_cast<uint32_t>(slots[0].i32);
  if (plan.kind == CanonPlan::kResourceNew) {
    auto added = b.frame->handles.add(HandleEntry{plan.resource.get(), index, true, 0});
    if (!added) return wasm::HostTrap{"resource.new: the handle table is full"};
    slots[0] = wasm::RawValue::from_i32(static_cast<int32_t>(*added));
    return std::nullopt;
  }
  HandleEntry* entry = b.frame->handles.get(index);
  if (entry == nullptr || entry->resource != plan.resource.get()) {
    return wasm::HostTrap{"resource handle " + std::to_string(index) +
                          " is not a handle of this resource"};
  }
  if (plan.kind == CanonPlan::kResourceRep) {
    slots[0] = wasm::RawValue::from_i32(static_cast<int32_t>(entry->rep));
    return std::nullopt;
  }
  if (entry->lends != 0) return wasm::HostTrap{"resource.drop: handle is still lent out"};
  const HandleEntry dropped = *b.frame->handles.remove(index);
  if (dropped.lent_for_call) --b.frame->handles.outstanding_borrows;
  if (dropped.own && b.destructor) {
    wasm::RawValue arg[1] = {wasm::RawValue::from_i32(static_cast<int32_t>(dropped.rep))};
    auto called = b.destructor->call_raw(caller.context(), arg);
    if (!called) return wasm::HostTrap{"resource destructor trapped: " + called.error().describe()};
  } else if (dropped.own && plan.host_drop != nullptr) {
    HostCall call{caller.context(), *static_cast<ComponentInstance*>(caller.data())};
    (*plan.host_drop)(call, dropped.rep);
  }
  return std::nullopt;
}

}  // namespace

// Entry points for core functions made from plans. Defined once in the plan's Linker, they
// find their per-store state through the Store's data (the ComponentInstance); made per
// store (the rare second instantiation of a nested component), they carry it directly.
struct CanonCalls {
  static CanonSlot& slot(wasm::Caller& caller, const CanonPlan& plan) {
    return static_cast<ComponentInstance*>(caller.data())->slots_[plan.id];
  }
  static wasm::HostResult shared(void* env, wasm::Caller& caller, std::span<wasm::RawValue> slots) {
    const auto& plan = *static_cast<const CanonPlan*>(env);
    CanonSlot& s = slot(caller, plan);
    if (plan.kind == CanonPlan::kLower) return run_lowering(s.lowering, caller, slots);
    return run_builtin(s.builtin, caller, slots);
  }
  static wasm::HostResult lowering(void* env, wasm::Caller& caller,
                                   std::span<wasm::RawValue> slots) {
    return run_lowering(*static_cast<Lowering*>(env), caller, slots);
  }
  static wasm::HostResult builtin(void* env, wasm::Caller& caller,
                                  std::span<wasm::RawValue> slots) {
    return run_builtin(*static_cast<Builtin*>(env), caller, slots);
  }
};

namespace {

wasm::FuncType core_signature(const CanonPlan& plan) {
  const std::vector<CoreKind> i32{CoreKind::kI32};
  switch (plan.kind) {
    case CanonPlan::kLower:
      return core_type(plan.sig.params, plan.sig.results);
    case CanonPlan::kResourceDrop:
      return core_type(i32, {});
    case CanonPlan::kAsyncBuiltin:
      return *async_builtin_signature(*plan.builtin, plan.channel.get());
    default:
      return core_type(i32, i32);
  }
}

// The host's implementation of a top-level import, kept in `plan`.
RuntimeItem host_item(const HostImports& host, const std::string& name, ExternKind kind,
                      const AnyType& type, Plan& plan) {
  if (kind == ExternKind::kFunc) {
    auto& fn = plan.host_funcs.emplace_back(std::make_unique<ComponentFunction>());
    fn->type = std::get<FunctionTypePtr>(type);
    fn->host = host.find_function(name);
    fn->import_name = name;
    return fn.get();
  }
  if (kind != ExternKind::kInstance) return &type;
  const HostInterface* interface = host.find(name);
  auto& rt = plan.host_instances.emplace_back(std::make_unique<RuntimeInstance>());
  for (const auto& e : std::get<std::shared_ptr<const InstanceTypeInfo>>(type)->exports) {
    if (e.kind == ExternKind::kFunc) {
      auto& fn = plan.host_funcs.emplace_back(std::make_unique<ComponentFunction>());
      fn->type = std::get<FunctionTypePtr>(e.type);
      if (interface != nullptr) {
        auto it = interface->functions.find(e.name);
        if (it != interface->functions.end()) fn->host = &it->second;
      }
      fn->import_name = name + "#" + e.name;
      rt->exports.emplace_back(e.name, fn.get());
    } else {
      rt->exports.emplace_back(e.name, &e.type);
    }
  }
  return rt.get();
}

}  // namespace

// ---- instantiation -------------------------------------------------------------------------

class Instantiator {
 public:
  Instantiator(const ComponentPre& pre, ComponentInstance& out) : pre_(pre), out_(out) {}

  // Runs a component's definitions in a new frame; `args` feed its imports (the host's
  // for the top-level component).
  Frame& run(const Component& component, const ResolvedComponent& resolved, Frame* parent,
             const std::pmr::vector<std::pair<std::string_view, RuntimeItem>>* args) {
    out_.frames_.push_back(make_in<Frame>(out_.arena_, &out_.arena_));
    Frame& frame = *out_.frames_.back();
    frame.parent = parent;
    frame.component = &component;
    Plan::ComponentPlan& component_plan = pre_.plan_->components.at(&component);
    const std::vector<DefinitionPlan>& plans = component_plan.definitions;
    frame.reserve(component_plan.sizes);
    for (size_t i = 0; i < component.definitions.size(); ++i) {
      const AnyType& annotation = resolved.definition_types[i];
      current_ = &plans[i];  // for this definition only: a nested run replaces it
      if (current_->fixed) {
        push(frame, *current_->fixed);
        continue;
      }
      std::visit([&](const auto& d) { define(frame, resolved, annotation, args, d); },
                 component.definitions[i]);
    }
    frame.remember(component_plan.sizes);
    return frame;
  }

 private:
  wasmtime_context* store() const { return out_.store_; }

  // ---- core definitions ----

  void define(Frame& frame, const ResolvedComponent&, const AnyType&, const auto*,
              const CoreModule& module) {
    const PreModule* pre = pre_.module_at(module.bytes.offset);
    if (pre == nullptr)
      fail("core module at " + std::to_string(module.bytes.offset) + " was not compiled");
    frame.core_modules.push_back(pre);
  }

  void define(Frame& frame, const ResolvedComponent&, const AnyType&, const auto*,
              const CoreInstance& instance) {
    if (bypassed(frame)) return;
    CoreInstanceRT rt;
    if (auto* inst = std::get_if<CoreInstantiate>(&instance.expr)) {
      const PreModule* module = at(frame.core_modules, inst->module, "core module");
      if (const wasm::InstancePre* prepared = current_->prepared) {
        auto created = prepared->instantiate(store());
        if (!created) throw GuestError{std::move(created).error()};
        rt.instance = *created;
        rt.shape = module;
        module->make_handles(store(), *created);
        frame.core_instances.push_back(std::move(rt));
        return;
      }
      std::vector<wasm::Extern> imports;
      imports.reserve(module->imports.size());
      if (!resolved_imports(frame, module, imports)) imports.clear();
      for (size_t i = imports.size(); i < module->imports.size(); ++i) {
        const wasm::ImportDesc& import = module->imports[i];
        const CoreInstantiateArg* arg = argument(*inst, import.module);
        if (arg == nullptr) fail("core module import \"" + import.module + "\" has no argument");
        auto item = core_export(frame, arg->instance, import.name);
        if (!item)
          fail("core instance \"" + import.module + "\" exports no \"" + import.name + "\"");
        if (item->kind != import.kind)
          fail("core import \"" + import.module + "\" \"" + import.name + "\" has another kind");
        imports.push_back(*item);
      }
      auto created = wasm::Instance::create(store(), module->module, imports);
      if (!created) throw GuestError{std::move(created).error()};
      rt.instance = *created;
      rt.shape = module;
      module->make_handles(store(), *created);
    } else {
      const auto& inline_exports = std::get<std::vector<CoreInlineExport>>(instance.expr);
      for (const auto& e : inline_exports) {
        if (e.item.index >= core_space(frame, extern_kind(e.item.sort)).size())
          fail("core item index " + std::to_string(e.item.index) + " out of range");
      }
      rt.bundle = &inline_exports;
      rt.shape = &inline_exports;
    }
    frame.core_instances.push_back(std::move(rt));
  }

  // ---- core items, fetched when first asked for ----

  void push_func(Frame& frame, wasm::Extern func, const CanonPlan* pending = nullptr) {
    frame.core_funcs.push_back(func);
    frame.pending_funcs.push_back(pending);
  }

  wasm::Extern core_item(Frame& frame, CoreSort sort, uint32_t index) {
    const wasm::ExternKind kind = extern_kind(sort);
    if (kind != wasm::ExternKind::kFunc) return at(core_space(frame, kind), index, "core item");
    if (index >= frame.core_funcs.size())
      fail("core func index " + std::to_string(index) + " out of range");
    if (const CanonPlan* plan = frame.pending_funcs[index]) {
      frame.core_funcs[index] = canon_func(*plan);
      frame.pending_funcs[index] = nullptr;
    }
    return frame.core_funcs[index];
  }

  std::optional<wasm::Extern> core_export(Frame& frame, uint32_t instance, uint32_t position) {
    const CoreInstanceRT& from = at(frame.core_instances, instance, "core instance");
    if (from.instance) {
      const auto& handles = static_cast<const PreModule*>(from.shape)->handles;
      if (position >= handles.size()) return std::nullopt;
      return from.instance->get(store(), handles[position]);
    }
    if (from.bundle == nullptr || position >= from.bundle->size()) return std::nullopt;
    const CoreSortIndex& item = (*from.bundle)[position].item;
    return core_item(frame, item.sort, item.index);
  }

  std::optional<wasm::Extern> core_export(Frame& frame, uint32_t instance, std::string_view name) {
    const CoreInstanceRT& from = at(frame.core_instances, instance, "core instance");
    if (from.instance) return from.instance->get(store(), name);
    if (from.bundle == nullptr) return std::nullopt;
    for (uint32_t i = 0; i < from.bundle->size(); ++i) {
      if ((*from.bundle)[i].name == name) return core_export(frame, instance, i);
    }
    return std::nullopt;
  }

  // A shim or fixup the plan bypasses (plan_shim_bypass): an empty core instance in its
  // place (nothing uses it), and for a fixup its start function called.
  bool bypassed(Frame& frame) {
    if (current_->skipped) {
      frame.core_instances.emplace_back();
      return true;
    }
    const std::optional<CoreSource>* fixup = current_->fixup;
    if (fixup == nullptr) return false;
    if (*fixup) {
      auto start = planned(frame, **fixup);
      if (!start || start->kind != wasm::ExternKind::kFunc) fail("the fixup's start is missing");
      auto called = wasm::Func(start->handle).call_raw(store(), {});
      if (!called) throw GuestError{std::move(called).error()};
    }
    frame.core_instances.emplace_back();
    return true;
  }

  // A core export by the position the plan worked out, or nothing if the instance there
  // does not have the shape the plan saw.
  std::optional<wasm::Extern> planned(Frame& frame, const CoreSource& source) {
    if (source.instance >= frame.core_instances.size()) return std::nullopt;
    if (frame.core_instances[source.instance].shape != source.shape) return std::nullopt;
    return core_export(frame, source.instance, source.position);
  }

  // Fills `imports` from the plan's positions; false if the plan has none for this
  // instantiation or they do not apply (then every import is looked up by name).
  bool resolved_imports(Frame& frame, const PreModule* module, std::vector<wasm::Extern>& imports) {
    const CoreImports* plan = current_->imports;
    if (plan == nullptr || plan->module != module) return false;
    for (size_t i = 0; i < plan->imports.size(); ++i) {
      auto item = planned(frame, plan->imports[i]);
      if (!item || item->kind != module->imports[i].kind) return false;
      imports.push_back(*item);
    }
    return true;
  }

  void define(Frame&, const ResolvedComponent&, const AnyType&, const auto*,
              const std::shared_ptr<CoreType>&) {}

  // ---- component definitions ----

  void define(Frame& frame, const ResolvedComponent& resolved, const AnyType&, const auto*,
              const std::shared_ptr<Component>& component) {
    auto& def = out_.items_->components.emplace_back(make_in<ComponentDef>(
        out_.arena_,
        ComponentDef{component.get(), resolved.nested.at(frame.nested_seen++).get(), &frame}));
    frame.components.push_back(def.get());
  }

  RuntimeItem item(Frame& frame, const SortIndex& index) {
    switch (index.sort.sort) {
      case Sort::kFunc:
        return at(frame.funcs, index.index, "func");
      case Sort::kInstance:
        return at(frame.instances, index.index, "instance");
      case Sort::kType:
        return at(frame.types, index.index, "type");
      case Sort::kComponent:
        return at(frame.components, index.index, "component");
      case Sort::kCore:
        if (index.sort.core_sort == CoreSort::kModule)
          return at(frame.core_modules, index.index, "core module");
        fail("core items other than modules cannot cross components");
      default:
        fail("component values are not supported");
    }
  }

  void push(Frame& frame, const RuntimeItem& item) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, const ComponentFunction*>) frame.funcs.push_back(v);
          if constexpr (std::is_same_v<T, const RuntimeInstance*>) frame.instances.push_back(v);
          if constexpr (std::is_same_v<T, const AnyType*>) frame.types.push_back(v);
          if constexpr (std::is_same_v<T, const ComponentDef*>) frame.components.push_back(v);
          if constexpr (std::is_same_v<T, const PreModule*>) frame.core_modules.push_back(v);
        },
        item);
  }

  void define(Frame& frame, const ResolvedComponent&, const AnyType&, const auto*,
              const Instance& instance) {
    auto& rt =
        out_.items_->instances.emplace_back(make_in<RuntimeInstance>(out_.arena_, &out_.arena_));
    if (auto* inst = std::get_if<Instantiate>(&instance.expr)) {
      const ComponentDef* def = at(frame.components, inst->component, "component");
      std::pmr::vector<std::pair<std::string_view, RuntimeItem>> args(&out_.arena_);
      args.reserve(inst->args.size());
      for (const auto& arg : inst->args)
        args.emplace_back(arg.name, item(frame, arg.item));
      Frame& child = run(*def->component, *def->resolved, def->parent, &args);
      rt->exports = child.exports;
    } else {
      const auto& inline_exports = std::get<std::vector<InlineExport>>(instance.expr);
      rt->exports.reserve(inline_exports.size());
      for (const auto& e : inline_exports)
        rt->exports.emplace_back(e.name.name, item(frame, e.item));
    }
    frame.instances.push_back(rt.get());
  }

  void define(Frame& frame, const ResolvedComponent&, const AnyType&, const auto*,
              const Alias& alias) {
    if (auto* e = std::get_if<AliasExport>(&alias.target)) {
      const RuntimeItem* found = at(frame.instances, e->instance, "instance")->find(e->name);
      if (found == nullptr) fail("instance exports no \"" + e->name + "\"");
      push(frame, *found);
    } else if (auto* c = std::get_if<AliasCoreExport>(&alias.target)) {
      if (alias.sort.sort != Sort::kCore) fail("core export aliased as a component sort");
      if (current_->alias_plan != nullptr) {
        push_func(frame, wasm::Extern{}, current_->alias_plan);
        return;
      }
      std::optional<wasm::Extern> found;
      if (current_->alias != nullptr) found = planned(frame, *current_->alias);
      if (!found) found = core_export(frame, c->instance, c->name);
      if (!found) fail("core instance exports no \"" + c->name + "\"");
      if (found->kind == wasm::ExternKind::kFunc) {
        push_func(frame, *found);
      } else {
        core_space(frame, found->kind).push_back(*found);
      }
    } else {
      const auto& o = std::get<AliasOuter>(alias.target);
      Frame* target = &frame;
      for (uint32_t i = 0; i < o.count; ++i) {
        if (target->parent == nullptr) fail("outer alias reaches past the outermost component");
        target = target->parent;
      }
      if (alias.sort.sort == Sort::kType) {
        frame.types.push_back(at(target->types, o.index, "outer type"));
      } else if (alias.sort.sort == Sort::kComponent) {
        frame.components.push_back(at(target->components, o.index, "outer component"));
      } else if (alias.sort == SortRef{Sort::kCore, CoreSort::kModule}) {
        frame.core_modules.push_back(at(target->core_modules, o.index, "outer core module"));
      }
    }
  }

  void define(Frame& frame, const ResolvedComponent&, const AnyType& annotation, const auto*,
              const std::shared_ptr<Type>&) {
    frame.types.push_back(&annotation);
  }

  wasm::Memory memory_option(Frame& frame, const CanonOptions& options) {
    return wasm::Memory(at(frame.core_memories, *options.memory, "core memory").handle);
  }
  wasm::Func func_option(Frame& frame, uint32_t index) {
    return wasm::Func(core_item(frame, CoreSort::kFunc, index).handle);
  }

  void define(Frame& frame, const ResolvedComponent&, const AnyType& annotation, const auto*,
              const Canon& canon) {
    if (auto* lift = std::get_if<CanonLift>(&canon)) {
      auto& fn = out_.items_->funcs.emplace_back(make_in<ComponentFunction>(out_.arena_));
      fn->type = std::get<FunctionTypePtr>(annotation);
      if (current_->lift_sig == nullptr) fail("a lifted function without a function type");
      fn->sig = current_->lift_sig;
      fn->frame = &frame;
      fn->core = func_option(frame, lift->core_func);
      fn->encoding = lift->options.string_encoding;
      if (lift->options.memory) fn->memory = memory_option(frame, lift->options);
      if (lift->options.realloc) fn->realloc = func_option(frame, *lift->options.realloc);
      if (lift->options.post_return)
        fn->post_return = func_option(frame, *lift->options.post_return);
      fn->async = lift->options.async;
      if (lift->options.callback) fn->callback = func_option(frame, *lift->options.callback);
      frame.funcs.push_back(fn.get());
      return;
    }
    if (current_->canon == nullptr) {
      fail(async_builtin_name(std::get<CanonBuiltin>(canon).opcode) +
           " is not supported yet: Gyre runs component-model async, but not its threads");
    }
    const auto* builtin = std::get_if<CanonBuiltin>(&canon);
    const CanonPlan& plan = *current_->canon;
    CanonSlot& slot = out_.slots_[plan.id];
    const bool shared = !slot.used;  // the first use in this store goes through the Linker
    slot.used = true;
    CanonSlot* state = shared ? &slot : own_slot();
    if (auto* lower = std::get_if<CanonLower>(&canon)) {
      Lowering& l = state->lowering;
      l.plan = &plan;
      l.instance = &out_;
      l.caller = &frame;
      l.target = at(frame.funcs, lower->func, "func");
      if (lower->options.memory) l.memory = memory_option(frame, lower->options);
      if (lower->options.realloc) l.realloc = func_option(frame, *lower->options.realloc);
    } else {
      Builtin& b = state->builtin;
      b.plan = &plan;
      b.frame = &frame;
      if (builtin != nullptr) {
        b.concurrency = out_.concurrency_.get();
        if (const std::optional<uint32_t> memory = async_builtin_memory(*builtin))
          b.memory = wasm::Memory(at(frame.core_memories, *memory, "core memory").handle);
        if (builtin->options.realloc) b.realloc = func_option(frame, *builtin->options.realloc);
      }
      if (plan.kind == CanonPlan::kResourceDrop && plan.resource && plan.resource->destructor) {
        b.destructor = func_option(frame, *plan.resource->destructor);
      }
    }
    if (shared) {
      push_func(frame, wasm::Extern{}, &plan);
    } else {
      const bool lowering = plan.kind == CanonPlan::kLower;
      void* env =
          lowering ? static_cast<void*>(&state->lowering) : static_cast<void*>(&state->builtin);
      push_func(frame, wasm::Func::host(store(), core_signature(plan),
                                        lowering ? CanonCalls::lowering : CanonCalls::builtin, env,
                                        nullptr)
                           .as_extern());
    }
  }

  // A plan's function in this store: through the re-export instance, made the first time
  // one is asked for (with the shim bypassed, a small component may never ask).
  wasm::Extern canon_func(const CanonPlan& plan) {
    Plan& shared = *pre_.plan_;
    if (!out_.items_->canon && shared.canon_pre) {
      auto made = shared.canon_pre->instantiate(store());
      if (!made) throw GuestError{std::move(made).error()};
      std::call_once(shared.canon_handles_once, [&] {
        for (const auto& p : shared.canon)
          shared.canon_handles.push_back(wasm::ExportHandle::find(store(), *made, p->name));
      });
      out_.items_->canon = *made;
    }
    if (out_.items_->canon && plan.id < shared.canon_handles.size()) {
      if (auto found = out_.items_->canon->get(store(), shared.canon_handles[plan.id]))
        return *found;
    }
    return *shared.linker.get(store(), "gyre:canon", plan.name);
  }

  // State for a plan used a second time in one store, kept beside the slots.
  CanonSlot* own_slot() {
    out_.extra_slots_.push_back(std::make_unique<CanonSlot>());
    return out_.extra_slots_.back().get();
  }

  void define(Frame&, const ResolvedComponent&, const AnyType&, const auto*, const Start&) {
    fail("component start functions are not supported");
  }
  void define(Frame&, const ResolvedComponent&, const AnyType&, const auto*, const Value&) {
    fail("component value definitions are not supported");
  }

  void define(Frame& frame, const ResolvedComponent&, const AnyType&,
              const std::pmr::vector<std::pair<std::string_view, RuntimeItem>>* args,
              const Import& import) {
    if (args == nullptr) {
      if (current_->host_item == nullptr) fail("no host item for \"" + import.name.name + "\"");
      push(frame, *current_->host_item);
      return;
    }
    for (const auto& [name, item] : *args) {
      if (name == import.name.name) {
        push(frame, item);
        return;
      }
    }
    fail("nested component import \"" + import.name.name + "\" was not given");
  }

  void define(Frame& frame, const ResolvedComponent&, const AnyType&, const auto*,
              const Export& e) {
    RuntimeItem exported = item(frame, e.item);
    push(frame, exported);
    frame.exports.emplace_back(e.name.name, exported);
  }

  const ComponentPre& pre_;
  ComponentInstance& out_;
  const DefinitionPlan* current_ = nullptr;  // the plan of the definition being run
};

// ---- ComponentPre ---------------------------------------------------------------------------

namespace {

using HostDrops = std::unordered_map<const void*, const HostResourceDrop*>;

// The host's drop callbacks, by the imported resource types they serve.
HostDrops host_drops(const ComponentTypeInfo& info, const HostImports& host) {
  HostDrops out;
  for (const NamedItem& import : info.imports) {
    if (import.kind != ExternKind::kInstance) continue;
    const HostInterface* interface = host.find(import.name);
    if (interface == nullptr) continue;
    for (const auto& e : std::get<std::shared_ptr<const InstanceTypeInfo>>(import.type)->exports) {
      auto* resource = std::get_if<ResourcePtr>(&e.type);
      auto drop = interface->resource_drops.find(e.name);
      if (resource != nullptr && drop != interface->resource_drops.end()) {
        out[resource->get()] = &drop->second;
      }
    }
  }
  return out;
}

// One plan per canon lower and resource built-in, in every nested component too.
void collect_plans(const Component& component, const ResolvedComponent& resolved,
                   const HostDrops& drops, Plan& plan) {
  size_t nested = 0;
  for (size_t i = 0; i < component.definitions.size(); ++i) {
    const Definition& d = component.definitions[i];
    if (auto* c = std::get_if<std::shared_ptr<Component>>(&d)) {
      collect_plans(**c, *resolved.nested.at(nested++), drops, plan);
      continue;
    }
    const auto* canon = std::get_if<Canon>(&d);
    if (canon != nullptr && std::holds_alternative<CanonLift>(*canon)) {
      const auto& lift = std::get<CanonLift>(*canon);
      if (auto* type = std::get_if<FunctionTypePtr>(&resolved.definition_types[i])) {
        FlatSignature sig = flatten_function(
            **type, lift.options.async ? AbiContext::kAsyncLift : AbiContext::kLift);
        if (lift.options.callback) sig.results = {CoreKind::kI32};  // the callback code
        plan.lift_sigs.emplace(canon, std::move(sig));
      }
      continue;
    }
    if (canon == nullptr) continue;
    const auto* builtin = std::get_if<CanonBuiltin>(canon);
    // A built-in Gyre does not provide gets no plan, and fails to instantiate.
    const AnyType& annotation = resolved.definition_types[i];
    const auto* named = std::get_if<ValueTypePtr>(&annotation);
    if (builtin != nullptr && !async_builtin_signature(*builtin, named ? named->get() : nullptr))
      continue;
    auto p = std::make_unique<CanonPlan>();
    p->id = static_cast<uint32_t>(plan.canon.size());
    p->name = std::to_string(p->id);
    if (auto* lower = std::get_if<CanonLower>(canon)) {
      p->kind = CanonPlan::kLower;
      p->type = std::get<FunctionTypePtr>(annotation);
      p->async = lower->options.async;
      p->sig = flatten_function(*p->type, p->async ? AbiContext::kAsyncLower : AbiContext::kLower);
      p->encoding = lower->options.string_encoding;
    } else if (builtin != nullptr) {
      p->kind = CanonPlan::kAsyncBuiltin;
      p->builtin = builtin;
      if (auto* channel = std::get_if<ValueTypePtr>(&annotation)) p->channel = *channel;
    } else {
      p->kind = std::holds_alternative<CanonResourceNew>(*canon)    ? CanonPlan::kResourceNew
                : std::holds_alternative<CanonResourceDrop>(*canon) ? CanonPlan::kResourceDrop
                                                                    : CanonPlan::kResourceRep;
      p->resource = std::get<ResourcePtr>(annotation);
      if (auto drop = drops.find(p->resource.get()); drop != drops.end())
        p->host_drop = drop->second;
    }
    plan.canon_of[canon] = p.get();
    plan.canon.push_back(std::move(p));
  }
}

// A mirror of one component's core index spaces as far as they are known without
// instantiating: modules (nullptr where only instantiation knows which), core instances
// (their shapes and definitions) and core functions (their origins).
struct CoreSpaces {
  struct Shape {
    const PreModule* module = nullptr;
    const std::vector<CoreInlineExport>* exports = nullptr;
    const CoreInstance* definition = nullptr;
  };
  // A core function made by a canon definition (its plan), or aliased from an export of a
  // core instance, or neither (unknown).
  struct FuncOrigin {
    const CanonPlan* plan = nullptr;
    std::optional<uint32_t> instance;
    std::string_view name;
    const Alias* alias = nullptr;
  };
  std::vector<const PreModule*> modules;
  std::vector<Shape> shapes;
  std::vector<FuncOrigin> funcs;
  std::vector<std::pair<uint32_t, std::string_view>> aliased;  // every core export aliased
};

CoreSpaces plan_core_sources(const Component& component,
                             const std::function<const PreModule*(uint64_t)>& module_at,
                             Plan& plan) {
  CoreSpaces spaces;
  auto& modules = spaces.modules;
  auto& shapes = spaces.shapes;
  using Shape = CoreSpaces::Shape;
  auto position = [&](uint32_t instance, std::string_view name) -> std::optional<CoreSource> {
    if (instance >= shapes.size()) return std::nullopt;
    const Shape& shape = shapes[instance];
    if (shape.module != nullptr) {
      auto at = shape.module->export_position(name);
      if (!at) return std::nullopt;
      return CoreSource{instance, *at, shape.module};
    }
    if (shape.exports == nullptr) return std::nullopt;
    for (size_t i = 0; i < shape.exports->size(); ++i) {
      if ((*shape.exports)[i].name == name)
        return CoreSource{instance, static_cast<uint32_t>(i), shape.exports};
    }
    return std::nullopt;
  };
  for (const Definition& d : component.definitions) {
    if (auto* m = std::get_if<CoreModule>(&d)) {
      modules.push_back(module_at(m->bytes.offset));
    } else if (auto* c = std::get_if<std::shared_ptr<Component>>(&d)) {
      plan_core_sources(**c, module_at, plan);
    } else if (auto* import = std::get_if<Import>(&d)) {
      if (import->type.kind == ExternKind::kCoreModule) modules.push_back(nullptr);
    } else if (auto* canon = std::get_if<Canon>(&d)) {
      if (std::holds_alternative<CanonLift>(*canon)) continue;
      auto found = plan.canon_of.find(canon);
      spaces.funcs.push_back({found == plan.canon_of.end() ? nullptr : found->second});
    } else if (auto* alias = std::get_if<Alias>(&d)) {
      if (alias->sort == SortRef{Sort::kCore, CoreSort::kModule}) modules.push_back(nullptr);
      if (auto* e = std::get_if<AliasCoreExport>(&alias->target)) {
        if (auto source = position(e->instance, e->name)) plan.core_aliases[alias] = *source;
        spaces.aliased.emplace_back(e->instance, e->name);
        if (alias->sort == SortRef{Sort::kCore, CoreSort::kFunc})
          spaces.funcs.push_back({nullptr, e->instance, e->name, alias});
      }
    } else if (auto* e = std::get_if<Export>(&d)) {
      if (e->item.sort == SortRef{Sort::kCore, CoreSort::kModule})
        modules.push_back(e->item.index < modules.size() ? modules[e->item.index] : nullptr);
    } else if (auto* instance = std::get_if<CoreInstance>(&d)) {
      auto* inst = std::get_if<CoreInstantiate>(&instance->expr);
      if (inst == nullptr) {
        shapes.push_back(
            Shape{nullptr, &std::get<std::vector<CoreInlineExport>>(instance->expr), instance});
        continue;
      }
      const PreModule* module = inst->module < modules.size() ? modules[inst->module] : nullptr;
      shapes.push_back(Shape{module, nullptr, instance});
      if (module == nullptr) continue;
      CoreImports planned{module, {}};
      for (const auto& import : module->imports) {
        const CoreInstantiateArg* arg = argument(*inst, import.module);
        auto source = arg ? position(arg->instance, import.name) : std::nullopt;
        if (!source) break;
        planned.imports.push_back(*source);
      }
      if (planned.imports.size() == module->imports.size())
        plan.core_imports.emplace(instance, std::move(planned));
    }
  }
  return spaces;
}

// wit-component's shim and fixup modules (component/shim_modules.hpp), bypassed in the
// top-level component: each alias of a shim function becomes the lowered function the
// fixup would have put in the shim's table, neither helper is instantiated (the fixup's
// start function is called in its place), and a module whose imports then are all
// lowered functions is instantiated from an InstancePre. Only when nothing can tell:
// no other use of the shim, no start function among the modules instantiated before the
// fixup runs (one could call a stand-in while its table slot is still empty).
void plan_shim_bypass(const CoreSpaces& spaces, wasm::Engine& engine, Plan& plan) {
  std::unordered_map<uint32_t, std::unordered_map<std::string_view, const CanonPlan*>> shims;
  // The plan behind the core function instance `instance` exports as `name`.
  auto plan_of = [&](uint32_t instance, std::string_view name) -> const CanonPlan* {
    if (instance >= spaces.shapes.size()) return nullptr;
    if (auto shim = shims.find(instance); shim != shims.end()) {
      auto slot = shim->second.find(name);
      return slot == shim->second.end() ? nullptr : slot->second;
    }
    const auto* exports = spaces.shapes[instance].exports;
    if (exports == nullptr) return nullptr;
    for (const auto& e : *exports) {
      if (e.name != name || e.item.sort != CoreSort::kFunc) continue;
      if (e.item.index >= spaces.funcs.size()) return nullptr;
      const auto& origin = spaces.funcs[e.item.index];
      if (origin.plan != nullptr) return origin.plan;
      if (!origin.instance) return nullptr;
      auto shim = shims.find(*origin.instance);
      if (shim == shims.end()) return nullptr;
      auto slot = shim->second.find(origin.name);
      return slot == shim->second.end() ? nullptr : slot->second;
    }
    return nullptr;
  };

  const auto& shapes = spaces.shapes;
  for (uint32_t f = 0; f < shapes.size(); ++f) {
    const PreModule* fixup_module = shapes[f].module;
    if (fixup_module == nullptr || !fixup_module->fixup) continue;
    const TableFixup& fixup = *fixup_module->fixup;
    const auto& fixup_inst = std::get<CoreInstantiate>(shapes[f].definition->expr);
    const CoreInstantiateArg* table_arg = argument(fixup_inst, fixup.table.module);
    if (table_arg == nullptr || table_arg->instance >= f) continue;
    const uint32_t s = table_arg->instance;
    const PreModule* shim_module = shapes[s].module;
    if (shim_module == nullptr || !shim_module->shim ||
        shim_module->shim->table_export != fixup.table.name || shims.count(s)) {
      continue;
    }
    // What the fixup stores in each slot.
    std::unordered_map<uint32_t, const CanonPlan*> slots;
    bool all_plans = true;
    for (size_t m = 0; m < fixup.elements.size() && all_plans; ++m) {
      const auto& import = fixup.functions[fixup.elements[m]];
      const CoreInstantiateArg* arg = argument(fixup_inst, import.module);
      const CanonPlan* p = arg ? plan_of(arg->instance, import.name) : nullptr;
      all_plans =
          p != nullptr && (p->kind == CanonPlan::kLower || p->kind == CanonPlan::kAsyncBuiltin);
      slots[fixup.offset + static_cast<uint32_t>(m)] = p;
    }
    std::unordered_map<std::string_view, const CanonPlan*> functions;
    for (const auto& fn : shim_module->shim->functions) {
      auto slot = slots.find(fn.slot);
      if (slot == slots.end()) all_plans = false;
      if (all_plans) functions[fn.export_name] = slot->second;
    }
    // Nothing between the shim and the fixup may run code, nor may anything but the fixup
    // and aliases of its functions use the shim.
    bool unobserved = all_plans;
    for (uint32_t i = s + 1; i < f && unobserved; ++i) {
      if (shapes[i].module && shapes[i].module->may_start) unobserved = false;
    }
    for (uint32_t i = 0; i < shapes.size() && unobserved; ++i) {
      if (i == f || shapes[i].module == nullptr) continue;
      for (const auto& a : std::get<CoreInstantiate>(shapes[i].definition->expr).args) {
        if (a.instance == s) unobserved = false;
      }
    }
    for (const auto& [instance, name] : spaces.aliased) {
      if (instance == s && !functions.count(name)) unobserved = false;
    }
    std::optional<CoreSource> start;
    if (unobserved && fixup.start) {
      const auto& import = fixup.functions[*fixup.start];
      const CoreInstantiateArg* arg = argument(fixup_inst, import.module);
      const PreModule* from = arg && arg->instance < f ? shapes[arg->instance].module : nullptr;
      auto at = from ? from->export_position(import.name) : std::nullopt;
      if (at) {
        start = CoreSource{arg->instance, *at, from};
      } else {
        unobserved = false;
      }
    }
    if (!unobserved) continue;
    shims[s] = std::move(functions);
    plan.skipped_instances.insert(shapes[s].definition);
    plan.fixups[shapes[f].definition] = start;
    for (const auto& origin : spaces.funcs) {
      if (origin.instance == s) plan.alias_plans[origin.alias] = shims[s].at(origin.name);
    }
  }
  if (shims.empty()) return;

  // Modules whose every import is now a lowered function: prepared once.
  for (const auto& shape : shapes) {
    const PreModule* module = shape.module;
    if (module == nullptr || module->shim || module->fixup || module->may_start ||
        plan.skipped_instances.count(shape.definition) || plan.fixups.count(shape.definition)) {
      continue;
    }
    const auto& inst = std::get<CoreInstantiate>(shape.definition->expr);
    auto linker = std::make_unique<wasm::Linker>(engine);
    bool linked = true;
    for (const auto& import : module->imports) {
      const CoreInstantiateArg* arg = argument(inst, import.module);
      const CanonPlan* p = arg && import.kind == wasm::ExternKind::kFunc
                               ? plan_of(arg->instance, import.name)
                               : nullptr;
      linked = linked && p != nullptr &&
               linker
                   ->define(import.module, import.name, core_signature(*p), CanonCalls::shared,
                            const_cast<CanonPlan*>(p), nullptr)
                   .ok();
    }
    if (!linked) continue;
    if (auto prepared = linker->prepare(module->module)) {
      plan.prepared.emplace(shape.definition, std::move(prepared).value());
      plan.linkers.push_back(std::move(linker));
    }
  }
}

// Plan::definitions from the plan's maps, for `component` and every nested one.
void index_definitions(const Component& component, Plan& plan) {
  std::vector<DefinitionPlan> out(component.definitions.size());
  auto find = [](const auto& map, const void* key) {
    auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
  };
  for (size_t i = 0; i < component.definitions.size(); ++i) {
    const Definition& d = component.definitions[i];
    if (auto* c = std::get_if<std::shared_ptr<Component>>(&d)) index_definitions(**c, plan);
    const void* key = std::visit([](const auto& alt) -> const void* { return &alt; }, d);
    DefinitionPlan& p = out[i];
    if (auto canon = find(plan.canon_of, key)) p.canon = *canon;
    p.lift_sig = find(plan.lift_sigs, key);
    p.imports = find(plan.core_imports, key);
    p.prepared = find(plan.prepared, key);
    p.skipped = plan.skipped_instances.count(key) != 0;
    p.fixup = find(plan.fixups, key);
    p.alias = find(plan.core_aliases, key);
    if (auto alias_plan = find(plan.alias_plans, key)) p.alias_plan = *alias_plan;
    p.host_item = find(plan.host_items, key);
  }
  plan.components[&component].definitions = std::move(out);
}

// Works out which items of the top-level component are the same in every instance. Only
// the instance index space is followed (aliases reach into instances); an index whose
// instance is made per instantiation stays unknown, and aliases of it run as written.
void plan_fixed_items(const Component& component, const ResolvedComponent& resolved,
                      const std::function<const PreModule*(uint64_t)>& module_at, Plan& plan) {
  std::vector<DefinitionPlan>& plans = plan.components.at(&component).definitions;
  std::vector<const RuntimeInstance*> instances;  // nullptr: made per instantiation
  auto fixed_instance = [&](uint32_t index) -> const RuntimeInstance* {
    return index < instances.size() ? instances[index] : nullptr;
  };
  auto push_instance = [&](const std::optional<RuntimeItem>& item) {
    auto* const* instance = item ? std::get_if<const RuntimeInstance*>(&*item) : nullptr;
    instances.push_back(instance ? *instance : nullptr);
  };
  for (size_t i = 0; i < component.definitions.size(); ++i) {
    const Definition& d = component.definitions[i];
    std::optional<RuntimeItem>& fixed = plans[i].fixed;
    if (std::holds_alternative<std::shared_ptr<Type>>(d)) {
      fixed = &resolved.definition_types[i];
    } else if (auto* module = std::get_if<CoreModule>(&d)) {
      if (const PreModule* pre = module_at(module->bytes.offset)) fixed = pre;
    } else if (auto* import = std::get_if<Import>(&d)) {
      if (plans[i].host_item != nullptr) fixed = *plans[i].host_item;
      if (import->type.kind == ExternKind::kInstance) push_instance(fixed);
    } else if (std::holds_alternative<Instance>(d)) {
      instances.push_back(nullptr);
    } else if (auto* alias = std::get_if<Alias>(&d)) {
      auto* e = std::get_if<AliasExport>(&alias->target);
      if (e != nullptr) {
        if (const RuntimeInstance* from = fixed_instance(e->instance)) {
          if (const RuntimeItem* found = from->find(e->name)) fixed = *found;
        }
      }
      if (alias->sort.sort == Sort::kInstance) push_instance(fixed);
    } else if (auto* e = std::get_if<Export>(&d)) {
      if (e->item.sort.sort == Sort::kInstance) instances.push_back(fixed_instance(e->item.index));
    }
  }
}

}  // namespace

ComponentPre::~ComponentPre() = default;

const PreModule* ComponentPre::module_at(uint64_t offset) const {
  auto it = std::lower_bound(modules_.begin(), modules_.end(), offset,
                             [](const auto& m, uint64_t o) { return m->offset < o; });
  return it != modules_.end() && (*it)->offset == offset ? it->get() : nullptr;
}

Result<std::shared_ptr<const ComponentPre>, std::string> ComponentPre::create(
    wasm::Engine& engine, std::vector<uint8_t> bytes, const HostImports& host,
    LinkOptions options) {
  std::shared_ptr<ComponentPre> pre(new ComponentPre());
  pre->bytes_ = std::move(bytes);
  pre->host_ = &host;
  auto decoded = decode(pre->bytes_);
  if (!decoded) return "malformed component " + decoded.error().describe();
  pre->component_ = std::move(decoded).value();
  auto resolved = resolve_component(pre->component_);
  if (!resolved) return "invalid component: " + resolved.error().message;
  pre->resolved_ = std::move(resolved).value();

  // Every import the host lacks, named at once.
  for (const NamedItem& import : pre->resolved_.info.imports) {
    if (import.kind == ExternKind::kFunc) {
      if (!host.find_function(import.name)) pre->missing_.push_back(import.name);
    } else if (import.kind == ExternKind::kInstance) {
      const HostInterface* interface = host.find(import.name);
      for (const auto& e :
           std::get<std::shared_ptr<const InstanceTypeInfo>>(import.type)->exports) {
        if (e.kind != ExternKind::kFunc) continue;
        if (interface == nullptr || !interface->functions.count(e.name)) {
          pre->missing_.push_back(import.name + "#" + e.name);
        }
      }
    }
  }
  // Typed host functions must have the signature the component declares.
  std::vector<std::string> mismatches;
  for (const NamedItem& import : pre->resolved_.info.imports) {
    if (import.kind != ExternKind::kInstance) continue;
    const HostInterface* interface = host.find(import.name);
    if (interface == nullptr) continue;
    for (const auto& e : std::get<std::shared_ptr<const InstanceTypeInfo>>(import.type)->exports) {
      auto check = interface->signatures.find(e.name);
      if (e.kind != ExternKind::kFunc || check == interface->signatures.end()) continue;
      if (auto why = check->second(*std::get<FunctionTypePtr>(e.type))) {
        mismatches.push_back(import.name + "#" + e.name + ": " + *why);
      }
    }
  }
  if (!mismatches.empty()) {
    std::string message = "host functions do not match the component's imports:";
    for (const auto& m : mismatches)
      message += "\n  " + m;
    return message;
  }
  if (!pre->missing_.empty() && !options.trap_on_missing_imports) {
    std::string message = "the host does not provide " + std::to_string(pre->missing_.size()) +
                          " import(s) the component needs:";
    for (const auto& name : pre->missing_)
      message += "\n  " + name;
    return message;
  }
  for (const ByteRange& range : core_module_ranges(pre->component_)) {
    auto module = engine.compile({pre->bytes_.data() + range.offset, range.size});
    if (!module) {
      return "core module at byte offset " + std::to_string(range.offset) + ": " +
             module.error().describe();
    }
    auto imports = module->imports();
    auto exports = module->exports();
    auto& added = pre->modules_.emplace_back(
        std::make_unique<PreModule>(range.offset, std::move(module).value()));
    added->imports = std::move(imports);
    added->exports = std::move(exports);
    const std::span<const uint8_t> code(pre->bytes_.data() + range.offset, range.size);
    added->shim = recognize_indirect_shim(code);
    added->fixup = recognize_table_fixup(code);
    added->may_start = may_have_start_function(code);
  }
  std::sort(pre->modules_.begin(), pre->modules_.end(),
            [](const auto& a, const auto& b) { return a->offset < b->offset; });

  pre->plan_ = std::make_unique<Plan>(engine);
  Plan& plan = *pre->plan_;
  collect_plans(pre->component_, pre->resolved_, host_drops(pre->resolved_.info, host), plan);
  const CoreSpaces top = plan_core_sources(
      pre->component_, [&](uint64_t offset) { return pre->module_at(offset); }, plan);
  plan_shim_bypass(top, engine, plan);
  for (const auto& p : plan.canon) {
    auto defined = plan.linker.define("gyre:canon", p->name, core_signature(*p), CanonCalls::shared,
                                      p.get(), nullptr);
    if (!defined) return "cannot define a canonical function: " + defined.error().describe();
  }
  if (!plan.canon.empty()) {
    std::vector<wasm::ReexportedFunc> funcs;
    funcs.reserve(plan.canon.size());
    for (const auto& p : plan.canon)
      funcs.push_back({p->name, core_signature(*p)});
    // Without it every function is looked up by name per store: slower, not wrong.
    if (auto module = engine.compile(wasm::reexport_module("gyre:canon", funcs))) {
      if (auto prepared = plan.linker.prepare(*module))
        plan.canon_pre = std::move(prepared).value();
    }
  }
  for (size_t i = 0; i < pre->component_.definitions.size(); ++i) {
    if (auto* import = std::get_if<Import>(&pre->component_.definitions[i])) {
      plan.host_items.emplace(import, host_item(host, import->name.name, import->type.kind,
                                                pre->resolved_.definition_types[i], plan));
    }
  }
  index_definitions(pre->component_, plan);
  plan_fixed_items(
      pre->component_, pre->resolved_, [&](uint64_t offset) { return pre->module_at(offset); },
      plan);

  return std::shared_ptr<const ComponentPre>(std::move(pre));
}

Result<std::unique_ptr<ComponentInstance>, wasm::Error> ComponentPre::instantiate(
    wasm::Store& store) const {
  std::unique_ptr<ComponentInstance> instance(new ComponentInstance(store.context()));
  store.set_data(instance.get());
  instance->slots_.resize(plan_->canon.size());
  try {
    Instantiator(*this, *instance).run(component_, resolved_, nullptr, nullptr);
  } catch (const AbiTrap& trap) {
    return wasm::Error(wasm::ErrorKind::kInstantiate, trap.message);
  } catch (GuestError& error) {
    return std::move(error.error);
  }
  return instance;
}

// ---- ComponentInstance ----------------------------------------------------------------------

ComponentInstance::ComponentInstance(wasmtime_context* store)
    : store_(store),
      concurrency_(std::make_unique<Concurrency>()),
      items_(make_in<InstanceItems>(arena_, &arena_)),
      slots_(&arena_) {
  host_state_.reserve(8);  // WASI and wasi:http keep about that many kinds of state
}
ComponentInstance::~ComponentInstance() = default;

const ComponentFunction* ComponentInstance::function(std::string_view name) const {
  for (const auto& [n, item] : frames_.front()->exports) {
    if (n != name) continue;
    if (auto* fn = std::get_if<const ComponentFunction*>(&item)) return *fn;
  }
  return nullptr;
}

const ComponentFunction* ComponentInstance::function(std::string_view instance,
                                                     std::string_view name) const {
  for (const auto& [n, item] : frames_.front()->exports) {
    if (n != instance) continue;
    auto* rt = std::get_if<const RuntimeInstance*>(&item);
    if (rt == nullptr) return nullptr;
    const RuntimeItem* found = (*rt)->find(name);
    if (found == nullptr) return nullptr;
    auto* fn = std::get_if<const ComponentFunction*>(found);
    return fn ? *fn : nullptr;
  }
  return nullptr;
}

const FunctionType& ComponentInstance::type_of(const ComponentFunction& function) const {
  return *function.type;
}

std::optional<Val> ComponentInstance::invoke_host(const ComponentFunction& fn,
                                                  std::span<const Val> args,
                                                  std::shared_ptr<PendingCall>* deferred) {
  if (fn.host == nullptr) fail("the host does not provide the import " + fn.import_name);
  HostCall call{store_, *this};
  auto result = (*fn.host)(call, args);
  if (!result) fail(fn.import_name + ": " + result.error());
  if (!call.deferred) return std::move(result).value();
  if (deferred != nullptr) {  // lowered async: the caller gets a subtask
    *deferred = std::move(call.deferred);
    return std::nullopt;
  }
  // Lowered synchronously: the guest waits for the host to finish.
  std::optional<PendingCall::Outcome> outcome;
  Scheduler& scheduler = concurrency_->scheduler;
  scheduler.hold();
  call.deferred->set_deliver([&](PendingCall::Outcome o) {
    scheduler.release();
    outcome = std::move(o);
  });
  scheduler.wait_until([&] { return outcome.has_value(); }, "a call of " + fn.import_name);
  if (outcome->kind == PendingCall::Outcome::kFailed) fail(fn.import_name + ": " + outcome->error);
  return std::move(outcome->result);
}

void ComponentInstance::run_callback_loop(const ComponentFunction& fn, Frame& frame,
                                          int32_t packed) {
  enum : uint32_t { kExit = 0, kYield = 1, kWait = 2 };
  Scheduler& scheduler = concurrency_->scheduler;
  for (;;) {
    const auto code = static_cast<uint32_t>(packed) & 0xf;
    const auto set = static_cast<uint32_t>(packed) >> 4;
    if (code == kExit) return;
    Event event;
    if (code == kYield) {
      scheduler.run_posted();
    } else if (code == kWait) {
      HandleEntry* entry = frame.handles.get(set);
      if (entry == nullptr || entry->kind != HandleKind::kWaitableSet)
        fail("the callback asked to wait on " + std::to_string(set) + ", not a waitable set");
      auto& waitables = static_cast<WaitableSet&>(*entry->object);
      ++waitables.waiting;
      struct Done {
        WaitableSet& s;
        ~Done() { --s.waiting; }
      } done{waitables};
      scheduler.wait_until(
          [&] { return waitables.has_pending_event(); },
          "a task waiting on a set of " + std::to_string(waitables.size()) + " waitables");
      event = waitables.take_pending_event();
    } else {
      fail("the callback returned the invalid code " + std::to_string(code));
    }
    wasm::RawValue args[3] = {wasm::RawValue::from_i32(static_cast<int32_t>(event.code)),
                              wasm::RawValue::from_i32(static_cast<int32_t>(event.index)),
                              wasm::RawValue::from_i32(static_cast<int32_t>(event.payload))};
    auto called = fn.callback->call_raw(store_, args);
    if (!called) throw GuestError{std::move(called).error()};
    packed = args[0].i32;
  }
}

std::optional<Val> ComponentInstance::invoke(const ComponentFunction& fn, std::span<const Val> args,
                                             std::shared_ptr<PendingCall>* deferred) {
  if (!fn.core) return invoke_host(fn, args, deferred);
  Frame& frame = *fn.frame;
  if (!frame.may_enter) fail("cannot enter a component instance that is already running");
  CanonContext cx{store_,         fn.encoding,     fn.memory,         fn.realloc,
                  &frame.handles, frame.component, concurrency_.get()};
  frame.handles.outstanding_borrows = 0;
  TaskState task;
  task.type = fn.type.get();
  task.async = fn.async;
  task.encoding = fn.encoding;
  // Only the outermost task reports its result early; nested ones return it.
  if (concurrency_->tasks.empty()) task.on_return = on_return_;
  concurrency_->tasks.push_back(&task);
  struct Pop {
    std::vector<TaskState*>& tasks;
    ~Pop() { tasks.pop_back(); }
  } pop{concurrency_->tasks};

  std::vector<wasm::RawValue> slots;
  slots.reserve(std::max(fn.sig->params.size(), fn.sig->results.size()));
  const FlatSignature& sig = *fn.sig;
  lower_params(cx, args, *fn.type, sig, slots);
  slots.resize(std::max(slots.size(), sig.results.size()));

  frame.may_enter = false;
  struct Reenter {
    Frame& frame;
    ~Reenter() { frame.may_enter = true; }
  } reenter{frame};
  auto called = fn.core->call_raw(store_, slots);
  cx.forget_memory();
  if (!called) throw GuestError{std::move(called).error()};

  if (fn.async) {
    if (fn.callback) run_callback_loop(fn, frame, slots[0].i32);
    if (!task.returned) fail("the task's function exited without calling task.return");
    return std::move(task.result);
  }
  std::optional<Val> result = lift_result(
      cx, std::span<const wasm::RawValue>(slots.data(), sig.results.size()), *fn.type, sig);
  if (fn.post_return) {
    frame.may_leave = false;
    auto post = fn.post_return->call_raw(store_, std::span(slots.data(), sig.results.size()));
    frame.may_leave = true;
    if (!post) throw GuestError{std::move(post).error()};
  }
  if (frame.handles.outstanding_borrows != 0) {
    fail("the callee returned without dropping borrowed handles it was lent (" +
         std::to_string(frame.handles.outstanding_borrows) + " outstanding)");
  }
  if (task.on_return) task.on_return(result);
  return result;
}

Result<std::optional<Val>, wasm::Error> ComponentInstance::call(
    const ComponentFunction& function, std::span<const Val> args,
    std::function<void(const std::optional<Val>&)> on_return) {
  if (poisoned_) {
    return wasm::Error(wasm::ErrorKind::kUsage,
                       "this component instance trapped earlier and may not be called again");
  }
  on_return_ = std::move(on_return);
  try {
    return invoke(function, args);
  } catch (const AbiTrap& trap) {
    poisoned_ = true;
    return wasm::Error(wasm::ErrorKind::kTrap, trap.message);
  } catch (GuestError& error) {
    poisoned_ = true;
    return std::move(error.error);
  }
}

}  // namespace gyre::component
