// Every variables interface version as a guest sees it: a C component
// (fixtures/c/variables) imports all of them and each export renders what one function
// returned. The host is the real factor, configured from a spin.toml and a runtime
// config as `gyre up` configures it, with a Vault provider (a server on 127.0.0.1) before
// the environment, so that provider errors reach the guest too.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "app/manifest.hpp"
#include "app/outbound_hosts.hpp"
#include "component/instance.hpp"
#include "http/server.hpp"
#include "spin/variables/providers.hpp"
#include "spin/variables/variables_factor.hpp"
#include "support/factor_harness.hpp"
#include "support/process.hpp"
#include "vault_server.hpp"

namespace gyre::spin::variables {
namespace {

using component::Val;

constexpr const char* kManifest = R"(spin_manifest_version = 2
[application]
name = "vars"

[variables]
greeting = { default = "hello" }
api_key = { required = true, secret = true }
flaky = { default = "never used" }
missing = { required = true }

[[trigger.http]]
route = "/"
component = "web"

[component.web]
source = "web.wasm"
variables = { message = "{{ greeting }}, {{ api_key }}!", literal = "plain", broken = "{{ flaky }}", needs = "{{ missing }}" }

[component.other]
source = "other.wasm"
variables = { only_other = "other's" }

[component.bare]
source = "bare.wasm"
)";

const std::string kOnly =
    ". Variable names may contain only lower-case letters, numbers, and underscores.";

class Bindings : public ::testing::Test {
 protected:
  void SetUp() override {
    // api_key is in Vault, and in the environment too: Vault, configured, comes first.
    // Reading flaky makes Vault fail.
    vault_->put("secret", "api_key", R"({"value":"k3y"})");
    vault_->fail("secret", "flaky");
    http::ServerConfig config;
    config.listen = "127.0.0.1:0";
    auto started = http::Server::start(config, vault_);
    ASSERT_TRUE(started.ok());
    server_ = std::move(started).value();

    auto parsed = app::parse_manifest(kManifest, "spin.toml");
    ASSERT_TRUE(parsed.ok()) << parsed.error().describe();
    manifest_ = std::move(parsed).value();
    auto rc =
        RuntimeConfig::parse("[[variables_provider]]\ntype = \"vault\"\nurl = \"http://127.0.0.1:" +
                                 std::to_string(server_->local_endpoint().port()) +
                                 "\"\ntoken = \"r00t\"\nmount = \"secret\"\n",
                             "runtime-config.toml");
    ASSERT_TRUE(rc.ok()) << rc.error();
    runtime_config_ = std::move(rc).value();
    const app::Environment env{{"SPIN_VARIABLE_API_KEY", "from env"},
                               {"SPIN_VARIABLE_GREETING", "bonjour"}};
    auto resolved =
        resolve_variables(manifest_, runtime_config_, env, [&](std::string_view s) { log_ += s; });
    ASSERT_TRUE(resolved.ok()) << resolved.error();
    variables_ = std::move(resolved).value();

    factor_ = make_factor();
    AppContext app{manifest_, variables_, runtime_config_, ".", "", [](std::string_view) {}};
    ASSERT_TRUE(factor_->configure_app(app).ok());
  }
  void TearDown() override {
    if (!server_) return;
    server_->shutdown();
    server_->wait_idle();
  }

  // The fixture as component `id` sees the app.
  std::shared_ptr<const component::ComponentPre> component(const std::string& id) {
    auto imports = std::make_unique<component::HostImports>();
    const ComponentContext context{id, *manifest_.components.find(id), allowed_,
                                   [](std::string_view) {}};
    EXPECT_TRUE(factor_->add_component(*imports, context).ok());
    auto pre = harness_.link("c-variables", *imports);
    EXPECT_TRUE(pre.ok()) << pre.error();
    imports_.push_back(std::move(imports));
    return pre.ok() ? std::move(pre).value() : nullptr;
  }

  // Calls export `function` of a fresh instance; returns the text it answered.
  std::string call(const component::ComponentPre& pre, const std::string& function,
                   std::optional<std::string> argument = std::nullopt) {
    std::vector<Val> args;
    if (argument) args.push_back(Val::string(*argument));
    return harness_.call_once(pre, function, args);
  }

  std::shared_ptr<testing::VaultServer> vault_ = std::make_shared<testing::VaultServer>("r00t");
  std::unique_ptr<http::Server> server_;
  app::Manifest manifest_;
  RuntimeConfig runtime_config_;
  app::ResolvedVariables variables_;
  std::string log_;
  app::AllowedHosts allowed_;
  std::unique_ptr<Factor> factor_;
  gyre::testing::FactorHarness harness_;
  std::vector<std::unique_ptr<component::HostImports>> imports_;
};

TEST_F(Bindings, SpinTwoAndThreeGet) {
  auto web = component("web");
  ASSERT_NE(web, nullptr);
  for (const char* get : {"variables-get", "variables3-get"}) {
    SCOPED_TRACE(get);
    // Values: Vault first, then the environment, then defaults.
    EXPECT_EQ(call(*web, get, "message"), "ok:bonjour, k3y!");
    EXPECT_EQ(call(*web, get, "literal"), "ok:plain");
    EXPECT_EQ(call(*web, get, "Message"),
              "invalid-name:\"Message\": invalid character 'M'" + kOnly);
    EXPECT_EQ(call(*web, get, ""), "invalid-name:\"\": must not be empty");
    EXPECT_EQ(call(*web, get, "a__b"),
              "invalid-name:\"a__b\": must not contain multiple consecutive underscores");
    // Application variables are not the component's; nor are another component's.
    EXPECT_EQ(call(*web, get, "greeting"), "undefined:no variable for \"web\".\"greeting\"");
    EXPECT_EQ(call(*web, get, "only_other"), "undefined:no variable for \"web\".\"only_other\"");
    EXPECT_EQ(call(*web, get, "broken"), "provider:Failed to check Vault for config");
    EXPECT_EQ(call(*web, get, "needs"),
              "provider:no provider resolved required variable \"missing\"");
  }
}

TEST_F(Bindings, SpinOneGetConfigMapsSpinTwosErrors) {
  auto web = component("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(call(*web, "config-get-config", "message"), "ok:bonjour, k3y!");
  EXPECT_EQ(call(*web, "config-get-config", "Message"),
            "invalid-key:\"Message\": invalid character 'M'" + kOnly);
  EXPECT_EQ(call(*web, "config-get-config", "nope"), "provider:no variable for \"web\".\"nope\"");
  EXPECT_EQ(call(*web, "config-get-config", "broken"),
            "other:Error::Provider(\"Failed to check Vault for config\")");
  EXPECT_EQ(call(*web, "config-get-config", "needs"),
            "other:Error::Provider(\"no provider resolved required variable \\\"missing\\\"\")");
}

TEST_F(Bindings, WasiConfigStore) {
  auto web = component("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(call(*web, "store-get", "message"), "some:bonjour, k3y!");
  // Undefined and invalid names are none, as wasi:config asks.
  EXPECT_EQ(call(*web, "store-get", "nope"), "none");
  EXPECT_EQ(call(*web, "store-get", "Message"), "none");
  EXPECT_EQ(call(*web, "store-get", "broken"), "upstream:Failed to check Vault for config");
  EXPECT_EQ(call(*web, "store-get", "needs"),
            "upstream:no provider resolved required variable \"missing\"");
  // get-all fails as soon as one variable does.
  EXPECT_EQ(call(*web, "store-get-all"), "upstream:Failed to check Vault for config");

  auto other = component("other");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(call(*other, "store-get-all"), "ok:only_other=other's;");
  EXPECT_EQ(call(*other, "store-get", "message"), "none");
  auto bare = component("bare");
  ASSERT_NE(bare, nullptr);
  EXPECT_EQ(call(*bare, "store-get-all"), "ok:");
  EXPECT_EQ(call(*bare, "variables-get", "message"),
            "undefined:no variable for \"bare\".\"message\"");
}

TEST_F(Bindings, GetAllInManifestOrder) {
  vault_->put("secret", "flaky", R"({"value":"now fine"})");
  vault_->put("secret", "missing", R"({"value":"found"})");
  auto web = component("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(call(*web, "store-get-all"),
            "ok:message=bonjour, k3y!;literal=plain;broken=now fine;needs=found;");
}

TEST_F(Bindings, EveryGetReadsTheProvidersAgain) {
  auto web = component("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(call(*web, "variables-get", "message"), "ok:bonjour, k3y!");
  vault_->put("secret", "api_key", R"({"value":"rotated"})");
  EXPECT_EQ(call(*web, "variables-get", "message"), "ok:bonjour, rotated!");
}

TEST_F(Bindings, StartUpLeftFailingVariablesOutWithWarningsThatShowNoValue) {
  // Resolved once at start for templated settings: Vault failed on flaky, and missing
  // had no value anywhere; both were left out with a warning.
  EXPECT_EQ(*variables_.application.find("api_key"), "k3y");
  EXPECT_EQ(*variables_.application.find("greeting"), "bonjour");
  EXPECT_EQ(variables_.application.find("flaky"), nullptr);
  EXPECT_EQ(variables_.application.find("missing"), nullptr);
  EXPECT_NE(log_.find("Warning: variable \"flaky\": provider error: Failed to check Vault for "
                      "config: Vault answered HTTP 500: internal error"),
            std::string::npos)
      << log_;
  EXPECT_NE(log_.find("Warning: variable \"missing\": provider error: no provider resolved "
                      "required variable \"missing\""),
            std::string::npos)
      << log_;
  EXPECT_EQ(log_.find("k3y"), std::string::npos) << log_;
}

}  // namespace
}  // namespace gyre::spin::variables
