// Instantiating real components and calling them: host imports called by the guest,
// exports called by the host, values crossing both ways, and link errors.
#include "component/instance.hpp"

#include <gtest/gtest.h>

#include "support/engine.hpp"
#include "support/process.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::component {
namespace {

using gyre::testing::fixture_path;
using gyre::testing::read_file;

std::unique_ptr<wasm::Engine> engine() {
  return gyre::testing::test_engine(64);
}

TEST(Instance, CallsAnExportThatCallsAHostImport) {
  auto eng = engine();
  std::vector<std::string> logged;
  HostImports host;
  host.interface("gyre:fixtures/host").functions["log"] =
      [&](HostCall&, std::span<const Val> args) -> Result<std::optional<Val>, std::string> {
    logged.push_back(args[0].bytes);
    return std::optional<Val>{};
  };
  auto pre = ComponentPre::create(*eng, read_file(fixture_path("c-hello")), host);
  ASSERT_TRUE(pre.ok()) << pre.error();

  for (const char* name : {"World", "Gyre \xe2\x9c\x93", ""}) {
    wasm::Store store(*eng);
    auto instance = (*pre)->instantiate(store);
    ASSERT_TRUE(instance.ok()) << instance.error().describe();
    const ComponentFunction* greet = (*instance)->function("greet");
    ASSERT_NE(greet, nullptr);
    std::vector<Val> args{Val::string(name)};
    auto result = (*instance)->call(*greet, args);
    ASSERT_TRUE(result.ok()) << result.error().describe();
    ASSERT_TRUE(result->has_value());
    EXPECT_EQ((*result)->kind, ValueKind::kString);
    EXPECT_EQ((*result)->bytes, std::string("Hello, ") + name + "!");
  }
  EXPECT_EQ(logged, (std::vector<std::string>{"greet called", "greet called", "greet called"}));
}

TEST(Instance, AHostErrorTrapsTheGuestAndPoisonsTheInstance) {
  auto eng = engine();
  HostImports host;
  host.interface("gyre:fixtures/host").functions["log"] =
      [](HostCall&, std::span<const Val>) -> Result<std::optional<Val>, std::string> {
    return std::string("logging is denied");
  };
  auto pre = ComponentPre::create(*eng, read_file(fixture_path("c-hello")), host);
  ASSERT_TRUE(pre.ok()) << pre.error();
  wasm::Store store(*eng);
  auto instance = (*pre)->instantiate(store);
  ASSERT_TRUE(instance.ok());
  std::vector<Val> args{Val::string("x")};
  auto result = (*instance)->call(*(*instance)->function("greet"), args);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("logging is denied"), std::string::npos)
      << result.error().describe();
  auto again = (*instance)->call(*(*instance)->function("greet"), args);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind(), wasm::ErrorKind::kUsage);
}

TEST(Instance, MissingImportsAreListedAtLinkTime) {
  auto eng = engine();
  HostImports empty;
  auto pre = ComponentPre::create(*eng, read_file(fixture_path("js-hello")), empty);
  ASSERT_FALSE(pre.ok());
  // The host has none of these interfaces: each is named once, without its functions.
  EXPECT_NE(pre.error().find("\n  wasi:io/streams@0.2.12\n"), std::string::npos) << pre.error();
  EXPECT_NE(pre.error().find("\n  wasi:cli/environment@0.2.12\n"), std::string::npos)
      << pre.error();
  EXPECT_EQ(pre.error().find("blocking-write-and-flush"), std::string::npos) << pre.error();
}

TEST(Instance, SemverMatchingServesNewerPatchVersions) {
  auto eng = engine();
  HostImports host;
  host.interface("gyre:fixtures/host").functions["log"] =
      [](HostCall&, std::span<const Val>) -> Result<std::optional<Val>, std::string> {
    return std::optional<Val>{};
  };
  EXPECT_EQ(semver_key("wasi:io/streams@0.2.12"), "wasi:io/streams@0.2");
  EXPECT_EQ(semver_key("wasi:io/streams@0.2.0"), "wasi:io/streams@0.2");
  EXPECT_EQ(semver_key("a:b/c@1.4.2"), "a:b/c@1");
  EXPECT_EQ(semver_key("a:b/c@0.0.3"), "a:b/c@0.0.3");
  EXPECT_EQ(semver_key("wasi:http/types@0.2.0-rc-2023-11-10"),
            "wasi:http/types@0.2.0-rc-2023-11-10");
  HostImports versioned;
  versioned.interface("wasi:io/streams@0.2.6");
  EXPECT_NE(versioned.find("wasi:io/streams@0.2.12"), nullptr);
  EXPECT_NE(versioned.find("wasi:io/streams@0.2.0"), nullptr);
  EXPECT_EQ(versioned.find("wasi:io/streams@0.3.0"), nullptr);
  EXPECT_EQ(versioned.find("wasi:io/streams@0.2.0-rc-2023-11-10"), nullptr);
}

TEST(Instance, TheJavaScriptComponentLinksAndInstantiatesWithTrappingStubs) {
  auto eng = engine();
  HostImports none;
  LinkOptions options;
  options.trap_on_missing_imports = true;
  auto pre = ComponentPre::create(*eng, read_file(fixture_path("js-hello")), none, options);
  ASSERT_TRUE(pre.ok()) << pre.error();
  EXPECT_GT((*pre)->missing_imports().size(), 10u);
  wasm::Store store(*eng);
  auto instance = (*pre)->instantiate(store);
  ASSERT_TRUE(instance.ok()) << instance.error().describe();
  EXPECT_NE((*instance)->function("wasi:http/incoming-handler@0.2.3", "handle"), nullptr);
}

TEST(Instance, ThePythonComponentLinksAndInstantiatesWithTrappingStubs) {
  auto eng = engine();
  HostImports none;
  LinkOptions options;
  options.trap_on_missing_imports = true;
  auto pre = ComponentPre::create(*eng, read_file(fixture_path("python-hello")), none, options);
  ASSERT_TRUE(pre.ok()) << pre.error();
  wasm::Store store(*eng);
  auto instance = (*pre)->instantiate(store);
  ASSERT_TRUE(instance.ok()) << instance.error().describe();
  EXPECT_NE((*instance)->function("wasi:http/incoming-handler@0.2.0", "handle"), nullptr);
}

}  // namespace
}  // namespace gyre::component
