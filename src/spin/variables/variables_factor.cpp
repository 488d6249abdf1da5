#include "spin/variables/variables_factor.hpp"

#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "app/identifiers.hpp"
#include "app/variables.hpp"
#include "host/define.hpp"
#include "host/waiting.hpp"

namespace gyre::spin::variables {

// The error variants of the interfaces, as C++ values (every case carries a string).
struct VariablesError {  // fermyon:spin/variables and spin:variables/variables
  std::variant<std::string, std::string, std::string, std::string> value;
};
struct ConfigError {  // fermyon:spin/config
  std::variant<std::string, std::string, std::string, std::string> value;
};
struct StoreError {  // wasi:config/store
  std::variant<std::string, std::string> value;
};

}  // namespace gyre::spin::variables

namespace gyre::host {
template <>
struct VariantLabels<spin::variables::VariablesError> {
  static constexpr const char* labels[] = {"invalid-name", "undefined", "provider", "other"};
};
template <>
struct VariantLabels<spin::variables::ConfigError> {
  static constexpr const char* labels[] = {"provider", "invalid-key", "invalid-schema", "other"};
};
template <>
struct VariantLabels<spin::variables::StoreError> {
  static constexpr const char* labels[] = {"upstream", "io"};
};
}  // namespace gyre::host

namespace gyre::spin::variables {
namespace {

using app::VariableError;
using Kind = app::VariableError::Kind;
using Resolver = std::shared_ptr<const app::VariableResolver>;

template <size_t I, class E>
E error_case(std::string message) {
  return E{decltype(E::value)(std::in_place_index<I>, std::move(message))};
}

VariablesError variables_error(VariableError e) {
  switch (e.kind) {
    case Kind::kInvalidName:
      return error_case<0, VariablesError>(std::move(e.message));
    case Kind::kUndefined:
      return error_case<1, VariablesError>(std::move(e.message));
    case Kind::kProvider:
      return error_case<2, VariablesError>(std::move(e.message));
    case Kind::kOther:
      break;
  }
  return error_case<3, VariablesError>(std::move(e.message));
}

// Spin 1's errors come from Spin 2's: an undefined variable is a provider error, and
// errors without a case of their own are `other` with the Spin 2 error's Rust Debug text.
ConfigError config_error(VariableError e) {
  switch (e.kind) {
    case Kind::kInvalidName:
      return error_case<1, ConfigError>(std::move(e.message));
    case Kind::kUndefined:
      return error_case<0, ConfigError>(std::move(e.message));
    case Kind::kProvider:
      return error_case<3, ConfigError>("Error::Provider(" + app::debug_quote(e.message) + ")");
    case Kind::kOther:
      break;
  }
  return error_case<3, ConfigError>("Error::Other(" + app::debug_quote(e.message) + ")");
}

StoreError store_error(VariableError e) {
  if (e.kind == Kind::kProvider) return error_case<0, StoreError>(std::move(e.message));
  return error_case<1, StoreError>(std::move(e.message));
}

void add_bindings(component::HostImports& imports, Resolver resolver, std::string component) {
  // A provider that asks a service (Vault) waits for it through the guest's fiber.
  auto get = [resolver, component](host::Context& cx, std::string_view name) {
    return resolver->resolve(component, name, host::suspender_of(cx.instance));
  };
  using VariablesResult = host::Result<std::string, VariablesError>;
  auto variables_get = [get](host::Context& cx, std::string_view name) -> VariablesResult {
    auto value = get(cx, name);
    if (!value) return VariablesResult::err(variables_error(std::move(value).error()));
    return VariablesResult::ok(std::move(value).value());
  };
  host::define(imports, "fermyon:spin/variables@2.0.0", "get", variables_get);
  host::define(imports, "spin:variables/variables@3.0.0", "get", variables_get);

  using ConfigResult = host::Result<std::string, ConfigError>;
  host::define(imports, "fermyon:spin/config", "get-config",
               [get](host::Context& cx, std::string_view key) -> ConfigResult {
                 auto value = get(cx, key);
                 if (!value) return ConfigResult::err(config_error(std::move(value).error()));
                 return ConfigResult::ok(std::move(value).value());
               });

  constexpr const char* kStore = "wasi:config/store@0.2.0-draft-2024-09-27";
  using StoreGet = host::Result<std::optional<std::string>, StoreError>;
  host::define(imports, kStore, "get", [get](host::Context& cx, std::string_view key) -> StoreGet {
    auto value = get(cx, key);
    if (value) return StoreGet::ok(std::move(value).value());
    VariableError e = std::move(value).error();
    if (e.kind == Kind::kUndefined || e.kind == Kind::kInvalidName) return StoreGet::ok({});
    return StoreGet::err(store_error(std::move(e)));
  });
  using Pairs = std::vector<std::tuple<std::string, std::string>>;
  using StoreGetAll = host::Result<Pairs, StoreError>;
  host::define(imports, kStore, "get-all", [resolver, component](host::Context& cx) -> StoreGetAll {
    auto all = resolver->resolve_all(component, host::suspender_of(cx.instance));
    if (!all) return StoreGetAll::err(store_error(std::move(all).error()));
    Pairs pairs;
    for (auto& [name, value] : *all)
      pairs.emplace_back(std::move(name), std::move(value));
    return StoreGetAll::ok(std::move(pairs));
  });
}

class VariablesFactor final : public Factor {
 public:
  Result<void, std::string> configure_app(AppContext& app) override {
    resolver_ = app.variables.resolver;
    if (resolver_) return {};
    // Variables resolved without providers (by a caller other than gyre up): values are
    // the defaults.
    auto made = app::VariableResolver::create(app.manifest, {});
    if (!made) return made.error().describe();
    resolver_ = std::make_shared<const app::VariableResolver>(std::move(made).value());
    return {};
  }

  Result<void, std::string> add_component(component::HostImports& imports,
                                          const ComponentContext& component) override {
    if (!resolver_) return std::string("variables: the app is not configured");
    add_bindings(imports, resolver_, component.id);
    return {};
  }

 private:
  Resolver resolver_;
};

}  // namespace

std::unique_ptr<Factor> make_factor() {
  return std::make_unique<VariablesFactor>();
}

}  // namespace gyre::spin::variables
