// `gyre build` and the `gyre up` options around it (`--build`, `--tls-cert`/`--tls-key`),
// run as the real binary on app folders, as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/certificate.hpp"
#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace {

using gyre::testing::fixture_path;
using gyre::testing::GyreUp;
using gyre::testing::make_app;
using gyre::testing::run_command;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string gyre_build(const std::filesystem::path& dir, const std::string& args = "") {
  return std::string(GYRE_BINARY) + " build -f " + dir.string() + " " + args + " 2>&1";
}

constexpr const char* kApp = R"(spin_manifest_version = 2
[application]
name = "builds"
[[trigger.http]]
route = "/..."
component = "one"

[component.one]
source = "one.wasm"
build = { command = "echo built one > one.txt" }

[component.two]
source = "two.wasm"
[component.two.build]
command = ["echo first > first.txt", "echo second > second.txt"]
workdir = "sub"

[component.three]
source = "three.wasm"
)";

TEST(Build, RunsEachComponentsCommandsInItsWorkdirAndSaysSo) {
  const auto dir = make_app("build-all", kApp);
  std::filesystem::create_directories(dir / "sub");
  auto built = run_command(gyre_build(dir));
  EXPECT_EQ(built.status, 0) << built.text;
  EXPECT_EQ(slurp(dir / "one.txt"), "built one\n");
  EXPECT_EQ(slurp(dir / "sub" / "first.txt"), "first\n");
  EXPECT_EQ(slurp(dir / "sub" / "second.txt"), "second\n");
  EXPECT_NE(built.text.find("Building component one with `echo built one > one.txt`"),
            std::string::npos)
      << built.text;
  EXPECT_NE(built.text.find("Running build step 2/2 for component two with 'echo second > "
                            "second.txt'"),
            std::string::npos)
      << built.text;
  EXPECT_NE(built.text.find("Finished building all Spin components"), std::string::npos);
}

TEST(Build, BuildsOnlyTheNamedComponentsAndRejectsUnknownOnes) {
  const auto dir = make_app("build-some", kApp);
  std::filesystem::create_directories(dir / "sub");
  auto built = run_command(gyre_build(dir, "-c two"));
  EXPECT_EQ(built.status, 0) << built.text;
  EXPECT_FALSE(std::filesystem::exists(dir / "one.txt"));
  EXPECT_TRUE(std::filesystem::exists(dir / "sub" / "second.txt"));

  auto unknown = run_command(gyre_build(dir, "-c two -c nope -c nada"));
  EXPECT_NE(unknown.status, 0);
  EXPECT_NE(unknown.text.find("Unknown component(s) nope, nada"), std::string::npos)
      << unknown.text;

  auto none = run_command(gyre_build(dir, "-c three"));
  EXPECT_EQ(none.status, 0);
  EXPECT_NE(none.text.find("None of the components have a build command."), std::string::npos);
}

TEST(Build, StopsAtTheFirstFailureNamingTheComponent) {
  const auto dir = make_app("build-fails", R"(spin_manifest_version = 2
[application]
name = "fails"
[[trigger.http]]
route = "/..."
component = "bad"
[component.bad]
source = "bad.wasm"
build = { command = "echo trying; exit 3" }
[component.after]
source = "after.wasm"
build = { command = "touch after.txt" }
)");
  auto built = run_command(gyre_build(dir));
  EXPECT_NE(built.status, 0);
  EXPECT_NE(built.text.find("trying"), std::string::npos) << built.text;
  EXPECT_NE(built.text.find("Build command for component bad failed with status Exited(3)"),
            std::string::npos)
      << built.text;
  EXPECT_FALSE(std::filesystem::exists(dir / "after.txt"));
}

TEST(Build, UpWithBuildBuildsThenServesAndServesHttpsWithTlsFiles) {
  const auto dir = make_app("build-up", std::string(R"(spin_manifest_version = 2
[application]
name = "built"
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "hello.wasm"
build = { command = "cp )") + fixture_path("js-hello") +
                                            R"( hello.wasm" }
)");
  const auto tls = gyre::testing::make_certificate(dir);
  GyreUp gyre(dir,
              {"--build", "--tls-cert", tls.cert_chain_file, "--tls-key", tls.private_key_file});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_NE(gyre.output().find("Finished building all Spin components"), std::string::npos);
  EXPECT_NE(gyre.output().find("Serving https://127.0.0.1:"), std::string::npos);
  auto https = run_command("curl -sk https://127.0.0.1:" + std::to_string(gyre.port()) + "/hi");
  EXPECT_EQ(https.status, 0);
  EXPECT_EQ(https.text, "hello from javascript: GET /hi\n");

  auto half = run_command(std::string(GYRE_BINARY) + " up -f " + dir.string() + " --tls-cert " +
                          tls.cert_chain_file + " 2>&1");
  EXPECT_NE(half.status, 0);
  EXPECT_NE(half.text.find("--tls-key"), std::string::npos) << half.text;
}

}  // namespace
