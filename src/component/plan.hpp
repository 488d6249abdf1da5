// A component compiled once into a flat list of instantiation steps, as Wasmtime's
// GlobalInitializers are.
//
// ComponentPre::create evaluates a component's definitions symbolically (plan_build.cpp):
// nested components are inlined, aliases and inline core instances are followed to where
// their items come from, and what is left is a list of the few things that must happen in
// every store, in order: make a core instance, fill the per-store state of a canon lowering
// or built-in, lift a core function. Instantiating (instance.cpp) only runs that list;
// nothing per request walks definitions or index spaces. wit-component's shims are bypassed
// by a pass over the list (plan_shims.cpp).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "component/host_imports.hpp"
#include "component/layout.hpp"
#include "component/model.hpp"
#include "component/types.hpp"
#include "wasm/engine.hpp"
#include "wasm/instance.hpp"
#include "wasm/linker.hpp"

namespace gyre::component {

struct PreModule;
struct ComponentFunction;

// Where a core item comes from in a store being instantiated: an export of a core
// instance made by an earlier step (by its position in the module's exports), or the
// function of a canon plan.
struct CoreRef {
  enum Kind : uint8_t { kExport, kCanon };
  Kind kind = kExport;
  wasm::ExternKind extern_kind = wasm::ExternKind::kFunc;
  uint32_t index = 0;     // kExport: the core instance; kCanon: the CanonPlan's id
  uint32_t position = 0;  // kExport: the export's position in PreModule::exports
  bool operator==(const CoreRef&) const = default;
};

// A component function: the host's (made once, kept in the plan), or the n-th lifted
// function of each instance.
struct FuncRef {
  const ComponentFunction* host = nullptr;
  uint32_t lifted = 0;
};

struct ItemInstance;
struct ComponentDef;
// An item of a component's index spaces. Planning knows every one of them: all are the same
// in every instance, up to whose lifted functions a FuncRef names.
using Item = std::variant<FuncRef, const ItemInstance*, const AnyType*, const ComponentDef*,
                          const PreModule*>;

// A component instance's exports. Names point into the component's decoded definitions
// or the host's types, which outlive the plan.
struct ItemInstance {
  std::vector<std::pair<std::string_view, Item>> exports;
  // By its name, or by the name without the `[async]` prefix it may carry.
  const Item* find(std::string_view name) const;
};

struct PlanFrame;
// A component definition, closed over the frame it was defined in (for outer aliases);
// `parent` is valid while planning only.
struct ComponentDef {
  const Component* component;
  const ResolvedComponent* resolved;
  const PlanFrame* parent;
};

// What every instance shares about one canon lower or built-in: one per definition that
// planning evaluated (a nested component instantiated twice has two).
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

// Makes core instance `instance`: from `prepared` when every import is a canon plan's
// function, else from `module` with `imports` (in the order of PreModule::imports).
struct InstantiateStep {
  uint32_t instance = 0;
  const PreModule* module = nullptr;
  std::vector<CoreRef> imports;
  const wasm::InstancePre* prepared = nullptr;
};

// Fetches a core item that canon options use (a memory, a realloc, a post-return or
// callback function, a destructor) into the instance's extracted item `index`, once
// however many steps use it.
struct ExtractStep {
  uint32_t index = 0;
  CoreRef item;
};

// Calls a core function: the start function of a wit-component fixup module that is not
// instantiated (plan_shims.cpp).
struct StartStep {
  CoreRef func;
};

// Fills the per-store state of a canon lowering or built-in (its CanonSlot).
struct CanonStep {
  const CanonPlan* plan = nullptr;
  uint32_t frame = 0;  // the component instance it belongs to
  FuncRef target;      // lower: the function called
  // Extracted items (ExtractStep), of the options:
  std::optional<uint32_t> memory, realloc;
  std::optional<uint32_t> destructor;  // resource.drop of the component's own resource
};

// Lifts a core function into the instance's lifted function `func`.
struct LiftStep {
  uint32_t func = 0;
  uint32_t frame = 0;
  FunctionTypePtr type;
  FlatSignature sig;
  CoreRef core;
  std::optional<uint32_t> memory, realloc, post_return, callback;  // extracted items
  StringEncoding encoding = StringEncoding::kUtf8;
  bool async = false;
};

using Step = std::variant<InstantiateStep, ExtractStep, StartStep, CanonStep, LiftStep>;

// Calls `f` on every CoreRef a step reads.
template <class AnyStep, class F>
void for_each_ref(AnyStep& step, F f) {
  std::visit(
      [&](auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, InstantiateStep>) {
          for (auto& ref : s.imports)
            f(ref);
        } else if constexpr (std::is_same_v<T, ExtractStep>) {
          f(s.item);
        } else if constexpr (std::is_same_v<T, StartStep>) {
          f(s.func);
        } else if constexpr (std::is_same_v<T, LiftStep>) {
          f(s.core);
        }
      },
      step);
}

struct Plan {
  explicit Plan(wasm::Engine& engine) : linker(engine) {}

  std::vector<Step> steps;
  // The module of each core instance a step makes; nullptr for one the shim bypass
  // does not make.
  std::vector<const PreModule*> instance_modules;
  // The component of each component instance (the top-level one first, then the nested
  // ones as they are instantiated): what its resource handles and flags belong to.
  std::vector<const Component*> frames;
  uint32_t lifted = 0;     // lifted functions per instance
  uint32_t extracted = 0;  // extracted items per instance (ExtractStep)
  std::vector<std::pair<std::string_view, Item>> exports;  // the top-level component's

  std::vector<std::unique_ptr<CanonPlan>> canon;  // by id
  wasm::Linker linker;  // every canon plan's function, as "gyre:canon" `name`
  // Every canon plan's function for a store in one instantiation of a module that
  // re-exports them (wasm/reexport_module.hpp), found by handle rather than by name.
  std::optional<wasm::InstancePre> canon_pre;
  std::once_flag canon_handles_once;
  std::vector<wasm::ExportHandle> canon_handles;  // by plan id

  // What steps and items point to.
  std::vector<std::unique_ptr<wasm::Linker>> linkers;  // of the prepared instances
  std::deque<wasm::InstancePre> prepared;
  std::vector<std::unique_ptr<ComponentFunction>> host_funcs;
  std::deque<ItemInstance> instances;
  std::deque<ComponentDef> components;
  std::deque<FlatSignature> lift_sigs;
};

using ModuleAt = std::function<const PreModule*(uint64_t offset)>;

// Evaluates `component` into `plan` (plan_build.cpp): the steps, the canon plans, the
// exports. Throws AbiTrap for a component Gyre cannot instantiate.
void build_plan(const Component& component, const ResolvedComponent& resolved,
                const HostImports& host, const ModuleAt& module_at, Plan& plan);

// Bypasses wit-component's shim and fixup modules, and prepares the instantiation of
// every module whose imports are all canon functions (plan_shims.cpp).
void bypass_shims(wasm::Engine& engine, Plan& plan);

}  // namespace gyre::component
