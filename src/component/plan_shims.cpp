// wit-component's shim and fixup modules (component/shim_modules.hpp), bypassed by a pass
// over the plan's steps: each use of a shim function becomes the canon function the fixup
// would have put in the shim's table, neither helper is instantiated (the fixup's start
// function is called in its place), and a module whose imports then are all canon
// functions is instantiated from an InstancePre. Only when nothing can tell: nothing else
// uses the shim, and no module instantiated between the shim and the fixup has a start
// function (one could call a stand-in while its table slot is still empty).
#include "component/instance_parts.hpp"

namespace gyre::component {

namespace {

// The import of `step` named (module, name).
const CoreRef* import_of(const InstantiateStep& step, std::string_view module,
                         std::string_view name) {
  const auto& imports = step.module->imports;
  for (size_t i = 0; i < imports.size(); ++i) {
    if (imports[i].module == module && imports[i].name == name) return &step.imports[i];
  }
  return nullptr;
}

// One shim the fixup at step `fixup` fills: what each of its function exports becomes
// (by export position), and the start function called in the fixup's place.
struct Bypass {
  uint32_t shim = 0;
  size_t fixup = 0;
  std::unordered_map<uint32_t, uint32_t> functions;  // export position -> canon plan id
  std::optional<CoreRef> start;
};

std::optional<Bypass> plan_bypass(const Plan& plan, size_t f,
                                  const std::vector<std::optional<size_t>>& step_of) {
  const auto& fixup_step = std::get<InstantiateStep>(plan.steps[f]);
  const TableFixup& fixup = *fixup_step.module->fixup;
  const CoreRef* table = import_of(fixup_step, fixup.table.module, fixup.table.name);
  if (table == nullptr || table->kind != CoreRef::kExport || !step_of[table->index])
    return std::nullopt;
  Bypass bypass{table->index, f, {}, std::nullopt};
  const size_t s = *step_of[bypass.shim];
  const PreModule* shim = std::get<InstantiateStep>(plan.steps[s]).module;
  if (!shim->shim || shim->exports[table->position].name != shim->shim->table_export)
    return std::nullopt;

  // What the fixup stores in each slot: lowered functions and async built-ins only.
  std::unordered_map<uint32_t, uint32_t> slots;
  for (size_t m = 0; m < fixup.elements.size(); ++m) {
    const auto& import = fixup.functions[fixup.elements[m]];
    const CoreRef* ref = import_of(fixup_step, import.module, import.name);
    if (ref == nullptr || ref->kind != CoreRef::kCanon) return std::nullopt;
    const auto kind = plan.canon[ref->index]->kind;
    if (kind != CanonPlan::kLower && kind != CanonPlan::kAsyncBuiltin) return std::nullopt;
    slots[fixup.offset + static_cast<uint32_t>(m)] = ref->index;
  }
  for (const auto& fn : shim->shim->functions) {
    auto slot = slots.find(fn.slot);
    auto position = shim->export_position(fn.export_name);
    if (slot == slots.end() || !position) return std::nullopt;
    bypass.functions[*position] = slot->second;
  }

  // Nothing between the shim and the fixup may run code, nor may anything but the fixup
  // use the shim other than through its functions.
  for (size_t i = s + 1; i < f; ++i) {
    const auto* step = std::get_if<InstantiateStep>(&plan.steps[i]);
    if (step != nullptr && step->module->may_start) return std::nullopt;
  }
  bool unobserved = true;
  for (size_t i = 0; i < plan.steps.size() && unobserved; ++i) {
    if (i == f) continue;
    for_each_ref(plan.steps[i], [&](const CoreRef& ref) {
      if (ref.kind == CoreRef::kExport && ref.index == bypass.shim &&
          !bypass.functions.count(ref.position))
        unobserved = false;
    });
  }
  if (!unobserved) return std::nullopt;
  if (fixup.start) {
    const auto& import = fixup.functions[*fixup.start];
    const CoreRef* ref = import_of(fixup_step, import.module, import.name);
    if (ref == nullptr || ref->kind != CoreRef::kExport || ref->index == bypass.shim)
      return std::nullopt;
    bypass.start = *ref;
  }
  return bypass;
}

// The step's instantiation prepared once, when every import is a canon function.
void prepare(wasm::Engine& engine, InstantiateStep& step, Plan& plan) {
  const PreModule& module = *step.module;
  if (module.shim || module.fixup || module.may_start) return;
  auto linker = std::make_unique<wasm::Linker>(engine);
  for (size_t i = 0; i < module.imports.size(); ++i) {
    const CoreRef& ref = step.imports[i];
    if (ref.kind != CoreRef::kCanon || ref.extern_kind != wasm::ExternKind::kFunc) return;
    CanonPlan& p = *plan.canon[ref.index];
    const auto& import = module.imports[i];
    if (!linker
             ->define(import.module, import.name, core_signature(p), CanonCalls::shared, &p,
                      nullptr)
             .ok())
      return;
  }
  auto prepared = linker->prepare(module.module);
  if (!prepared) return;
  step.prepared = &plan.prepared.emplace_back(std::move(prepared).value());
  plan.linkers.push_back(std::move(linker));
}

}  // namespace

void bypass_shims(wasm::Engine& engine, Plan& plan) {
  std::vector<std::optional<size_t>> step_of(plan.instance_modules.size());
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    if (auto* step = std::get_if<InstantiateStep>(&plan.steps[i])) step_of[step->instance] = i;
  }
  std::vector<Bypass> bypasses;
  std::unordered_set<uint32_t> shims;
  for (size_t f = 0; f < plan.steps.size(); ++f) {
    const auto* step = std::get_if<InstantiateStep>(&plan.steps[f]);
    if (step == nullptr || !step->module->fixup) continue;
    auto bypass = plan_bypass(plan, f, step_of);
    if (bypass && shims.insert(bypass->shim).second) bypasses.push_back(std::move(*bypass));
  }

  std::unordered_map<uint32_t, const Bypass*> by_shim;
  std::unordered_map<size_t, const Bypass*> by_fixup;
  for (const Bypass& b : bypasses) {
    by_shim[b.shim] = &b;
    by_fixup[b.fixup] = &b;
  }
  std::vector<Step> steps;
  steps.reserve(plan.steps.size());
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    Step& step = plan.steps[i];
    if (auto* made = std::get_if<InstantiateStep>(&step)) {
      if (by_shim.count(made->instance)) {
        plan.instance_modules[made->instance] = nullptr;
        continue;
      }
      if (auto b = by_fixup.find(i); b != by_fixup.end()) {
        plan.instance_modules[made->instance] = nullptr;
        if (b->second->start) steps.emplace_back(StartStep{*b->second->start});
        continue;
      }
    }
    for_each_ref(step, [&](CoreRef& ref) {
      if (ref.kind != CoreRef::kExport) return;
      auto b = by_shim.find(ref.index);
      if (b == by_shim.end()) return;
      ref = CoreRef{CoreRef::kCanon, wasm::ExternKind::kFunc, b->second->functions.at(ref.position),
                    0};
    });
    if (auto* made = std::get_if<InstantiateStep>(&step)) prepare(engine, *made, plan);
    steps.push_back(std::move(step));
  }
  plan.steps = std::move(steps);
}

}  // namespace gyre::component
