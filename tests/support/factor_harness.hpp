// The part of a factor's bindings test that does not depend on the factor: a C fixture
// component linked strictly (every import served, every typed signature matching the WIT)
// against the imports the test's factors add (and WASI), instantiated, and its exports
// called with the outcome as the text the guest returned.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "component/instance.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::testing {

class FactorHarness {
 public:
  FactorHarness();
  ~FactorHarness();
  FactorHarness(const FactorHarness&) = delete;
  FactorHarness& operator=(const FactorHarness&) = delete;

  // Drops the previous guest; imports holding WASI only, for the factors to add theirs to.
  component::HostImports& fresh_imports();
  // Links and instantiates fixture_path(fixture) with those imports: "" when the guest is
  // ready, else why not.
  std::string instantiate(const std::string& fixture);
  // The string the export returned, or "trapped: ..." when the guest trapped.
  std::string call(std::string_view function, std::span<const component::Val> args);
  // Drops the guest (before the factors that served it go).
  void reset();

  // For a test that serves several components at once: fixture_path(fixture) linked with
  // `imports`, or why not.
  Result<std::shared_ptr<const component::ComponentPre>, std::string> link(
      const std::string& fixture, const component::HostImports& imports);
  // Calls an export of a fresh instance of `pre`: as call(), or "instantiate: ..." when the
  // instance could not be made.
  std::string call_once(const component::ComponentPre& pre, std::string_view function,
                        std::span<const component::Val> args);

 private:
  std::unique_ptr<wasm::Engine> engine_;
  std::unique_ptr<component::HostImports> imports_;
  std::shared_ptr<const component::ComponentPre> pre_;
  std::unique_ptr<wasm::Store> store_;
  std::unique_ptr<component::ComponentInstance> instance_;
};

}  // namespace gyre::testing
