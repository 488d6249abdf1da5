// Compiles a component's definitions into the flat steps of component/plan.hpp by
// evaluating them once, symbolically: each (nested) component instance gets a frame of
// index spaces holding what is known without a store (where a core item comes from, which
// function a component function is), and only what must happen per store becomes a step.
#include "component/instance_parts.hpp"

namespace gyre::component {

const Item* ItemInstance::find(std::string_view name) const {
  for (const auto& [n, item] : exports) {
    if (n == name) return &item;
  }
  for (const auto& [n, item] : exports) {
    if (async_function_name(n) == name) return &item;
  }
  return nullptr;
}

// The index spaces of one component instance while it is planned.
struct PlanFrame {
  // A core instance: made by a step (its module's exports are found by position), or
  // bundled from inline exports.
  struct CoreInstanceItem {
    const PreModule* module = nullptr;
    uint32_t instance = 0;
    std::vector<std::pair<std::string_view, CoreRef>> bundle;
  };
  const PlanFrame* parent = nullptr;
  const ResolvedComponent* resolved = nullptr;
  uint32_t index = 0;  // in Plan::frames
  size_t nested_seen = 0;
  std::vector<const PreModule*> core_modules;
  std::vector<CoreInstanceItem> core_instances;
  std::vector<CoreRef> core_funcs, core_tables, core_memories, core_globals, core_tags;
  std::vector<const AnyType*> types;
  std::vector<FuncRef> funcs;
  std::vector<const ItemInstance*> instances;
  std::vector<const ComponentDef*> components;
  std::vector<std::pair<std::string_view, Item>> exports;

  std::vector<CoreRef>& core_space(wasm::ExternKind kind) {
    switch (kind) {
      case wasm::ExternKind::kTable:
        return core_tables;
      case wasm::ExternKind::kMemory:
        return core_memories;
      case wasm::ExternKind::kGlobal:
        return core_globals;
      case wasm::ExternKind::kTag:
        return core_tags;
      default:
        return core_funcs;
    }
  }
};

namespace {

using Args = std::vector<std::pair<std::string_view, Item>>;
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

// The argument of a core instantiation named `name` (the last, as the spec's).
const CoreInstantiateArg* argument(const CoreInstantiate& inst, std::string_view name) {
  const CoreInstantiateArg* found = nullptr;
  for (const auto& a : inst.args) {
    if (a.name == name) found = &a;
  }
  return found;
}

class PlanBuilder {
 public:
  PlanBuilder(const HostImports& host, const ModuleAt& module_at, HostDrops drops, Plan& plan)
      : host_(host), module_at_(module_at), drops_(std::move(drops)), plan_(plan) {}

  // Runs a component's definitions in a new frame; `args` feed its imports (the host's
  // for the top-level component).
  PlanFrame& run(const Component& component, const ResolvedComponent& resolved,
                 const PlanFrame* parent, const Args* args) {
    PlanFrame& frame = *frames_.emplace_back(std::make_unique<PlanFrame>());
    frame.parent = parent;
    frame.resolved = &resolved;
    frame.index = static_cast<uint32_t>(plan_.frames.size());
    plan_.frames.push_back(&component);
    for (size_t i = 0; i < component.definitions.size(); ++i) {
      const AnyType& annotation = resolved.definition_types[i];
      std::visit([&](const auto& d) { define(frame, annotation, args, d); },
                 component.definitions[i]);
    }
    return frame;
  }

 private:
  // ---- core definitions ----

  void define(PlanFrame& frame, const AnyType&, const Args*, const CoreModule& module) {
    const PreModule* pre = module_at_(module.bytes.offset);
    if (pre == nullptr)
      fail("core module at " + std::to_string(module.bytes.offset) + " was not compiled");
    frame.core_modules.push_back(pre);
  }

  void define(PlanFrame& frame, const AnyType&, const Args*, const CoreInstance& instance) {
    PlanFrame::CoreInstanceItem made;
    if (auto* inst = std::get_if<CoreInstantiate>(&instance.expr)) {
      InstantiateStep step;
      step.module = at(frame.core_modules, inst->module, "core module");
      step.instance = static_cast<uint32_t>(plan_.instance_modules.size());
      for (const wasm::ImportDesc& import : step.module->imports) {
        const CoreInstantiateArg* arg = argument(*inst, import.module);
        if (arg == nullptr) fail("core module import \"" + import.module + "\" has no argument");
        auto item = core_export(frame, arg->instance, import.name);
        if (!item)
          fail("core instance \"" + import.module + "\" exports no \"" + import.name + "\"");
        if (item->extern_kind != import.kind)
          fail("core import \"" + import.module + "\" \"" + import.name + "\" has another kind");
        step.imports.push_back(*item);
      }
      made.module = step.module;
      made.instance = step.instance;
      plan_.instance_modules.push_back(step.module);
      plan_.steps.emplace_back(std::move(step));
    } else {
      for (const auto& e : std::get<std::vector<CoreInlineExport>>(instance.expr))
        made.bundle.emplace_back(e.name, core_item(frame, e.item.sort, e.item.index));
    }
    frame.core_instances.push_back(std::move(made));
  }

  void define(PlanFrame&, const AnyType&, const Args*, const std::shared_ptr<CoreType>&) {}

  CoreRef core_item(PlanFrame& frame, CoreSort sort, uint32_t index) {
    return at(frame.core_space(extern_kind(sort)), index, "core item");
  }

  std::optional<CoreRef> core_export(PlanFrame& frame, uint32_t instance, std::string_view name) {
    const auto& from = at(frame.core_instances, instance, "core instance");
    if (from.module == nullptr) {
      for (const auto& [n, ref] : from.bundle) {
        if (n == name) return ref;
      }
      return std::nullopt;
    }
    const auto position = from.module->export_position(name);
    if (!position) return std::nullopt;
    return CoreRef{CoreRef::kExport, from.module->exports[*position].kind, from.instance,
                   *position};
  }

  // ---- component definitions ----

  void define(PlanFrame& frame, const AnyType&, const Args*,
              const std::shared_ptr<Component>& component) {
    plan_.components.push_back(ComponentDef{
        component.get(), frame.resolved->nested.at(frame.nested_seen++).get(), &frame});
    frame.components.push_back(&plan_.components.back());
  }

  Item item(PlanFrame& frame, const SortIndex& index) {
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

  void push(PlanFrame& frame, const Item& item) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, FuncRef>) frame.funcs.push_back(v);
          if constexpr (std::is_same_v<T, const ItemInstance*>) frame.instances.push_back(v);
          if constexpr (std::is_same_v<T, const AnyType*>) frame.types.push_back(v);
          if constexpr (std::is_same_v<T, const ComponentDef*>) frame.components.push_back(v);
          if constexpr (std::is_same_v<T, const PreModule*>) frame.core_modules.push_back(v);
        },
        item);
  }

  void define(PlanFrame& frame, const AnyType&, const Args*, const Instance& instance) {
    ItemInstance& made = plan_.instances.emplace_back();
    if (auto* inst = std::get_if<Instantiate>(&instance.expr)) {
      const ComponentDef* def = at(frame.components, inst->component, "component");
      Args args;
      args.reserve(inst->args.size());
      for (const auto& arg : inst->args)
        args.emplace_back(arg.name, item(frame, arg.item));
      made.exports = run(*def->component, *def->resolved, def->parent, &args).exports;
    } else {
      for (const auto& e : std::get<std::vector<InlineExport>>(instance.expr))
        made.exports.emplace_back(e.name.name, item(frame, e.item));
    }
    frame.instances.push_back(&made);
  }

  void define(PlanFrame& frame, const AnyType&, const Args*, const Alias& alias) {
    if (auto* e = std::get_if<AliasExport>(&alias.target)) {
      const Item* found = at(frame.instances, e->instance, "instance")->find(e->name);
      if (found == nullptr) fail("instance exports no \"" + e->name + "\"");
      push(frame, *found);
    } else if (auto* c = std::get_if<AliasCoreExport>(&alias.target)) {
      if (alias.sort.sort != Sort::kCore) fail("core export aliased as a component sort");
      auto found = core_export(frame, c->instance, c->name);
      if (!found) fail("core instance exports no \"" + c->name + "\"");
      frame.core_space(found->extern_kind).push_back(*found);
    } else {
      const auto& o = std::get<AliasOuter>(alias.target);
      const PlanFrame* target = &frame;
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

  void define(PlanFrame& frame, const AnyType& annotation, const Args*,
              const std::shared_ptr<Type>&) {
    frame.types.push_back(&annotation);
  }

  // The extracted item of an option (a core memory or function index), fetched by an
  // ExtractStep the first time any step uses it.
  uint32_t extracted(const CoreRef& ref) {
    for (const auto& [known, index] : extracted_) {
      if (known == ref) return index;
    }
    const uint32_t index = plan_.extracted++;
    extracted_.emplace_back(ref, index);
    plan_.steps.emplace_back(ExtractStep{index, ref});
    return index;
  }
  std::optional<uint32_t> memory_option(PlanFrame& frame, std::optional<uint32_t> index) {
    if (!index) return std::nullopt;
    return extracted(at(frame.core_memories, *index, "core memory"));
  }
  std::optional<uint32_t> func_option(PlanFrame& frame, std::optional<uint32_t> index) {
    if (!index) return std::nullopt;
    return extracted(core_item(frame, CoreSort::kFunc, *index));
  }

  void define(PlanFrame& frame, const AnyType& annotation, const Args*, const Canon& canon) {
    if (auto* lift = std::get_if<CanonLift>(&canon)) {
      auto* type = std::get_if<FunctionTypePtr>(&annotation);
      if (type == nullptr) fail("a lifted function without a function type");
      LiftStep step;
      step.func = plan_.lifted++;
      step.frame = frame.index;
      step.type = *type;
      step.sig = flatten_function(**type,
                                  lift->options.async ? AbiContext::kAsyncLift : AbiContext::kLift);
      if (lift->options.callback) step.sig.results = {CoreKind::kI32};  // the callback code
      step.core = core_item(frame, CoreSort::kFunc, lift->core_func);
      step.memory = memory_option(frame, lift->options.memory);
      step.realloc = func_option(frame, lift->options.realloc);
      step.post_return = func_option(frame, lift->options.post_return);
      step.callback = func_option(frame, lift->options.callback);
      step.encoding = lift->options.string_encoding;
      step.async = lift->options.async;
      frame.funcs.push_back(FuncRef{nullptr, step.func});
      plan_.steps.emplace_back(std::move(step));
      return;
    }
    CanonStep step;
    step.plan = &canon_plan(canon, annotation);
    step.frame = frame.index;
    if (auto* lower = std::get_if<CanonLower>(&canon)) {
      step.target = at(frame.funcs, lower->func, "func");
      step.memory = memory_option(frame, lower->options.memory);
      step.realloc = func_option(frame, lower->options.realloc);
    } else if (auto* builtin = std::get_if<CanonBuiltin>(&canon)) {
      step.memory = memory_option(frame, async_builtin_memory(*builtin));
      step.realloc = func_option(frame, builtin->options.realloc);
    }
    const CanonPlan& plan = *step.plan;
    if (plan.kind == CanonPlan::kResourceDrop && plan.resource && plan.resource->destructor)
      step.destructor = func_option(frame, plan.resource->destructor);
    frame.core_funcs.push_back(CoreRef{CoreRef::kCanon, wasm::ExternKind::kFunc, plan.id, 0});
    plan_.steps.emplace_back(std::move(step));
  }

  // A new plan for a canon lower or built-in.
  const CanonPlan& canon_plan(const Canon& canon, const AnyType& annotation) {
    const auto* builtin = std::get_if<CanonBuiltin>(&canon);
    const auto* named = std::get_if<ValueTypePtr>(&annotation);
    if (builtin != nullptr && !async_builtin_signature(*builtin, named ? named->get() : nullptr)) {
      fail(async_builtin_name(builtin->opcode) +
           " is not supported yet: Gyre runs component-model async, but not its threads");
    }
    auto p = std::make_unique<CanonPlan>();
    p->id = static_cast<uint32_t>(plan_.canon.size());
    p->name = std::to_string(p->id);
    if (auto* lower = std::get_if<CanonLower>(&canon)) {
      p->kind = CanonPlan::kLower;
      p->type = std::get<FunctionTypePtr>(annotation);
      p->async = lower->options.async;
      p->sig = flatten_function(*p->type, p->async ? AbiContext::kAsyncLower : AbiContext::kLower);
      p->encoding = lower->options.string_encoding;
    } else if (builtin != nullptr) {
      p->kind = CanonPlan::kAsyncBuiltin;
      p->builtin = builtin;
      if (named != nullptr) p->channel = *named;
    } else {
      p->kind = std::holds_alternative<CanonResourceNew>(canon)    ? CanonPlan::kResourceNew
                : std::holds_alternative<CanonResourceDrop>(canon) ? CanonPlan::kResourceDrop
                                                                   : CanonPlan::kResourceRep;
      p->resource = std::get<ResourcePtr>(annotation);
      if (auto drop = drops_.find(p->resource.get()); drop != drops_.end())
        p->host_drop = drop->second;
    }
    return *plan_.canon.emplace_back(std::move(p));
  }

  void define(PlanFrame&, const AnyType&, const Args*, const Start&) {
    fail("component start functions are not supported");
  }
  void define(PlanFrame&, const AnyType&, const Args*, const Value&) {
    fail("component value definitions are not supported");
  }

  void define(PlanFrame& frame, const AnyType& annotation, const Args* args, const Import& import) {
    if (args == nullptr) {
      push(frame, host_item(import.name.name, import.type.kind, annotation));
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

  // The host's implementation of a top-level import.
  Item host_item(const std::string& name, ExternKind kind, const AnyType& type) {
    auto host_function = [&](const AnyType& function_type, const HostFunction* host,
                             std::string import_name) {
      auto& fn = plan_.host_funcs.emplace_back(std::make_unique<ComponentFunction>());
      fn->type = std::get<FunctionTypePtr>(function_type);
      fn->host = host;
      fn->import_name = std::move(import_name);
      return FuncRef{fn.get(), 0};
    };
    if (kind == ExternKind::kFunc)
      return host_function(type, host_.find_function(async_function_name(name)), name);
    if (kind != ExternKind::kInstance) return &type;
    const HostInterface* interface = host_.find(name);
    ItemInstance& made = plan_.instances.emplace_back();
    for (const auto& e : std::get<std::shared_ptr<const InstanceTypeInfo>>(type)->exports) {
      if (e.kind != ExternKind::kFunc) {
        made.exports.emplace_back(e.name, &e.type);
        continue;
      }
      const HostFunction* host = nullptr;
      if (interface != nullptr) {
        auto it = interface->functions.find(async_function_name(e.name));
        if (it != interface->functions.end()) host = &it->second;
      }
      made.exports.emplace_back(e.name, host_function(e.type, host, name + "#" + e.name));
    }
    return &made;
  }

  void define(PlanFrame& frame, const AnyType&, const Args*, const Export& e) {
    Item exported = item(frame, e.item);
    push(frame, exported);
    frame.exports.emplace_back(e.name.name, exported);
  }

  const HostImports& host_;
  const ModuleAt& module_at_;
  HostDrops drops_;
  Plan& plan_;
  std::vector<std::unique_ptr<PlanFrame>> frames_;
  std::vector<std::pair<CoreRef, uint32_t>> extracted_;  // by the item fetched
};

}  // namespace

void build_plan(const Component& component, const ResolvedComponent& resolved,
                const HostImports& host, const ModuleAt& module_at, Plan& plan) {
  PlanBuilder builder(host, module_at, host_drops(resolved.info, host), plan);
  plan.exports = builder.run(component, resolved, nullptr, nullptr).exports;
}

}  // namespace gyre::component
