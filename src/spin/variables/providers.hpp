// Where an app's variables get their values, as Spin's runtime config sets it up: the
// providers of `[[variables_provider]]` (or, when that is absent, Spin's older name
// `[[config_provider]]`) in file order, then always the default environment provider
// (SPIN_VARIABLE_NAME, then `.env` in the working directory). The first provider with
// a value wins; a variable no provider has takes its default.
//
//   [[variables_provider]]
//   type = "env"          # prefix = "MYAPP" (default SPIN_VARIABLE), dotenv_path = "x.env"
//   [[variables_provider]]
//   type = "static"
//   values = { api_host = "example.com" }
//   [[variables_provider]]
//   type = "vault"        # url, token, mount; prefix optional
//   url = "http://127.0.0.1:8200"
//   token = "root"
//   mount = "secret"
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/manifest.hpp"
#include "app/variables.hpp"
#include "base/result.hpp"
#include "spin/factor.hpp"
#include "spin/runtime_config.hpp"

namespace gyre::spin::variables {

using Values = std::map<std::string, std::string, std::less<>>;

// Spin's static provider: a fixed table of values.
class StaticProvider final : public app::VariableProvider {
 public:
  explicit StaticProvider(Values values);
  Result<std::optional<std::string>, app::VariableError> get(std::string_view name,
                                                             Suspender*) const override;
  bool may_resolve(std::string_view name) const override;

 private:
  Values values_;
};

// Takes the provider sections of `config` and builds the providers, the default
// environment provider over `environment` last. Errors name the file, line and key.
Result<std::vector<std::unique_ptr<app::VariableProvider>>, std::string> providers_from(
    RuntimeConfig& config, const app::Environment& environment);

// The values of `spin up --variable` flags as Spin reads them: "key=value", "key=@file"
// (the file's text), "@file.json" or "@file.toml" (a table of strings); later flags win.
Result<Values, std::string> read_variable_flags(const std::vector<std::string>& flags);

// What `gyre up` does before its factors load: the providers (a static one with the
// command line's `values` first, as Spin puts its --variable flags before everything),
// the app's variables and templates checked, Spin's start-up check that every required
// variable has a provider (its error stops the app), and every variable resolved once
// for templated settings (a provider's failure is a warning on `log`; lookups at run
// time ask again).
Result<app::ResolvedVariables, std::string> resolve_variables(const app::Manifest& manifest,
                                                              RuntimeConfig& config,
                                                              const app::Environment& environment,
                                                              const Log& log,
                                                              Values command_line = {});

}  // namespace gyre::spin::variables
