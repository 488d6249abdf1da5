// Typed host bindings: a C++ function as a component import, its signature checked at
// link time, its arguments and results converted, its traps reaching the guest's caller.
#include "host/define.hpp"

#include <gtest/gtest.h>

#include "component/instance.hpp"
#include "support/engine.hpp"
#include "support/process.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::host {
namespace {

using component::ComponentPre;
using component::HostImports;
using gyre::testing::fixture_path;
using gyre::testing::read_file;

std::unique_ptr<wasm::Engine> engine() {
  return gyre::testing::test_engine(16);
}

std::optional<Val> greet(const ComponentPre& pre, wasm::Engine& eng, const std::string& name,
                         std::string* error = nullptr) {
  wasm::Store store(eng);
  auto instance = std::move(pre.instantiate(store)).value();
  std::vector<Val> args{Val::string(name)};
  auto result = instance->call(*instance->function("greet"), args);
  if (!result) {
    if (error) *error = result.error().describe();
    return std::nullopt;
  }
  return *result;
}

TEST(Define, ATypedFunctionServesTheImport) {
  auto eng = engine();
  std::vector<std::string> logged;
  HostImports imports;
  define(imports, "gyre:fixtures/host", "log",
         [&](Context&, std::string_view message) { logged.emplace_back(message); });
  auto pre = ComponentPre::create(*eng, read_file(fixture_path("c-hello")), imports);
  ASSERT_TRUE(pre.ok()) << pre.error();
  auto result = greet(**pre, *eng, "typed");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->bytes, "Hello, typed!");
  EXPECT_EQ(logged, std::vector<std::string>{"greet called"});
}

// A C++ exception a host function lets escape traps the call that made it, each time, and
// the process goes on.
TEST(Define, AnExceptionEscapingAHostFunctionEndsTheCallAsATrap) {
  auto eng = engine();
  HostImports imports;
  define(imports, "gyre:fixtures/host", "log", [](Context&, std::string_view) {
    std::vector<int> none;
    (void)none.at(3);  // throws std::out_of_range
  });
  auto pre = ComponentPre::create(*eng, read_file(fixture_path("c-hello")), imports);
  ASSERT_TRUE(pre.ok()) << pre.error();
  std::string error;
  EXPECT_FALSE(greet(**pre, *eng, "x", &error).has_value());
  EXPECT_NE(error.find("gyre:fixtures/host#log: the host function failed"), std::string::npos)
      << error;
  error.clear();
  EXPECT_FALSE(greet(**pre, *eng, "again", &error).has_value());
  EXPECT_NE(error.find("the host function failed"), std::string::npos) << error;
}

TEST(Define, AMismatchedSignatureIsALinkErrorNamingInterfaceFunctionAndTypes) {
  auto eng = engine();
  HostImports imports;
  define(imports, "gyre:fixtures/host", "log", [](Context&, uint32_t) {});
  auto pre = ComponentPre::create(*eng, read_file(fixture_path("c-hello")), imports);
  ASSERT_FALSE(pre.ok());
  EXPECT_NE(pre.error().find("gyre:fixtures/host#log"), std::string::npos) << pre.error();
  EXPECT_NE(pre.error().find("func(message: string)"), std::string::npos) << pre.error();

  HostImports returns_value;
  define(returns_value, "gyre:fixtures/host", "log",
         [](Context&, std::string_view) -> uint32_t { return 1; });
  auto pre2 = ComponentPre::create(*eng, read_file(fixture_path("c-hello")), returns_value);
  ASSERT_FALSE(pre2.ok());
  EXPECT_NE(pre2.error().find("gyre:fixtures/host#log"), std::string::npos) << pre2.error();
}

TEST(Define, ATrappingResultEndsTheGuestCallWithTheMessage) {
  auto eng = engine();
  HostImports imports;
  define(imports, "gyre:fixtures/host", "log", [](Context&, std::string_view) -> Trapping<void> {
    return std::string("log quota exceeded");
  });
  auto pre = ComponentPre::create(*eng, read_file(fixture_path("c-hello")), imports);
  ASSERT_TRUE(pre.ok()) << pre.error();
  std::string error;
  EXPECT_FALSE(greet(**pre, *eng, "x", &error).has_value());
  EXPECT_NE(error.find("log quota exceeded"), std::string::npos) << error;
}

// Conversions on their own, against resolved types.
struct Point {
  int32_t x;
  std::string label;
  std::optional<uint8_t> weight;
};
enum class Color { kRed, kGreen };

}  // namespace

template <>
struct RecordFields<Point> {
  static constexpr auto fields =
      std::make_tuple(std::pair{"x", &Point::x}, std::pair{"label", &Point::label},
                      std::pair{"weight", &Point::weight});
};
template <>
struct EnumLabels<Color> {
  static constexpr const char* labels[] = {"red", "green"};
};

namespace {

component::ValueTypePtr type_of(component::ValueKind kind,
                                std::vector<component::ValueTypePtr> types = {},
                                std::vector<std::string> labels = {}) {
  auto t = std::make_shared<component::ValueType>();
  t->kind = kind;
  t->types = std::move(types);
  t->labels = std::move(labels);
  return t;
}

TEST(WitTypes, RecordsEnumsAndContainersMatchAndConvert) {
  using component::primitive_type;
  using component::PrimType;
  auto point = type_of(ValueKind::kRecord,
                       {primitive_type(PrimType::kS32), primitive_type(PrimType::kString),
                        type_of(ValueKind::kOption, {primitive_type(PrimType::kU8)})},
                       {"x", "label", "weight"});
  EXPECT_TRUE(WitType<Point>::matches(*point));
  auto renamed = type_of(ValueKind::kRecord, point->types, {"x", "name", "weight"});
  EXPECT_FALSE(WitType<Point>::matches(*renamed));
  auto color = type_of(ValueKind::kEnum, {}, {"red", "green"});
  EXPECT_TRUE(WitType<Color>::matches(*color));
  EXPECT_FALSE(WitType<Color>::matches(*type_of(ValueKind::kEnum, {}, {"green", "red"})));
  auto list = type_of(ValueKind::kList, {point});
  EXPECT_TRUE(WitType<std::vector<Point>>::matches(*list));
  EXPECT_FALSE(WitType<std::vector<Color>>::matches(*list));
  auto result = type_of(ValueKind::kResult, {nullptr, primitive_type(PrimType::kString)});
  EXPECT_TRUE((WitType<Result<Unit, std::string>>::matches(*result)));
  EXPECT_FALSE((WitType<Result<uint8_t, std::string>>::matches(*result)));
}

}  // namespace
}  // namespace gyre::host
