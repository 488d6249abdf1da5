#include "spin/variables/providers.hpp"

#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "app/identifiers.hpp"
#include "spin/variables/vault_provider.hpp"

namespace gyre::spin::variables {
namespace {

constexpr const char* kDefaultPrefix = "SPIN_VARIABLE";

// Reads one provider table, with errors in the words of Spin's config parser (serde).
class ProviderReader {
 public:
  ProviderReader(const RuntimeConfig& config, const toml::table& table, std::string path)
      : config_(config), table_(table), path_(std::move(path)) {}

  std::string fail(const toml::node& at, std::string_view key, const std::string& why) const {
    return config_.where(at, key.empty() ? path_ : path_ + "." + std::string(key)) + why;
  }

  // Spin refuses unknown fields for env and vault providers.
  std::optional<std::string> deny_unknown(std::initializer_list<std::string_view> known) const {
    for (const auto& [key, value] : table_) {
      bool found = key.str() == "type";
      for (std::string_view k : known)
        found = found || key.str() == k;
      if (found) continue;
      std::string expected;
      size_t i = 0;
      for (std::string_view k : known) {
        expected += (i == 0 ? "" : i + 1 == known.size() ? " or " : ", ");
        expected += "`" + std::string(k) + "`";
        ++i;
      }
      return fail(value, key.str(),
                  "unknown field `" + std::string(key.str()) + "`, expected " + expected);
    }
    return std::nullopt;
  }

  // An optional string field; `error` is set when it is there but not a string.
  std::optional<std::string> string(std::string_view key, std::string& error) const {
    const toml::node* node = table_.get(key);
    if (!node) return std::nullopt;
    if (auto value = node->value<std::string>(); value && node->is_string()) return *value;
    error = fail(*node, key, "invalid type: expected a string");
    return std::nullopt;
  }

  std::optional<std::string> required(std::string_view key, std::string& error) const {
    auto value = string(key, error);
    if (!value && error.empty())
      error = fail(table_, "", "missing field `" + std::string(key) + "`");
    return value;
  }

  const toml::table& table() const { return table_; }

 private:
  const RuntimeConfig& config_;
  const toml::table& table_;
  std::string path_;
};

using Provider = std::unique_ptr<app::VariableProvider>;

Result<Provider, std::string> env_provider(const ProviderReader& r,
                                           const app::Environment& environment) {
  if (auto unknown = r.deny_unknown({"prefix", "dotenv_path"})) return *unknown;
  std::string error;
  auto prefix = r.string("prefix", error);
  auto dotenv = r.string("dotenv_path", error);
  if (!error.empty()) return error;
  // A configured env provider reads a dotenv file only when given one; the path is used
  // as written (relative to the working directory), as Spin uses it.
  return Provider(std::make_unique<app::EnvironmentProvider>(
      environment, prefix.value_or(kDefaultPrefix), std::move(dotenv)));
}

Result<Provider, std::string> static_provider(const ProviderReader& r) {
  const toml::node* node = r.table().get("values");
  if (!node) return r.fail(r.table(), "", "missing field `values`");
  const toml::table* table = node->as_table();
  if (!table) return r.fail(*node, "values", "invalid type: expected a map of strings");
  Values values;
  for (const auto& [key, value] : *table) {
    if (!value.is_string()) {
      return r.fail(value, "values." + std::string(key.str()), "invalid type: expected a string");
    }
    values.emplace(key.str(), *value.value<std::string>());
  }
  return Provider(std::make_unique<StaticProvider>(std::move(values)));
}

Result<Provider, std::string> vault_provider(const ProviderReader& r) {
  if (auto unknown = r.deny_unknown({"url", "token", "mount", "prefix"})) return *unknown;
  std::string error;
  VaultConfig config;
  auto url = r.required("url", error);
  auto token = error.empty() ? r.required("token", error) : std::nullopt;
  auto mount = error.empty() ? r.required("mount", error) : std::nullopt;
  auto prefix = error.empty() ? r.string("prefix", error) : std::nullopt;
  if (!error.empty()) return error;
  config = VaultConfig{*url, *token, *mount, prefix};
  if (!vault_secret_url(config, "x")) {
    return r.fail(*r.table().get("url"), "url",
                  "invalid Vault URL " + app::debug_quote(*url) + ": expected http:// or https://");
  }
  return Provider(std::make_unique<VaultProvider>(std::move(config)));
}

Result<Provider, std::string> provider(const RuntimeConfig& config, const toml::node& node,
                                       const std::string& path,
                                       const app::Environment& environment) {
  const toml::table* table = node.as_table();
  if (!table) return config.where(node, path) + "invalid type: expected a table";
  ProviderReader reader(config, *table, path);
  std::string error;
  auto type = reader.required("type", error);
  if (!type) return error;
  if (*type == "env") return env_provider(reader, environment);
  if (*type == "static") return static_provider(reader);
  if (*type == "vault") return vault_provider(reader);
  const toml::node& at = *table->get("type");
  if (*type == "azure_key_vault") {
    return reader.fail(at, "type", "the azure_key_vault variables provider is not supported");
  }
  return reader.fail(at, "type",
                     "unknown variant `" + *type +
                         "`, expected one of `azure_key_vault`, `static`, `vault`, `env`");
}

}  // namespace

StaticProvider::StaticProvider(Values values) : values_(std::move(values)) {}

Result<std::optional<std::string>, app::VariableError> StaticProvider::get(std::string_view name,
                                                                           Suspender*) const {
  if (auto found = values_.find(name); found != values_.end())
    return std::optional<std::string>(found->second);
  return std::optional<std::string>();
}

bool StaticProvider::may_resolve(std::string_view name) const {
  return values_.find(name) != values_.end();
}

Result<std::vector<std::unique_ptr<app::VariableProvider>>, std::string> providers_from(
    RuntimeConfig& config, const app::Environment& environment) {
  std::vector<Provider> providers;
  // As Spin: the older name is read (and counted as used) only without the newer one.
  std::string key = "variables_provider";
  const toml::node* section = config.take(key);
  if (!section) section = config.take(key = "config_provider");
  if (section) {
    const toml::array* array = section->as_array();
    if (!array) return config.where(*section, key) + "invalid type: expected a sequence";
    for (size_t i = 0; i < array->size(); ++i) {
      auto made =
          provider(config, *array->get(i), key + "[" + std::to_string(i) + "]", environment);
      if (!made) return std::move(made).error();
      providers.push_back(std::move(made).value());
    }
  }
  providers.push_back(
      std::make_unique<app::EnvironmentProvider>(environment, kDefaultPrefix, ".env"));
  return providers;
}

Result<Values, std::string> read_variable_flags(const std::vector<std::string>& flags) {
  Values out;
  auto read = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  for (const std::string& flag : flags) {
    if (flag.starts_with('@')) {
      const std::string path = flag.substr(1);
      const std::string quoted = "\"" + path + "\"";
      const bool json = path.ends_with(".json");
      if (!json && !path.ends_with(".toml"))
        return std::string("variable files must end in .json or .toml");
      auto text = read(path);
      if (!text) return "Failed to read " + quoted + ".";
      const std::string parse_error =
          std::string("Failed to parse ") + (json ? "JSON" : "TOML") + " from " + quoted + ".";
      if (json) {
        auto parsed = nlohmann::json::parse(*text, nullptr, false);
        if (!parsed.is_object()) return parse_error;
        for (const auto& [key, value] : parsed.items()) {
          if (!value.is_string()) return parse_error;
          out[key] = value.get<std::string>();
        }
      } else {
        toml::table parsed;
        try {
          parsed = toml::parse(*text, path);
        } catch (const toml::parse_error&) {
          return parse_error;
        }
        for (const auto& [key, value] : parsed) {
          if (!value.is_string()) return parse_error;
          out[std::string(key.str())] = *value.value<std::string>();
        }
      }
    } else if (size_t eq = flag.find('='); eq != flag.npos) {
      std::string value = flag.substr(eq + 1);
      if (value.starts_with('@')) {
        auto text = read(value.substr(1));
        if (!text) return "Failed to read \"" + value.substr(1) + "\".";
        value = std::move(*text);
      }
      out[flag.substr(0, eq)] = std::move(value);
    } else {
      return std::string("variables must be in the form 'key=value' or '@file'");
    }
  }
  return out;
}

Result<app::ResolvedVariables, std::string> resolve_variables(const app::Manifest& manifest,
                                                              RuntimeConfig& config,
                                                              const app::Environment& environment,
                                                              const Log& log, Values command_line) {
  auto providers = providers_from(config, environment);
  if (!providers) return std::move(providers).error();
  providers->insert(providers->begin(), std::make_unique<StaticProvider>(std::move(command_line)));
  auto resolver = app::VariableResolver::create(manifest, std::move(providers).value());
  if (!resolver) return resolver.error().describe();
  auto resolved = app::resolve_variables(
      std::make_shared<const app::VariableResolver>(std::move(resolver).value()));
  if (!resolved) return std::move(resolved).error();
  for (const auto& warning : resolved->warnings)
    if (log) log("Warning: " + warning + "\n");
  return std::move(resolved).value();
}

}  // namespace gyre::spin::variables
