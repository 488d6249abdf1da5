// A Spin host capability, in the shape every one of them has (Spin calls them factors):
// configuration from the manifest and the runtime-config file, state the whole app shares,
// per-instance state, and bindings for every interface version it serves. Adding a
// capability is a folder under src/spin/ with a Factor and one line in factors.cpp.
//
// Per-instance state lives in the component instance (`ComponentInstance::host_state<T>()`),
// created on first use and gone with the instance, so a factor keeps none of its own.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "app/manifest.hpp"
#include "app/outbound_hosts.hpp"
#include "app/variables.hpp"
#include "base/result.hpp"
#include "component/host_imports.hpp"
#include "spin/runtime_config.hpp"

namespace gyre::spin {

using Log = std::function<void(std::string_view)>;

// What a factor sees of the app while it loads.
struct AppContext {
  const app::Manifest& manifest;
  const app::ResolvedVariables& variables;
  RuntimeConfig& runtime_config;
  std::filesystem::path app_dir;    // where spin.toml is
  std::filesystem::path state_dir;  // `.spin/` by default; empty when the app has none
  Log log;                          // the terminal
};

// What a factor sees of one component when it adds its bindings.
struct ComponentContext {
  std::string id;
  const app::Component& component;
  // Its allowed_outbound_hosts, for capabilities that open connections.
  const app::AllowedHosts& allowed_hosts;
  Log log;
};

class Factor {
 public:
  virtual ~Factor() = default;

  // Reads what the factor needs from the manifest and takes its runtime-config sections,
  // and sets up what the app shares (stores, connection pools). An error names the file,
  // the key and what is wrong; the app then does not start.
  virtual Result<void, std::string> configure_app(AppContext& app) = 0;

  // Adds the factor's interfaces, every version it serves, to one component's imports,
  // granting what that component's manifest grants (and denying the rest with each
  // interface's own error, never a trap).
  virtual Result<void, std::string> add_component(component::HostImports& imports,
                                                  const ComponentContext& component) = 0;
};

}  // namespace gyre::spin
