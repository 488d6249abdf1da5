// The plan of a component, worked out once when it is linked (ComponentPre::create):
// which canon definitions become which host functions, where each core import comes
// from, wit-component's shims bypassed, and what is the same in every instance.
#include "component/instance_parts.hpp"

namespace gyre::component {

// The host's implementation of a top-level import, kept in `plan`.
RuntimeItem host_item(const HostImports& host, const std::string& name, ExternKind kind,
                      const AnyType& type, Plan& plan) {
  if (kind == ExternKind::kFunc) {
    auto& fn = plan.host_funcs.emplace_back(std::make_unique<ComponentFunction>());
    fn->type = std::get<FunctionTypePtr>(type);
    fn->host = host.find_function(async_function_name(name));
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
        auto it = interface->functions.find(async_function_name(e.name));
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

namespace {

// Every import the host lacks, one line an interface: its name alone when the host has
// none of it (a WASI version Gyre does not serve, say), else the functions it lacks.
std::string missing_imports_message(const ComponentTypeInfo& info, const HostImports& host,
                                    const std::vector<std::string>& missing) {
  std::string message = "the host does not provide " + std::to_string(missing.size()) +
                        " of the functions the component imports:";
  for (const NamedItem& import : info.imports) {
    const std::string prefix = import.name + "#";
    std::string functions;
    for (const auto& name : missing) {
      if (name == import.name) message += "\n  " + name;
      if (!name.starts_with(prefix)) continue;
      functions += (functions.empty() ? "" : ", ") + name.substr(prefix.size());
    }
    if (functions.empty()) continue;
    message += "\n  " + import.name;
    if (host.find(import.name) != nullptr) message += ": " + functions;
  }
  return message;
}

}  // namespace

Result<std::shared_ptr<const ComponentPre>, std::string> ComponentPre::create(
    wasm::Engine& engine, std::span<const uint8_t> bytes, const HostImports& host,
    LinkOptions options) {
  std::shared_ptr<ComponentPre> pre(new ComponentPre());
  pre->host_ = &host;
  auto decoded = decode(bytes);
  if (!decoded) return "malformed component " + decoded.error().describe();
  pre->component_ = std::move(decoded).value();
  auto resolved = resolve_component(pre->component_);
  if (!resolved) return "invalid component: " + resolved.error().message;
  pre->resolved_ = std::move(resolved).value();

  // Every import the host lacks, named at once.
  for (const NamedItem& import : pre->resolved_.info.imports) {
    if (import.kind == ExternKind::kFunc) {
      if (!host.find_function(async_function_name(import.name)))
        pre->missing_.push_back(import.name);
    } else if (import.kind == ExternKind::kInstance) {
      const HostInterface* interface = host.find(import.name);
      for (const auto& e :
           std::get<std::shared_ptr<const InstanceTypeInfo>>(import.type)->exports) {
        if (e.kind != ExternKind::kFunc) continue;
        if (interface == nullptr || !interface->functions.count(async_function_name(e.name))) {
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
      auto check = interface->signatures.find(async_function_name(e.name));
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
  if (!pre->missing_.empty() && !options.trap_on_missing_imports)
    return missing_imports_message(pre->resolved_.info, host, pre->missing_);
  for (const ByteRange& range : core_module_ranges(pre->component_)) {
    auto module = engine.compile(bytes.subspan(range.offset, range.size));
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
    const std::span<const uint8_t> code = bytes.subspan(range.offset, range.size);
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

}  // namespace gyre::component
