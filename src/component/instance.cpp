#include "component/instance_parts.hpp"

namespace gyre::component {

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
    if (n != name && async_function_name(n) != name) continue;
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

}  // namespace gyre::component
