// Type resolution on real components: imports and exports with their types, resource
// identity across interfaces and through nested instantiation, and index errors.
#include "component/types.hpp"

#include <gtest/gtest.h>

#include "component/decode.hpp"
#include "support/process.hpp"

namespace gyre::component {
namespace {

using gyre::testing::fixture_path;
using gyre::testing::read_file;

ComponentTypeInfo resolve_fixture(const std::string& name) {
  auto decoded = decode(read_file(fixture_path(name)));
  EXPECT_TRUE(decoded.ok());
  auto types = resolve_types(*decoded);
  EXPECT_TRUE(types.ok()) << (types.ok() ? "" : types.error().message);
  return types.ok() ? std::move(types).value() : ComponentTypeInfo{};
}

const NamedItem& named(const std::vector<NamedItem>& items, const std::string& name) {
  for (const auto& item : items) {
    if (item.name == name) return item;
  }
  ADD_FAILURE() << "no item " << name;
  static NamedItem none;
  return none;
}

const InstanceTypeInfo& instance(const NamedItem& item) {
  return *std::get<std::shared_ptr<const InstanceTypeInfo>>(item.type);
}

const FunctionType& function(const NamedItem& item) {
  return *std::get<FunctionTypePtr>(item.type);
}

TEST(Types, CFixtureImportsAndExportsWithTheirSignatures) {
  ComponentTypeInfo info = resolve_fixture("c-hello");
  ASSERT_EQ(info.imports.size(), 1u);
  const auto& host = instance(named(info.imports, "gyre:fixtures/host"));
  const auto& log = function(*host.find("log"));
  ASSERT_EQ(log.params.size(), 1u);
  EXPECT_EQ(log.params[0].first, "message");
  EXPECT_EQ(log.params[0].second->kind, ValueKind::kString);
  EXPECT_EQ(log.result, nullptr);

  const auto& greet = function(named(info.exports, "greet"));
  ASSERT_EQ(greet.params.size(), 1u);
  EXPECT_EQ(greet.params[0].second->kind, ValueKind::kString);
  ASSERT_NE(greet.result, nullptr);
  EXPECT_EQ(greet.result->kind, ValueKind::kString);
}

TEST(Types, ResourcesKeepTheirIdentityAcrossInterfacesAndNestedInstances) {
  ComponentTypeInfo info = resolve_fixture("js-hello");
  const auto& types = instance(named(info.imports, "wasi:http/types@0.2.3"));
  const auto request = std::get<ResourcePtr>(types.find("incoming-request")->type);
  const auto outparam = std::get<ResourcePtr>(types.find("response-outparam")->type);

  // The exported handler takes the very resources the imported types interface defines,
  // although the export reaches them through an instantiated shim component.
  const auto& handler = instance(named(info.exports, "wasi:http/incoming-handler@0.2.3"));
  const auto& handle = function(*handler.find("handle"));
  ASSERT_EQ(handle.params.size(), 2u);
  EXPECT_EQ(handle.params[0].second->kind, ValueKind::kOwn);
  EXPECT_EQ(handle.params[0].second->resource, request);
  EXPECT_EQ(handle.params[1].second->resource, outparam);

  // Methods borrow their own resource.
  const auto& streams = instance(named(info.imports, "wasi:io/streams@0.2.12"));
  const auto input = std::get<ResourcePtr>(streams.find("input-stream")->type);
  const auto& read = function(*streams.find("[method]input-stream.read"));
  EXPECT_EQ(read.params[0].first, "self");
  EXPECT_EQ(read.params[0].second->kind, ValueKind::kBorrow);
  EXPECT_EQ(read.params[0].second->resource, input);
  // result<list<u8>, stream-error>
  ASSERT_EQ(read.result->kind, ValueKind::kResult);
  EXPECT_EQ(read.result->types[0]->kind, ValueKind::kList);
  EXPECT_EQ(read.result->types[0]->types[0]->kind, ValueKind::kU8);
  EXPECT_EQ(read.result->types[1]->kind, ValueKind::kVariant);
  EXPECT_EQ(read.result->types[1]->labels,
            (std::vector<std::string>{"last-operation-failed", "closed"}));
  // And the stream's pollable is the one wasi:io/poll defines.
  const auto& poll = instance(named(info.imports, "wasi:io/poll@0.2.12"));
  const auto& subscribe = function(*streams.find("[method]input-stream.subscribe"));
  EXPECT_EQ(subscribe.result->resource, std::get<ResourcePtr>(poll.find("pollable")->type));
}

TEST(Types, EveryImportOfThePythonFixtureResolves) {
  ComponentTypeInfo info = resolve_fixture("python-hello");
  EXPECT_GT(info.imports.size(), 20u);
  for (const auto& item : info.imports)
    EXPECT_EQ(item.kind, ExternKind::kInstance) << item.name;
  const auto& sqlite = instance(named(info.imports, "spin:sqlite/sqlite@3.0.0"));
  EXPECT_NE(sqlite.find("[method]connection.execute"), nullptr);
}

std::vector<uint8_t> component_with_types(std::vector<uint8_t> section) {
  std::vector<uint8_t> bytes{0x00, 0x61, 0x73, 0x6d, 0x0d,
                             0x00, 0x01, 0x00, 0x07, static_cast<uint8_t>(section.size())};
  bytes.insert(bytes.end(), section.begin(), section.end());
  return bytes;
}

TEST(TypeErrors, IndexOutOfRangeNamesTheIndex) {
  // (type (list 5)) with no type 5.
  auto decoded = decode(component_with_types({0x01, 0x70, 0x05}));
  ASSERT_TRUE(decoded.ok());
  auto types = resolve_types(*decoded);
  ASSERT_FALSE(types.ok());
  EXPECT_NE(types.error().message.find("type index 5 is out of range"), std::string::npos)
      << types.error().message;
}

TEST(TypeErrors, OwnOfANonResource) {
  // (type u8) (type (own 0))
  auto decoded = decode(component_with_types({0x02, 0x7d, 0x69, 0x00}));
  ASSERT_TRUE(decoded.ok());
  auto types = resolve_types(*decoded);
  ASSERT_FALSE(types.ok());
  EXPECT_NE(types.error().message.find("not a resource type"), std::string::npos)
      << types.error().message;
}

}  // namespace
}  // namespace gyre::component
