#include "component/instance_parts.hpp"

namespace gyre::component {

// ---- instantiation: the plan's steps, run in a store -----------------------------------------

class Instantiator {
 public:
  Instantiator(Plan& plan, ComponentInstance& out) : plan_(plan), out_(out) {}

  void run() {
    out_.plan_ = &plan_;
    out_.frames_.resize(plan_.frames.size());
    for (size_t i = 0; i < plan_.frames.size(); ++i)
      out_.frames_[i].component = plan_.frames[i];
    out_.core_instances_.resize(plan_.instance_modules.size());
    out_.lifted_.resize(plan_.lifted);
    out_.extracted_.resize(plan_.extracted);
    out_.slots_.reserve(plan_.canon.size());  // made by the steps, in plan id order
    for (const Step& step : plan_.steps)
      std::visit([&](const auto& s) { perform(s); }, step);
  }

 private:
  wasmtime_context* store() const { return out_.store_; }

  void perform(const InstantiateStep& step) {
    const PreModule& module = *step.module;
    Result<wasm::Instance, wasm::Error> created = [&]() -> Result<wasm::Instance, wasm::Error> {
      if (step.prepared != nullptr) return step.prepared->instantiate(store());
      std::vector<wasm::Extern> imports;
      imports.reserve(step.imports.size());
      for (const CoreRef& ref : step.imports)
        imports.push_back(resolve(ref));
      return wasm::Instance::create(store(), module.module, imports);
    }();
    if (!created) throw GuestError{std::move(created).error()};
    module.make_handles(store(), *created);
    out_.core_instances_[step.instance] = *created;
  }

  void perform(const ExtractStep& step) { out_.extracted_[step.index] = resolve(step.item); }

  void perform(const StartStep& step) {
    auto called = func(step.func).call_raw(store(), {});
    if (!called) throw GuestError{std::move(called).error()};
  }

  void perform(const CanonStep& step) {
    const CanonPlan& plan = *step.plan;
    if (out_.slots_.size() != plan.id) fail("canon steps out of order");
    Frame& frame = out_.frames_[step.frame];
    if (plan.kind == CanonPlan::kLower) {
      Lowering& l = std::get<Lowering>(out_.slots_.emplace_back(std::in_place_type<Lowering>));
      l.plan = &plan;
      l.instance = &out_;
      l.caller = &frame;
      l.target = function(step.target);
      if (step.memory) l.memory = memory(*step.memory);
      if (step.realloc) l.realloc = func(*step.realloc);
      return;
    }
    Builtin& b = std::get<Builtin>(out_.slots_.emplace_back(std::in_place_type<Builtin>));
    b.plan = &plan;
    b.frame = &frame;
    b.concurrency = out_.concurrency_.get();
    if (step.memory) b.memory = memory(*step.memory);
    if (step.realloc) b.realloc = func(*step.realloc);
    if (step.destructor) b.destructor = func(*step.destructor);
  }

  void perform(const LiftStep& step) {
    ComponentFunction& fn = out_.lifted_[step.func];
    fn.type = step.type;
    fn.sig = &step.sig;
    fn.frame = &out_.frames_[step.frame];
    fn.core = func(step.core);
    fn.encoding = step.encoding;
    if (step.memory) fn.memory = memory(*step.memory);
    if (step.realloc) fn.realloc = func(*step.realloc);
    if (step.post_return) fn.post_return = func(*step.post_return);
    fn.async = step.async;
    if (step.callback) fn.callback = func(*step.callback);
  }

  const ComponentFunction* function(FuncRef ref) const {
    return ref.host != nullptr ? ref.host : &out_.lifted_[ref.lifted];
  }

  wasm::Extern resolve(const CoreRef& ref) {
    if (ref.kind == CoreRef::kCanon) return canon_func(*plan_.canon[ref.index]);
    const auto& instance = out_.core_instances_[ref.index];
    if (!instance) fail("a core instance is used before it is made");
    const auto& handles = plan_.instance_modules[ref.index]->handles;
    auto found = instance->get(store(), handles[ref.position]);
    if (!found) fail("a core instance lacks an export its module declares");
    return *found;
  }
  wasm::Func func(const CoreRef& ref) { return wasm::Func(resolve(ref).handle); }
  wasm::Func func(uint32_t extracted) { return wasm::Func(out_.extracted_[extracted].handle); }
  wasm::Memory memory(uint32_t extracted) {
    return wasm::Memory(out_.extracted_[extracted].handle);
  }

  // A plan's function in this store: through the re-export instance, made the first time
  // one is asked for (with the shim bypassed, a small component may never ask).
  wasm::Extern canon_func(const CanonPlan& plan) {
    Plan& shared = plan_;
    if (!out_.canon_ && shared.canon_pre) {
      auto made = shared.canon_pre->instantiate(store());
      if (!made) throw GuestError{std::move(made).error()};
      std::call_once(shared.canon_handles_once, [&] {
        for (const auto& p : shared.canon)
          shared.canon_handles.push_back(wasm::ExportHandle::find(store(), *made, p->name));
      });
      out_.canon_ = *made;
    }
    if (out_.canon_ && plan.id < shared.canon_handles.size()) {
      if (auto found = out_.canon_->get(store(), shared.canon_handles[plan.id])) return *found;
    }
    return *shared.linker.get(store(), "gyre:canon", plan.name);
  }

  Plan& plan_;  // shared by every store: only canon_handles is written, once
  ComponentInstance& out_;
};

Result<std::unique_ptr<ComponentInstance>, wasm::Error> ComponentPre::instantiate(
    wasm::Store& store) const {
  std::unique_ptr<ComponentInstance> instance(new ComponentInstance(store.context()));
  store.set_data(instance.get());
  try {
    Instantiator(*plan_, *instance).run();
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
      frames_(&arena_),
      lifted_(&arena_),
      extracted_(&arena_),
      slots_(&arena_) {
  host_state_.reserve(8);  // WASI and wasi:http keep about that many kinds of state
  concurrency_->scheduler.set_runner([this] { return advance(); });
}
ComponentInstance::~ComponentInstance() = default;

namespace {

const ComponentFunction* lifted_or_host(const Item* item,
                                        const std::pmr::vector<ComponentFunction>& lifted) {
  const auto* fn = item != nullptr ? std::get_if<FuncRef>(item) : nullptr;
  if (fn == nullptr) return nullptr;
  return fn->host != nullptr ? fn->host : &lifted[fn->lifted];
}

}  // namespace

const ComponentFunction* ComponentInstance::function(std::string_view name) const {
  for (const auto& [n, item] : plan_->exports) {
    if (n != name && async_function_name(n) != name) continue;
    if (const ComponentFunction* fn = lifted_or_host(&item, lifted_)) return fn;
  }
  return nullptr;
}

const ComponentFunction* ComponentInstance::function(std::string_view instance,
                                                     std::string_view name) const {
  for (const auto& [n, item] : plan_->exports) {
    if (n != instance) continue;
    auto* exported = std::get_if<const ItemInstance*>(&item);
    return exported != nullptr ? lifted_or_host((*exported)->find(name), lifted_) : nullptr;
  }
  return nullptr;
}

const FunctionType& ComponentInstance::type_of(const ComponentFunction& function) const {
  return *function.type;
}

}  // namespace gyre::component
