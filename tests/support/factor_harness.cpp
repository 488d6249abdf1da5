#include "support/factor_harness.hpp"

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

}  // namespace gyre::testing
