// wit-component's shim and fixup modules: told apart by their bytes (and nothing else
// taken for them), and a component built around them behaves as written whether Gyre
// bypasses them (when nothing can tell) or instantiates them (when something could).
#include "component/shim_modules.hpp"

#include <gtest/gtest.h>

#include "component/instance.hpp"
#include "support/engine.hpp"
#include "support/process.hpp"
#include "wasm/store.hpp"

namespace gyre::component {
namespace {

using gyre::testing::assemble;

constexpr const char* kShim = R"((module
  (type (func (param i32 i32)))
  (type (func (param i64) (result i32)))
  (table (export "$imports") 2 2 funcref)
  (func (export "0") (type 0) local.get 0 local.get 1 i32.const 1 call_indirect (type 0))
  (func (export "1") (type 1) local.get 0 i32.const 0 call_indirect (type 1))))";

constexpr const char* kFixup = R"((module
  (type (func (param i32 i32)))
  (import "actual" "0" (func (type 0)))
  (import "actual" "1" (func (param i64) (result i32)))
  (import "main" "_initialize" (func))
  (import "shim" "$imports" (table 2 2 funcref))
  (elem (i32.const 0) func 1 0)
  (start 2)))";

TEST(ShimModules, RecognizesTheIndirectShimAndTheSlotEachFunctionCalls) {
  auto shim = recognize_indirect_shim(assemble(kShim));
  ASSERT_TRUE(shim.has_value());
  EXPECT_EQ(shim->table_export, "$imports");
  ASSERT_EQ(shim->functions.size(), 2u);
  EXPECT_EQ(shim->functions[0].export_name, "0");
  EXPECT_EQ(shim->functions[0].slot, 1u);
  EXPECT_EQ(shim->functions[1].export_name, "1");
  EXPECT_EQ(shim->functions[1].slot, 0u);
  EXPECT_FALSE(may_have_start_function(assemble(kShim)));
  EXPECT_FALSE(recognize_table_fixup(assemble(kShim)).has_value());
}

TEST(ShimModules, RecognizesTheFixupItsSegmentAndItsStart) {
  auto fixup = recognize_table_fixup(assemble(kFixup));
  ASSERT_TRUE(fixup.has_value());
  ASSERT_EQ(fixup->functions.size(), 3u);
  EXPECT_EQ(fixup->functions[2].module, "main");
  EXPECT_EQ(fixup->functions[2].name, "_initialize");
  EXPECT_EQ(fixup->table.module, "shim");
  EXPECT_EQ(fixup->table.name, "$imports");
  EXPECT_EQ(fixup->offset, 0u);
  EXPECT_EQ(fixup->elements, (std::vector<uint32_t>{1, 0}));
  EXPECT_EQ(fixup->start, 2u);
  EXPECT_TRUE(may_have_start_function(assemble(kFixup)));
  EXPECT_FALSE(recognize_indirect_shim(assemble(kFixup)).has_value());
}

TEST(ShimModules, AModuleThatDoesAnythingMoreIsNotTakenForOne) {
  const char* not_shims[] = {
      // Parameters passed in another order.
      R"((module (type (func (param i32 i32))) (table (export "t") 1 1 funcref)
          (func (export "0") (type 0) local.get 1 local.get 0 i32.const 0 call_indirect (type 0))))",
      // A call through another type than the function's own.
      R"((module (type (func (param i32))) (type (func (param i32) (result i32)))
          (table (export "t") 1 1 funcref)
          (func (export "0") (type 0) local.get 0 i32.const 0 call_indirect (type 1) drop)))",
      // A local of its own.
      R"((module (type (func)) (table (export "t") 1 1 funcref)
          (func (export "0") (type 0) (local i32) i32.const 0 call_indirect (type 0))))",
      // A memory.
      R"((module (type (func)) (memory 1) (table (export "t") 1 1 funcref)
          (func (export "0") (type 0) i32.const 0 call_indirect (type 0))))",
      // An import.
      R"((module (type (func)) (import "x" "y" (func)) (table (export "t") 1 1 funcref)
          (func (export "0") (type 0) i32.const 0 call_indirect (type 0))))",
  };
  for (const char* wat : not_shims)
    EXPECT_FALSE(recognize_indirect_shim(assemble(wat)).has_value()) << wat;

  const char* not_fixups[] = {
      // A function of its own.
      R"((module (import "a" "0" (func)) (import "s" "t" (table 1 1 funcref))
          (elem (i32.const 0) func 0) (func)))",
      // Two tables.
      R"((module (import "a" "0" (func)) (import "s" "t" (table 1 1 funcref))
          (import "s" "u" (table 1 1 funcref)) (elem (i32.const 0) func 0)))",
      // An export.
      R"((module (import "a" "0" (func)) (import "s" "t" (table 1 1 funcref))
          (elem (i32.const 0) func 0) (export "f" (func 0))))",
      // No element segment.
      R"((module (import "a" "0" (func)) (import "s" "t" (table 1 1 funcref))))",
  };
  for (const char* wat : not_fixups)
    EXPECT_FALSE(recognize_table_fixup(assemble(wat)).has_value()) << wat;
}

TEST(ShimModules, EveryTruncationOfAShimOrFixupIsRejectedWithoutReadingPastIt) {
  for (const char* wat : {kShim, kFixup}) {
    const std::vector<uint8_t> bytes = assemble(wat);
    for (size_t size = 0; size < bytes.size(); ++size) {
      const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + size);
      EXPECT_FALSE(recognize_indirect_shim(cut).has_value()) << size;
      EXPECT_FALSE(recognize_table_fixup(cut).has_value()) << size;
      may_have_start_function(cut);
    }
  }
}

// A component laid out as wit-component lays out a guest whose import passes a string:
// the main module imports a stand-in from the shim, the fixup fills the shim's table with
// the lowered import and then runs `_initialize`. `main_extra` goes into the main module.
std::string shimmed_component(const std::string& main_extra) {
  return R"((component
  (import "host" (instance $host (export "log" (func (param "message" string)))))
  (core module $main
    (import "host" "log" (func $log (param i32 i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hello")
    (func $say (export "say") i32.const 16 i32.const 5 call $log)
    (func (export "_initialize") i32.const 16 i32.const 3 call $log)
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) unreachable)
    )" + main_extra +
         R"()
  (core module $shim
    (type (func (param i32 i32)))
    (table (export "$imports") 1 1 funcref)
    (func (export "0") (type 0) local.get 0 local.get 1 i32.const 0 call_indirect (type 0)))
  (core module $fixup
    (type (func (param i32 i32)))
    (import "actual" "0" (func (type 0)))
    (import "main" "_initialize" (func))
    (import "shim" "$imports" (table 1 1 funcref))
    (elem (i32.const 0) func 0)
    (start 1))
  (core instance $shim (instantiate $shim))
  (alias core export $shim "0" (core func $indirect_log))
  (core instance $host_bundle (export "log" (func $indirect_log)))
  (core instance $main (instantiate $main (with "host" (instance $host_bundle))))
  (alias core export $main "memory" (core memory $memory))
  (alias export $host "log" (func $log))
  (core func $lowered_log (canon lower (func $log) (memory $memory)))
  (core instance $actual (export "0" (func $lowered_log)))
  (core instance (instantiate $fixup
    (with "actual" (instance $actual))
    (with "main" (instance $main))
    (with "shim" (instance $shim))))
  (alias core export $main "say" (core func $say))
  (func (export "say") (canon lift (core func $say)))
))";
}

struct Logged {
  std::vector<std::string> messages;
  HostImports host;
  Logged() {
    host.interface("host").functions["log"] =
        [this](HostCall&, std::span<const Val> args) -> Result<std::optional<Val>, std::string> {
      messages.push_back(args[0].bytes);
      return std::optional<Val>{};
    };
  }
};

TEST(ShimModules, AShimmedImportIsCalledWithTheGuestsMemoryAfterTheFixupsStart) {
  auto engine = gyre::testing::test_engine(64);
  Logged logged;
  auto pre = ComponentPre::create(*engine, assemble(shimmed_component("")), logged.host);
  ASSERT_TRUE(pre.ok()) << pre.error();
  for (int request = 0; request < 2; ++request) {
    wasm::Store store(*engine);
    auto instance = (*pre)->instantiate(store);
    ASSERT_TRUE(instance.ok()) << instance.error().describe();
    auto said = (*instance)->call(*(*instance)->function("say"), {});
    ASSERT_TRUE(said.ok()) << said.error().describe();
  }
  // `_initialize` (run by the fixup's start) logs "hel", then `say` logs "hello".
  EXPECT_EQ(logged.messages, (std::vector<std::string>{"hel", "hello", "hel", "hello"}));
}

TEST(ShimModules, AMainModuleThatCallsAStandInBeforeTheFixupTrapsAsWritten) {
  auto engine = gyre::testing::test_engine(64);
  Logged logged;
  // The main module's start function calls the import while the shim's slot is empty.
  auto pre =
      ComponentPre::create(*engine, assemble(shimmed_component("(start $say)")), logged.host);
  ASSERT_TRUE(pre.ok()) << pre.error();
  wasm::Store store(*engine);
  auto instance = (*pre)->instantiate(store);
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.error().kind(), wasm::ErrorKind::kTrap) << instance.error().describe();
  EXPECT_TRUE(logged.messages.empty());
}

}  // namespace
}  // namespace gyre::component
