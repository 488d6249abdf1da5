#include "support/factor_harness.hpp"

#include <fstream>

#include "support/engine.hpp"
#include "support/process.hpp"
#include "wasi/wasi.hpp"

namespace gyre::testing {
namespace {

std::string call_export(component::ComponentInstance& instance, std::string_view function,
                        std::span<const component::Val> args) {
  const auto* fn = instance.function(function);
  if (fn == nullptr) return "no export " + std::string(function);
  auto result = instance.call(*fn, args);
  if (!result.ok()) return "trapped: " + result.error().describe();
  return (*result)->bytes;
}

}  // namespace

FactorHarness::FactorHarness() : engine_(test_engine()) {}

FactorHarness::~FactorHarness() {
  reset();
}

component::HostImports& FactorHarness::fresh_imports() {
  reset();
  imports_ = std::make_unique<component::HostImports>();
  wasi::add_wasi(*imports_, wasi::CliConfig{}, std::make_shared<wasi::SystemClock>(), {});
  return *imports_;
}

Result<std::shared_ptr<const component::ComponentPre>, std::string> FactorHarness::link(
    const std::string& fixture, const component::HostImports& imports) {
  return component::ComponentPre::create(*engine_, read_file(fixture_path(fixture)), imports);
}

std::string FactorHarness::instantiate(const std::string& fixture) {
  auto pre = link(fixture, *imports_);
  if (!pre.ok()) return pre.error();
  pre_ = std::move(pre).value();
  store_ = std::make_unique<wasm::Store>(*engine_);
  auto instance = pre_->instantiate(*store_);
  if (!instance.ok()) return instance.error().describe();
  instance_ = std::move(instance).value();
  return "";
}

std::string FactorHarness::call(std::string_view function, std::span<const component::Val> args) {
  return call_export(*instance_, function, args);
}

std::string FactorHarness::call_once(const component::ComponentPre& pre, std::string_view function,
                                     std::span<const component::Val> args) {
  wasm::Store store(*engine_);
  auto instance = pre.instantiate(store);
  if (!instance.ok()) return "instantiate: " + instance.error().describe();
  return call_export(**instance, function, args);
}

void FactorHarness::reset() {
  instance_.reset();
  store_.reset();
  pre_.reset();
  imports_.reset();
}

std::string GuestApp::start(FactorHarness& harness, const std::string& manifest,
                            std::vector<std::unique_ptr<spin::Factor>> factors,
                            const std::string& fixture, const std::string& runtime_config,
                            const GuestDirs& where) {
  harness.reset();
  stop();
  auto parsed = app::parse_manifest(manifest, "spin.toml");
  if (!parsed) return "manifest";
  manifest_ = std::make_unique<app::Manifest>(std::move(parsed).value());
  auto variables = app::resolve_variables(*manifest_, {});
  if (!variables) return "variables";
  variables_ = std::make_unique<app::ResolvedVariables>(std::move(variables).value());
  if (!where.runtime_config_file.empty())
    std::ofstream(where.runtime_config_file) << runtime_config;
  auto config = where.runtime_config_file.empty()
                    ? spin::RuntimeConfig::parse(runtime_config, "runtime-config.toml")
                    : spin::RuntimeConfig::load(where.runtime_config_file);
  if (!config) return config.error();
  config_ = std::make_unique<spin::RuntimeConfig>(std::move(config).value());
  const spin::Log log = [this](std::string_view s) { log_ += s; };
  spin::AppContext app{*manifest_, *variables_, *config_, where.app_dir, where.state_dir, log};
  factors_ = std::move(factors);
  for (auto& factor : factors_) {
    if (auto configured = factor->configure_app(app); !configured) return configured.error();
  }
  auto hosts = app::AllowedHosts::parse(*manifest_, "guest", variables_->application);
  if (!hosts) return hosts.error().describe();
  hosts_ = std::make_unique<app::AllowedHosts>(std::move(hosts).value());
  component::HostImports& imports = harness.fresh_imports();
  const spin::ComponentContext guest{"guest", *manifest_->components.find("guest"), *hosts_, log};
  for (auto& factor : factors_) {
    if (auto added = factor->add_component(imports, guest); !added) return added.error();
  }
  return harness.instantiate(fixture);
}

std::string guest_manifest(const std::string& app, const std::string& grants) {
  return "spin_manifest_version = 2\n[application]\nname = \"" + app +
         "\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"guest\"\n"
         "[component.guest]\nsource = \"guest.wasm\"\n" +
         grants + "\n";
}

}  // namespace gyre::testing
