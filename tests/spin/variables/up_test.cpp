// Variables under `gyre up`, end to end: a Spin Python SDK component (fixtures/python/
// variables) reads its variables over spin_sdk.variables and wasi:config/store, with
// values from the process environment, a runtime config's providers and the `.env` file
// of the working directory; a required variable without a value stops the app with
// Spin's message; and a secret never reaches the terminal.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "http/server.hpp"
#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "vault_server.hpp"

namespace {

using gyre::testing::fixture_path;
using gyre::testing::GyreUp;
using gyre::testing::http_request;
using gyre::testing::make_app;

std::string manifest(const std::string& more_variables = "",
                     const std::string& more_component_variables = "") {
  return R"(spin_manifest_version = 2
[application]
name = "vars"

[variables]
greeting = { default = "hello" }
api_key = { required = true, secret = true }
)" + more_variables +
         R"(
[[trigger.http]]
route = "/..."
component = "web"

[component.web]
source = ")" +
         fixture_path("python-variables") + R"("
variables = { message = "{{ greeting }}, {{ api_key }}!", key = "{{ api_key }}")" +
         more_component_variables + " }\n";
}

std::string get(const GyreUp& gyre, const std::string& target) {
  auto r = http_request(gyre.port(), "GET", target);
  if (r.status != 200) return "HTTP " + std::to_string(r.status) + ": " + r.body;
  return r.body;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

const std::string kOnly =
    ". Variable names may contain only lower-case letters, numbers, and underscores.";

TEST(VariablesUp, ThePythonSdkReadsItsVariables) {
  GyreUp gyre(make_app("variables-sdk", manifest()), {},
              {{"SPIN_VARIABLE_API_KEY", "s3cr3t-token"}});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(get(gyre, "/get?name=message"), "ok:hello, s3cr3t-token!");
  EXPECT_EQ(get(gyre, "/get?name=Message"),
            "invalid-name:\"Message\": invalid character 'M'" + kOnly);
  EXPECT_EQ(get(gyre, "/get?name=greeting"), "undefined:no variable for \"web\".\"greeting\"");
  EXPECT_EQ(get(gyre, "/config?key=message"), "some:hello, s3cr3t-token!");
  EXPECT_EQ(get(gyre, "/config?key=greeting"), "none");
  EXPECT_EQ(get(gyre, "/config?key=Message"), "none");
  EXPECT_EQ(get(gyre, "/config-all"), "ok:message=hello, s3cr3t-token!;key=s3cr3t-token;");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  // The secret went to the guest, and nowhere else.
  EXPECT_EQ(gyre.output().find("s3cr3t-token"), std::string::npos) << gyre.output();
}

TEST(VariablesUp, RuntimeConfigProvidersComeBeforeTheEnvironment) {
  const auto app = make_app("variables-providers", manifest());
  write(app / "app.env", "MYAPP_API_KEY=from-dotenv\n");
  write(app / "runtime-config.toml",
        "[[variables_provider]]\ntype = \"static\"\nvalues = { greeting = \"hi from static\" }\n\n"
        "[[variables_provider]]\ntype = \"env\"\nprefix = \"MYAPP\"\ndotenv_path = \"" +
            (app / "app.env").string() + "\"\n");
  GyreUp gyre(app, {"--runtime-config-file", (app / "runtime-config.toml").string()},
              {{"SPIN_VARIABLE_API_KEY", "env-key"}, {"SPIN_VARIABLE_GREETING", "env hello"}});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(get(gyre, "/get?name=message"), "ok:hi from static, from-dotenv!");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(VariablesUp, TheDefaultDotenvFileIsTheWorkingDirectorysAsSpinReadsIt) {
  const auto app = make_app("variables-dotenv", manifest());
  const auto cwd = app / "cwd";
  std::filesystem::create_directories(cwd);
  write(app / ".env", "SPIN_VARIABLE_API_KEY=beside-spin-toml\n");
  write(cwd / ".env", "SPIN_VARIABLE_API_KEY=in-working-dir\nSPIN_VARIABLE_GREETING='good day'\n");
  const auto before = std::filesystem::current_path();
  std::filesystem::current_path(cwd);  // gyre up runs where the test runs
  GyreUp gyre(app);
  std::filesystem::current_path(before);
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(get(gyre, "/get?name=message"), "ok:good day, in-working-dir!");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(VariablesUp, ARequiredVariableWithoutValueStopsTheAppWithSpinsMessage) {
  GyreUp gyre(make_app("variables-required", manifest()));
  EXPECT_EQ(gyre.port(), 0) << gyre.output();
  EXPECT_NE(gyre.stop(), 0);
  EXPECT_NE(gyre.output().find(
                "provider error: no provider resolved required variable(s): [Key(\"api_key\")]"),
            std::string::npos)
      << gyre.output();
  EXPECT_EQ(gyre.output().find("Serving"), std::string::npos) << gyre.output();
}

TEST(VariablesUp, ASecretInAFailingProviderIsNeverPrinted) {
  // A dotenv file whose line with a secret does not parse: the provider fails, and
  // neither the warning at start nor the guest's error quotes the line.
  const auto app =
      make_app("variables-secret", manifest("password = { default = \"unused\", secret = true }\n",
                                            ", pw = \"{{ password }}\""));
  write(app / "bad.env", "APP_PASSWORD=hunter2-secret oops\n");
  write(app / "runtime-config.toml",
        "[[variables_provider]]\ntype = \"env\"\nprefix = \"APP\"\n"
        "dotenv_path = \"" +
            (app / "bad.env").string() + "\"\n");
  GyreUp gyre(app, {"--runtime-config-file", (app / "runtime-config.toml").string()},
              {{"SPIN_VARIABLE_API_KEY", "s3cr3t-token"}});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  const std::string pw = get(gyre, "/get?name=pw");
  EXPECT_EQ(pw.find("provider:failed to read dotenv file"), 0u) << pw;
  EXPECT_NE(pw.find("line 1"), std::string::npos) << pw;
  EXPECT_EQ(pw.find("hunter2"), std::string::npos) << pw;
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  EXPECT_NE(gyre.output().find("Warning: variable \"password\": provider error: failed to read "
                               "dotenv file"),
            std::string::npos)
      << gyre.output();
  EXPECT_EQ(gyre.output().find("hunter2"), std::string::npos) << gyre.output();
  EXPECT_EQ(gyre.output().find("s3cr3t-token"), std::string::npos) << gyre.output();
}

}  // namespace

namespace {

TEST(VariablesUp, VariableFlagsWinOverEveryProvider) {
  const auto app = make_app("variables-flags", manifest());
  write(app / "key.txt", "from-a-file");
  GyreUp gyre(
      app, {"--variable", "greeting=hey", "--variable", "api_key=@" + (app / "key.txt").string()},
      {{"SPIN_VARIABLE_API_KEY", "env-key"}, {"SPIN_VARIABLE_GREETING", "env hello"}});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(get(gyre, "/get?name=message"), "ok:hey, from-a-file!");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

}  // namespace

namespace {

// A guest reading a variable from Vault holds no thread: more guests than the app has
// worker threads and lanes wait on Vault at once (it answers none until all are in), and
// each gets its value.
TEST(VariablesUp, ManyGuestsWaitOnVaultAtOnce) {
  auto vault = std::make_shared<gyre::spin::variables::testing::VaultServer>("r00t");
  vault->put("secret", "api_key", R"({"value":"from-vault"})");
  gyre::http::ServerConfig config;
  config.listen = "127.0.0.1:0";
  auto server = gyre::http::Server::start(config, vault);
  ASSERT_TRUE(server.ok());
  const auto app = make_app("variables-vault", manifest());
  write(app / "runtime-config.toml",
        "[[variables_provider]]\ntype = \"vault\"\nurl = \"http://127.0.0.1:" +
            std::to_string((*server)->local_endpoint().port()) +
            "\"\ntoken = \"r00t\"\nmount = \"secret\"\n");
  GyreUp gyre(app, {"--runtime-config-file", (app / "runtime-config.toml").string()});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  const int guests = 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) + 8;
  vault->gate().hold(guests);
  std::vector<std::future<std::string>> answers;
  for (int i = 0; i < guests; ++i)
    answers.push_back(std::async(std::launch::async, [&] { return get(gyre, "/get?name=key"); }));
  // All of them wait at once, or a minute passes (a hang guard, not a timing).
  EXPECT_TRUE(vault->gate().all_arrived(std::chrono::seconds(60))) << gyre.output();
  for (auto& answer : answers)
    EXPECT_EQ(answer.get(), "ok:from-vault");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  (*server)->shutdown();
  (*server)->wait_idle();
}

}  // namespace
