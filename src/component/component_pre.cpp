// Linking a component (ComponentPre::create): decoding, checking the host's imports,
// compiling the core modules, and compiling the definitions into the plan's steps.
#include "component/instance_parts.hpp"

namespace gyre::component {

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
  try {
    build_plan(
        pre->component_, pre->resolved_, host,
        [&](uint64_t offset) { return pre->module_at(offset); }, plan);
  } catch (const AbiTrap& trap) {
    return "cannot instantiate the component: " + trap.message;
  }
  for (const auto& p : plan.canon) {
    auto defined = plan.linker.define("gyre:canon", p->name, core_signature(*p), CanonCalls::shared,
                                      p.get(), nullptr);
    if (!defined) return "cannot define a canonical function: " + defined.error().describe();
  }
  bypass_shims(engine, plan);
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

  return std::shared_ptr<const ComponentPre>(std::move(pre));
}

}  // namespace gyre::component
