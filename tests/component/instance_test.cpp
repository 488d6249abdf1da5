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

// A nested component instantiated twice is two instances, each with its own core state
// and its own lowering of the host import; the outer component's core code calls one of
// them through a lowered guest function. Every store gets fresh instances.
TEST(Instance, ANestedComponentInstantiatedTwiceKeepsTwoStates) {
  auto eng = engine();
  std::vector<uint32_t> ticks;
  HostImports host;
  host.define_function(
      "tick", [&](HostCall&, std::span<const Val> args) -> Result<std::optional<Val>, std::string> {
        ticks.push_back(static_cast<uint32_t>(args[0].bits));
        return std::optional<Val>{};
      });
  auto pre = ComponentPre::create(*eng, gyre::testing::assemble(R"wat((component
    (import "tick" (func $tick (param "n" u32)))
    (component $counter
      (import "tick" (func $tick (param "n" u32)))
      (core func $tick_low (canon lower (func $tick)))
      (core module $m
        (import "h" "tick" (func $tick (param i32)))
        (global $n (mut i32) (i32.const 0))
        (func (export "bump") (result i32)
          (global.set $n (i32.add (global.get $n) (i32.const 1)))
          (call $tick (global.get $n))
          (global.get $n)))
      (core instance $i (instantiate $m (with "h" (instance (export "tick" (func $tick_low))))))
      (func (export "bump") (result u32) (canon lift (core func $i "bump"))))
    (instance $a (instantiate $counter (with "tick" (func $tick))))
    (instance $b (instantiate $counter (with "tick" (func $tick))))
    (alias export $a "bump" (func $a_bump))
    (alias export $b "bump" (func $b_bump))
    (core func $b_low (canon lower (func $b_bump)))
    (core module $twice
      (import "b" "bump" (func $f (result i32)))
      (func (export "twice") (result i32) (drop (call $f)) (call $f)))
    (core instance $t (instantiate $twice (with "b" (instance (export "bump" (func $b_low))))))
    (func (export "b-twice") (result u32) (canon lift (core func $t "twice")))
    (export "a-bump" (func $a_bump))
    (export "b-bump" (func $b_bump))
  ))wat"),
                                  host);
  ASSERT_TRUE(pre.ok()) << pre.error();
  for (int round = 0; round < 2; ++round) {
    wasm::Store store(*eng);
    auto instance = (*pre)->instantiate(store);
    ASSERT_TRUE(instance.ok()) << instance.error().describe();
    auto call = [&](const char* name) -> uint64_t {
      const ComponentFunction* fn = (*instance)->function(name);
      EXPECT_NE(fn, nullptr) << name;
      if (fn == nullptr) return 0;
      auto result = (*instance)->call(*fn, {});
      EXPECT_TRUE(result.ok()) << result.error().describe();
      return result.ok() && result->has_value() ? (*result)->bits : 0;
    };
    EXPECT_EQ(call("a-bump"), 1u);
    EXPECT_EQ(call("a-bump"), 2u);
    EXPECT_EQ(call("b-bump"), 1u);
    EXPECT_EQ(call("b-twice"), 3u);
  }
  EXPECT_EQ(ticks, (std::vector<uint32_t>{1, 2, 1, 2, 3, 1, 2, 1, 2, 3}));
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
