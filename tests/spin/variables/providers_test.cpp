// The variables providers as a runtime config sets them up: their order (configured ones
// in file order, the default environment provider last), each provider's settings and
// errors, and the Vault provider against a server on 127.0.0.1 that speaks Vault's KV
// version 2 API.
#include "spin/variables/providers.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "app/manifest.hpp"
#include "app/outbound_hosts.hpp"
#include "http/server.hpp"
#include "spin/variables/vault_provider.hpp"
#include "vault_server.hpp"

namespace gyre::spin::variables {
namespace {

constexpr const char* kManifest = R"(spin_manifest_version = 2
[application]
name = "vars"
[variables]
a = { default = "default a" }
b = { default = "default b" }
c = { default = "default c" }
d = { default = "default d" }
secret = { required = true, secret = true }
[[trigger.http]]
route = "/"
component = "web"
[component.web]
source = "web.wasm"
variables = { all = "{{ a }}|{{ b }}|{{ c }}|{{ d }}" }
)";

app::Manifest manifest() {
  auto parsed = app::parse_manifest(kManifest, "spin.toml");
  EXPECT_TRUE(parsed.ok()) << parsed.error().describe();
  return parsed.ok() ? std::move(parsed).value() : app::Manifest{};
}

RuntimeConfig config(const std::string& text) {
  auto parsed = RuntimeConfig::parse(text, "runtime-config.toml");
  EXPECT_TRUE(parsed.ok()) << parsed.error();
  return parsed.ok() ? std::move(parsed).value() : RuntimeConfig{};
}

std::filesystem::path temp_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("gyre-providers-" + std::to_string(getpid()) + "-" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The app's variables resolved through `runtime_config` over `env`: "a|b|c|d", or the error.
std::string resolve_all(const std::string& runtime_config, const app::Environment& env) {
  RuntimeConfig rc = config(runtime_config);
  std::vector<std::string> logged;
  auto resolved =
      resolve_variables(manifest(), rc, env, [&](std::string_view s) { logged.emplace_back(s); });
  if (!resolved) return "error: " + resolved.error();
  auto value = resolved->resolver->resolve("web", "all");
  if (!value) return "error: " + value.error().describe();
  return *value;
}

TEST(VariablesProviders, WithoutRuntimeConfigTheEnvironmentThenDefaults) {
  EXPECT_EQ(resolve_all("", {{"SPIN_VARIABLE_SECRET", "s"}, {"SPIN_VARIABLE_B", "env b"}}),
            "default a|env b|default c|default d");
}

TEST(VariablesProviders, ConfiguredProvidersInOrderThenTheDefaultEnvironment) {
  const auto dotenv = temp_file("order.env", "MYAPP_C='dotenv c'\nMYAPP_B='dotenv b'\n");
  const std::string rc = R"(
[[variables_provider]]
type = "static"
values = { a = "static a", secret = "s" }

[[variables_provider]]
type = "env"
prefix = "MYAPP"
dotenv_path = ")" + dotenv.string() +
                         R"("
)";
  // a: static before everything; b: MYAPP_ env before its dotenv file and before the
  // default SPIN_VARIABLE_ provider; c: the dotenv file; d: the default provider.
  EXPECT_EQ(resolve_all(rc, {{"SPIN_VARIABLE_A", "env a"},
                             {"MYAPP_B", "myapp b"},
                             {"SPIN_VARIABLE_B", "env b"},
                             {"SPIN_VARIABLE_D", "env d"}}),
            "static a|myapp b|dotenv c|env d");
  std::filesystem::remove(dotenv);
}

TEST(VariablesProviders, AConfiguredEnvProviderReadsNoDotenvFileUnlessGivenOne) {
  const std::string rc = "[[variables_provider]]\ntype = \"env\"\nprefix = \"X\"\n";
  EXPECT_EQ(resolve_all(rc, {{"X_A", "x a"}, {"SPIN_VARIABLE_SECRET", "s"}}),
            "x a|default b|default c|default d");
}

TEST(VariablesProviders, ConfigProviderIsSpinsOlderName) {
  const std::string rc =
      "[[config_provider]]\ntype = \"static\"\nvalues = { a = \"old\", "
      "secret = \"s\" }\n";
  EXPECT_EQ(resolve_all(rc, {}), "old|default b|default c|default d");

  // With both, only variables_provider is read and config_provider is left unused.
  RuntimeConfig both = config(
      "[[variables_provider]]\ntype = \"static\"\nvalues = { secret = \"s\" }\n"
      "[[config_provider]]\ntype = \"static\"\nvalues = { a = \"ignored\" }\n");
  auto providers = providers_from(both, {});
  ASSERT_TRUE(providers.ok()) << providers.error();
  EXPECT_EQ(providers->size(), 2u);
  ASSERT_TRUE(both.unused_keys_error().has_value());
  EXPECT_NE(both.unused_keys_error()->find("unused runtime config key(s): config_provider"),
            std::string::npos)
      << *both.unused_keys_error();
}

TEST(VariablesProviders, ARequiredVariableWithoutProviderStopsTheAppInSpinsWords) {
  EXPECT_EQ(resolve_all("", {}),
            "error: provider error: no provider resolved required variable(s): "
            "[Key(\"secret\")]");
  // A static table that has it, or the environment, satisfy the check.
  EXPECT_EQ(
      resolve_all("[[variables_provider]]\ntype = \"static\"\nvalues = { secret = \"s\" }\n", {}),
      "default a|default b|default c|default d");
}

TEST(VariablesProviders, SettingsErrorsNameFileLineAndKey) {
  const std::pair<std::string, std::string> cases[] = {
      {"variables_provider = { type = \"env\" }\n",
       "runtime-config.toml:1:22: variables_provider: invalid type: expected a sequence"},
      {"[[variables_provider]]\ntype = \"nope\"\n",
       "runtime-config.toml:2:8: variables_provider[0].type: unknown variant `nope`, expected one "
       "of `azure_key_vault`, `static`, `vault`, `env`"},
      {"[[variables_provider]]\nprefix = \"X\"\n",
       "runtime-config.toml:1:1: variables_provider[0]: missing field `type`"},
      {"[[variables_provider]]\ntype = \"env\"\nprefixx = \"X\"\n",
       "runtime-config.toml:3:11: variables_provider[0].prefixx: unknown field `prefixx`, "
       "expected `prefix` or `dotenv_path`"},
      {"[[variables_provider]]\ntype = \"env\"\nprefix = 1\n",
       "runtime-config.toml:3:10: variables_provider[0].prefix: invalid type: expected a string"},
      {"[[variables_provider]]\ntype = \"static\"\n",
       "runtime-config.toml:1:1: variables_provider[0]: missing field `values`"},
      {"[[variables_provider]]\ntype = \"static\"\nvalues = { a = 1 }\n",
       "runtime-config.toml:3:16: variables_provider[0].values.a: invalid type: expected a string"},
      {"[[variables_provider]]\ntype = \"vault\"\nurl = \"http://x\"\ntoken = \"t\"\n",
       "runtime-config.toml:1:1: variables_provider[0]: missing field `mount`"},
      {"[[variables_provider]]\ntype = \"vault\"\nurl = \"x:8200\"\ntoken = \"t\"\nmount = "
       "\"m\"\n",
       "runtime-config.toml:3:7: variables_provider[0].url: invalid Vault URL \"x:8200\": "
       "expected http:// or https://"},
      {"[[variables_provider]]\ntype = \"vault\"\nurl = \"http://x\"\ntoken = \"t\"\nmount = "
       "\"m\"\nnamespace = \"n\"\n",
       "runtime-config.toml:6:13: variables_provider[0].namespace: unknown field `namespace`, "
       "expected `url`, `token`, `mount` or `prefix`"},
  };
  for (const auto& [text, message] : cases) {
    RuntimeConfig rc = config(text);
    auto providers = providers_from(rc, {});
    ASSERT_FALSE(providers.ok()) << text;
    EXPECT_EQ(providers.error(), message) << text;
  }
}

TEST(VariablesProviders, CommandLineValuesComeFirst) {
  const auto json = temp_file("flags.json", R"({"b": "json b", "c": "json c"})");
  const auto toml = temp_file("flags.toml", "c = \"toml c\"\n");
  const auto text = temp_file("flags.txt", "text d");
  auto values = read_variable_flags(
      {"a=flag a", "@" + json.string(), "@" + toml.string(), "d=@" + text.string(), "secret=x=y"});
  ASSERT_TRUE(values.ok()) << values.error();
  EXPECT_EQ(
      *values,
      (Values{
          {"a", "flag a"}, {"b", "json b"}, {"c", "toml c"}, {"d", "text d"}, {"secret", "x=y"}}));
  RuntimeConfig rc =
      config("[[variables_provider]]\ntype = \"static\"\nvalues = { a = \"static a\" }\n");
  auto resolved = resolve_variables(manifest(), rc, {{"SPIN_VARIABLE_B", "env b"}}, {},
                                    std::move(values).value());
  ASSERT_TRUE(resolved.ok()) << resolved.error();
  auto all = resolved->resolver->resolve("web", "all");
  ASSERT_TRUE(all.ok()) << all.error().describe();
  EXPECT_EQ(*all, "flag a|json b|toml c|text d");

  EXPECT_EQ(read_variable_flags({"nope"}).error(),
            "variables must be in the form 'key=value' or '@file'");
  EXPECT_EQ(read_variable_flags({"@vars.yaml"}).error(),
            "variable files must end in .json or .toml");
  EXPECT_EQ(read_variable_flags({"@/nonexistent/v.json"}).error(),
            "Failed to read \"/nonexistent/v.json\".");
  const auto bad = temp_file("bad.json", "[1]");
  EXPECT_EQ(read_variable_flags({"@" + bad.string()}).error(),
            "Failed to parse JSON from \"" + bad.string() + "\".");
  for (const auto& f : {json, toml, text, bad})
    std::filesystem::remove(f);
}

TEST(VariablesProviders, TemplatedSettingsUseTheProvidersValues) {
  auto parsed = app::parse_manifest(R"(spin_manifest_version = 2
[application]
name = "hosts"
[variables]
api_host = { default = "default.example.com" }
[[trigger.http]]
route = "/"
component = "web"
[component.web]
source = "web.wasm"
allowed_outbound_hosts = ["https://{{ api_host }}"]
)",
                                    "spin.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().describe();
  RuntimeConfig rc = config(
      "[[variables_provider]]\ntype = \"static\"\nvalues = { api_host = \"static.example.com\" "
      "}\n");
  auto resolved = resolve_variables(*parsed, rc, {}, {});
  ASSERT_TRUE(resolved.ok()) << resolved.error();
  auto hosts = app::AllowedHosts::parse(*parsed, "web", resolved->application);
  ASSERT_TRUE(hosts.ok()) << hosts.error().describe();
  auto allowed = app::parse_outbound_url("https://static.example.com/x", "https");
  auto other = app::parse_outbound_url("https://default.example.com/x", "https");
  ASSERT_TRUE(allowed.ok() && other.ok());
  EXPECT_TRUE(hosts->allows(*allowed));
  EXPECT_FALSE(hosts->allows(*other));
}

// ---- Vault ----------------------------------------------------------------------------

TEST(VaultSecretUrl, AsSpinsClientJoinsIt) {
  EXPECT_EQ(vault_secret_url({"http://127.0.0.1:8200", "t", "secret", {}}, "api_key"),
            "http://127.0.0.1:8200/v1/secret/data/api_key");
  EXPECT_EQ(vault_secret_url({"https://vault.example.com/", "t", "kv", std::string("app/prod")},
                             "api_key"),
            "https://vault.example.com/v1/kv/data/app/prod/api_key");
  // A path in the URL comes after the API version, as the client puts it.
  EXPECT_EQ(vault_secret_url({"http://h/base", "t", "kv", {}}, "k"), "http://h/v1/base/kv/data/k");
  EXPECT_EQ(vault_secret_url({"http://h", "t", "my kv", {}}, "k"), "http://h/v1/my%20kv/data/k");
  EXPECT_EQ(vault_secret_url({"h:8200", "t", "kv", {}}, "k"), std::nullopt);
}

class Vault : public ::testing::Test {
 protected:
  void SetUp() override {
    vault_ = std::make_shared<testing::VaultServer>("r00t");
    http::ServerConfig config;
    config.listen = "127.0.0.1:0";
    auto started = http::Server::start(config, vault_);
    ASSERT_TRUE(started.ok());
    server_ = std::move(started).value();
  }
  void TearDown() override {
    server_->shutdown();
    server_->wait_idle();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->local_endpoint().port());
  }
  std::string get(const VaultProvider& vault, const std::string& name) {
    auto value = vault.get(name, nullptr);
    if (!value) return "error: " + value.error().describe();
    return value->value_or("<none>");
  }

  std::shared_ptr<testing::VaultServer> vault_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(Vault, ReadsTheSecretsValueWithTheToken) {
  vault_->put("secret", "app/api_key", R"({"value":"s3cret","other":"x"})");
  VaultProvider vault({url(), "r00t", "secret", std::string("app")});
  EXPECT_EQ(get(vault, "api_key"), "s3cret");
  ASSERT_EQ(vault_->requests().size(), 1u);
  const auto seen = vault_->requests()[0];
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, "/v1/secret/data/app/api_key");
  EXPECT_EQ(seen.token, "r00t");
  EXPECT_EQ(seen.vault_request, "true");
  // Each lookup reads Vault again, and sees a changed secret.
  vault_->put("secret", "app/api_key", R"({"value":"rotated"})");
  EXPECT_EQ(get(vault, "api_key"), "rotated");
  EXPECT_EQ(vault_->requests().size(), 2u);
}

TEST_F(Vault, AMissingSecretPassesTheLookupOn) {
  VaultProvider vault({url(), "r00t", "secret", {}});
  EXPECT_EQ(get(vault, "nope"), "<none>");
  EXPECT_TRUE(vault.may_resolve("nope"));  // Vault cannot tell without asking
}

TEST_F(Vault, OtherFailuresStopTheLookupWithSpinsMessage) {
  VaultProvider wrong_token({url(), "wrong", "secret", {}});
  vault_->put("secret", "k", R"({"value":"v"})");
  EXPECT_EQ(get(wrong_token, "k"),
            "error: provider error: Failed to check Vault for config: Vault answered HTTP 403: "
            "permission denied");
  VaultProvider vault({url(), "r00t", "secret", {}});
  vault_->put("secret", "no_value", R"({"other":"v"})");
  EXPECT_EQ(get(vault, "no_value"),
            "error: provider error: Failed to check Vault for config: Vault's answer has no string "
            "data.data.value for secret no_value");
  vault_->put("secret", "number", R"({"value":7})");
  EXPECT_EQ(get(vault, "number").find("error: provider error: Failed to check Vault for config"),
            0u);
  // The guest sees only Spin's words, not the cause.
  auto error = vault.get("no_value", nullptr);
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.error().message, "Failed to check Vault for config");
}

TEST_F(Vault, AnUnreachableVaultIsAProviderError) {
  const std::string address = url();
  server_->shutdown();
  server_->wait_idle();
  VaultProvider vault({address, "r00t", "secret", {}});
  auto value = vault.get("k", nullptr);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error().kind, app::VariableError::Kind::kProvider);
  EXPECT_EQ(value.error().message, "Failed to check Vault for config");
  EXPECT_FALSE(value.error().cause.empty());
}

TEST_F(Vault, FromTheRuntimeConfigBeforeTheEnvironment) {
  vault_->put("kv", "a", R"({"value":"vault a"})");
  vault_->put("kv", "secret", R"({"value":"vault secret"})");
  const std::string rc = "[[variables_provider]]\ntype = \"vault\"\nurl = \"" + url() +
                         "\"\ntoken = \"r00t\"\nmount = \"kv\"\n";
  EXPECT_EQ(resolve_all(rc, {{"SPIN_VARIABLE_A", "env a"}, {"SPIN_VARIABLE_B", "env b"}}),
            "vault a|env b|default c|default d");
}

}  // namespace
}  // namespace gyre::spin::variables
