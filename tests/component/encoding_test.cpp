// The latin1+utf16 string encoding, which no SDK emits but the canonical ABI defines:
// hand-written guests lifting and lowering strings in it.
#include <gtest/gtest.h>

#include "component/instance.hpp"
#include "support/engine.hpp"
#include "support/process.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::component {
namespace {

using gyre::testing::assemble;

constexpr uint32_t kUtf16Tag = 1u << 31;

// `get` returns the string stored at 100 with the tagged length at 96; `len` returns the
// tagged length it was given; both with string-encoding=latin1+utf16.
std::string component(const std::string& data, uint32_t tagged_length) {
  return R"((component
  (core module $m
    (memory (export "mem") 1)
    (data (i32.const 100) ")" +
         data + R"(")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 1024)
    (func (export "get") (result i32)
      (i32.store (i32.const 0) (i32.const 100))
      (i32.store (i32.const 4) (i32.const )" +
         std::to_string(tagged_length) + R"())
      i32.const 0)
    (func (export "len") (param i32 i32) (result i32) local.get 1))
  (core instance $i (instantiate $m))
  (alias core export $i "mem" (core memory $mem))
  (alias core export $i "realloc" (core func $realloc))
  (func (export "get") (result string)
    (canon lift (core func $i "get") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $i "len") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
))";
}

struct Guest {
  std::unique_ptr<wasm::Engine> engine;
  std::shared_ptr<const ComponentPre> pre;
  std::unique_ptr<wasm::Store> store;
  std::unique_ptr<ComponentInstance> instance;
};

Guest load(const std::string& text) {
  Guest g;
  g.engine = gyre::testing::test_engine(8);
  HostImports none;
  auto pre = ComponentPre::create(*g.engine, assemble(text), none);
  EXPECT_TRUE(pre.ok()) << (pre.ok() ? "" : pre.error());
  g.pre = std::move(pre).value();
  g.store = std::make_unique<wasm::Store>(*g.engine);
  g.instance = std::move(g.pre->instantiate(*g.store)).value();
  return g;
}

TEST(Latin1Utf16, LiftsLatin1AndTaggedUtf16) {
  // "café" as latin-1: four bytes, untagged length 4.
  Guest latin1 = load(component("caf\\e9", 4));
  auto a = latin1.instance->call(*latin1.instance->function("get"), {});
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ((*a)->bytes, "caf\xc3\xa9");

  // U+1F600 as UTF-16LE surrogates: two code units, tagged.
  Guest utf16 = load(component("\\3d\\d8\\00\\de", 2 | kUtf16Tag));
  auto b = utf16.instance->call(*utf16.instance->function("get"), {});
  ASSERT_TRUE(b.ok()) << b.error().describe();
  EXPECT_EQ((*b)->bytes, "\xf0\x9f\x98\x80");
}

TEST(Latin1Utf16, LowersLatin1WhenItCanAndTaggedUtf16WhenItMust) {
  Guest g = load(component("", 0));
  const ComponentFunction& len = *g.instance->function("len");
  auto latin1 = g.instance->call(len, std::vector<Val>{Val::string("caf\xc3\xa9")});
  ASSERT_TRUE(latin1.ok()) << latin1.error().describe();
  EXPECT_EQ((*latin1)->bits, 4u);
  auto utf16 = g.instance->call(len, std::vector<Val>{Val::string("a\xf0\x9f\x98\x80")});
  ASSERT_TRUE(utf16.ok()) << utf16.error().describe();
  EXPECT_EQ((*utf16)->bits, 3u | kUtf16Tag);
}

TEST(Latin1Utf16, AnUnpairedSurrogateFromTheGuestTraps) {
  Guest g = load(component("\\3d\\d8", 1 | kUtf16Tag));
  auto result = g.instance->call(*g.instance->function("get"), {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("not valid UTF-16"), std::string::npos)
      << result.error().describe();
}

}  // namespace
}  // namespace gyre::component
