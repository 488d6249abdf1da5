// Guests that break the canonical ABI on purpose, written in the text format: every
// violation must end the call with an error that says what was wrong, never a crash.
#include <gtest/gtest.h>

#include "component/instance.hpp"
#include "support/engine.hpp"
#include "support/process.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::component {
namespace {

using gyre::testing::assemble;

std::unique_ptr<wasm::Engine> engine() {
  return gyre::testing::test_engine(16);
}

// A component exporting `f: func(<params>) -> <result>` lifted from a core function whose
// body the test writes. The module has a one-page memory and a bump realloc from 1024.
std::string component(const std::string& signature, const std::string& core_params,
                      const std::string& core_result, const std::string& body,
                      const std::string& extra = "") {
  return R"((component
  (core module $m
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      global.get $bump
      local.set $p
      global.get $bump
      local.get 3
      i32.add
      global.set $bump
      local.get $p)
    (func (export "f") )" +
         core_params + " " + core_result + "\n" + body + R"()
    )" + extra +
         R"()
  (core instance $i (instantiate $m))
  (alias core export $i "mem" (core memory $mem))
  (alias core export $i "realloc" (core func $realloc))
  (func (export "f") )" +
         signature + R"(
    (canon lift (core func $i "f") (memory $mem) (realloc $realloc)))
))";
}

std::string call_error(const std::string& text, std::vector<Val> args = {}) {
  auto eng = engine();
  HostImports none;
  auto pre = ComponentPre::create(*eng, assemble(text), none);
  if (!pre) return "link: " + pre.error();
  wasm::Store store(*eng);
  auto instance = (*pre)->instantiate(store);
  if (!instance) return "instantiate: " + instance.error().describe();
  auto result = (*instance)->call(*(*instance)->function("f"), args);
  if (result) return "";
  return result.error().message();
}

void expect_error(const std::string& text, const std::string& expected,
                  std::vector<Val> args = {}) {
  const std::string error = call_error(text, std::move(args));
  EXPECT_FALSE(error.empty()) << "the call succeeded";
  EXPECT_NE(error.find(expected), std::string::npos) << error;
}

// Stores (ptr, len) at address 0 and returns 0: the shape of a returned string or list.
std::string returns_pair(int ptr, int len) {
  return "(i32.store (i32.const 0) (i32.const " + std::to_string(ptr) +
         "))\n(i32.store (i32.const 4) (i32.const " + std::to_string(len) + "))\ni32.const 0";
}

TEST(Hostile, StringPastTheEndOfMemory) {
  expect_error(component("(result string)", "", "(result i32)", returns_pair(65530, 100)),
               "runs past the end of linear memory");
}

TEST(Hostile, StringWithInvalidUtf8) {
  const std::string body = "(i32.store8 (i32.const 100) (i32.const 0xff))\n" + returns_pair(100, 1);
  expect_error(component("(result string)", "", "(result i32)", body), "not valid UTF-8");
}

TEST(Hostile, ResultPointerPastTheEnd) {
  expect_error(component("(result string)", "", "(result i32)", "i32.const 65532"),
               "runs past the end of linear memory");
}

TEST(Hostile, MisalignedListPointer) {
  expect_error(component("(result (list u32))", "", "(result i32)", returns_pair(101, 1)),
               "not 4-byte aligned");
}

TEST(Hostile, HugeListLength) {
  expect_error(component("(result (list u64))", "", "(result i32)", returns_pair(0, 0x7fffffff)),
               "too long");
}

TEST(Hostile, InvalidChar) {
  expect_error(component("(result char)", "", "(result i32)", "i32.const 0xd800"), "invalid char");
  expect_error(component("(result char)", "", "(result i32)", "i32.const 0x110000"),
               "invalid char");
}

TEST(Hostile, BadDiscriminant) {
  expect_error(component("(result (option u8))", "", "(result i32)",
                         "(i32.store8 (i32.const 0) (i32.const 2))\ni32.const 0"),
               "invalid discriminant 2");
}

TEST(Hostile, BadDiscriminantInFlatParameters) {
  // A host passing a well-formed value is fine; the guest side reads what the ABI wrote.
  EXPECT_EQ(call_error(component("(param \"x\" (option u8)) (result u8)", "(param i32 i32)",
                                 "(result i32)", "local.get 1"),
                       {Val::some(Val::u8(7))}),
            "");
}

TEST(Hostile, ReallocReturningAPointerPastTheEnd) {
  const std::string text = R"((component
  (core module $m
    (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 65535)
    (func (export "f") (param i32 i32)))
  (core instance $i (instantiate $m))
  (alias core export $i "mem" (core memory $mem))
  (alias core export $i "realloc" (core func $realloc))
  (func (export "f") (param "s" string)
    (canon lift (core func $i "f") (memory $mem) (realloc $realloc)))
))";
  expect_error(text, "memory from realloc", {Val::string("hello, world")});
}

TEST(Hostile, TrapInTheGuestNamesTheTrap) {
  expect_error(component("(result u32)", "", "(result i32)", "unreachable"), "unreachable");
}

TEST(Hostile, DroppingAHandleThatWasNeverGiven) {
  const std::string text = R"((component
  (type $r (resource (rep i32)))
  (core func $drop (canon resource.drop $r))
  (core module $m
    (import "" "drop" (func $drop (param i32)))
    (func (export "f") (call $drop (i32.const 7))))
  (core instance $args (export "drop" (func $drop)))
  (core instance $i (instantiate $m (with "" (instance $args))))
  (func (export "f") (canon lift (core func $i "f")))
))";
  expect_error(text, "is not a handle of this resource");
}

TEST(Hostile, LiftingAnOwnFromABorrowedHandle) {
  // The guest creates a resource, then returns the handle twice as `own`: the second
  // lift finds the handle already moved out.
  const std::string text = R"((component
  (type $r (resource (rep i32)))
  (core func $new (canon resource.new $r))
  (core module $m
    (import "" "new" (func $new (param i32) (result i32)))
    (memory (export "mem") 1)
    (func (export "f") (result i32)
      (local $h i32)
      (local.set $h (call $new (i32.const 42)))
      (i32.store (i32.const 0) (local.get $h))
      (i32.store (i32.const 4) (local.get $h))
      i32.const 0))
  (core instance $args (export "new" (func $new)))
  (core instance $i (instantiate $m (with "" (instance $args))))
  (alias core export $i "mem" (core memory $mem))
  (type $pair (tuple (own $r) (own $r)))
  (func (export "f") (result $pair) (canon lift (core func $i "f") (memory $mem)))
))";
  expect_error(text, "unknown handle");
}

TEST(Hostile, ReenteringARunningInstanceTraps) {
  // f calls an import that the host implements by calling f again.
  const std::string text = R"((component
  (import "again" (func $again))
  (core func $again-lowered (canon lower (func $again)))
  (core module $m
    (import "" "again" (func $again))
    (func (export "f") (call $again)))
  (core instance $args (export "again" (func $again-lowered)))
  (core instance $i (instantiate $m (with "" (instance $args))))
  (func (export "f") (canon lift (core func $i "f")))
))";
  auto eng = engine();
  HostImports host;
  ComponentInstance* running = nullptr;
  host.define_function(
      "again", [&](HostCall&, std::span<const Val>) -> Result<std::optional<Val>, std::string> {
        auto inner = running->call(*running->function("f"), {});
        if (!inner) return inner.error().message();
        return std::optional<Val>{};
      });
  auto pre = ComponentPre::create(*eng, assemble(text), host);
  ASSERT_TRUE(pre.ok()) << pre.error();
  wasm::Store store(*eng);
  auto instance = std::move((*pre)->instantiate(store)).value();
  running = instance.get();
  auto result = instance->call(*instance->function("f"), {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("already running"), std::string::npos)
      << result.error().describe();
}

// The host lends the guest a handle for one call; the guest must drop it before returning.
std::string borrow_component(bool drops) {
  return std::string(R"((component
  (import "r" (type $r (sub resource)))
  (core func $drop (canon resource.drop $r))
  (core module $m
    (import "" "drop" (func $drop (param i32)))
    (func (export "f") (param i32) )") +
         (drops ? "(call $drop (local.get 0))" : "") + R"())
  (core instance $args (export "drop" (func $drop)))
  (core instance $i (instantiate $m (with "" (instance $args))))
  (func (export "f") (param "x" (borrow $r)) (canon lift (core func $i "f")))
))";
}

TEST(Hostile, ReturningWithoutDroppingABorrowedHandle) {
  expect_error(borrow_component(false), "without dropping borrowed handle", {Val::borrow(5)});
  EXPECT_EQ(call_error(borrow_component(true), {Val::borrow(5)}), "");
}

}  // namespace
}  // namespace gyre::component
