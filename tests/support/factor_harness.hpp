// The part of a factor's bindings test that does not depend on the factor: a C fixture
// component linked strictly (every import served, every typed signature matching the WIT)
// against the imports the test's factors add (and WASI), instantiated, and its exports
// called with the outcome as the text the guest returned.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "app/manifest.hpp"
#include "app/outbound_hosts.hpp"
#include "app/variables.hpp"
#include "base/result.hpp"
#include "component/instance.hpp"
#include "spin/factor.hpp"
#include "spin/runtime_config.hpp"
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

// The spin.toml of a one-component app named `app`: component "guest" (source guest.wasm)
// behind the HTTP route "/...", with `grants` (TOML lines such as
// `allowed_outbound_hosts = [...]`) in its table.
std::string guest_manifest(const std::string& app, const std::string& grants);

// Where a GuestApp's app lives.
struct GuestDirs {
  std::filesystem::path app_dir = ".";
  std::filesystem::path state_dir;  // none by default
  // When set, the runtime config is written to this file and read from it, so relative
  // paths in it are relative to its folder; otherwise it is parsed from the text.
  std::filesystem::path runtime_config_file;
};

// The one-component app a factor's bindings test loads as `gyre up` would: the manifest
// text, its variables (from no environment), a runtime config from text, the factors
// configured with them and added for component `guest` (its allowed_outbound_hosts
// granted) to the harness's fresh imports, then the fixture instantiated. It keeps what
// the factors refer to, and what they log.
class GuestApp {
 public:
  // "" when the guest is ready, else the first error (a factor's own words).
  std::string start(FactorHarness& harness, const std::string& manifest,
                    std::vector<std::unique_ptr<spin::Factor>> factors, const std::string& fixture,
                    const std::string& runtime_config = "", const GuestDirs& where = {});
  // Drops the factors; the harness's guest must be gone first (harness.reset()).
  void stop() { factors_.clear(); }
  std::string& log() { return log_; }

 private:
  std::string log_;
  std::unique_ptr<app::Manifest> manifest_;
  std::unique_ptr<app::ResolvedVariables> variables_;
  std::unique_ptr<spin::RuntimeConfig> config_;
  std::unique_ptr<app::AllowedHosts> hosts_;
  std::vector<std::unique_ptr<spin::Factor>> factors_;
};

}  // namespace gyre::testing
