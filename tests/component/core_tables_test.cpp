// The sizes the tables of a component's core modules start with, which decide how the
// engine resets tables (wasm/engine.hpp): read from real SDK output and from text.
#include "component/core_tables.hpp"

#include <gtest/gtest.h>

#include "support/process.hpp"

namespace gyre::component {
namespace {

using gyre::testing::assemble;
using gyre::testing::fixture_path;
using gyre::testing::read_file;

TEST(CoreTables, TheLargestTableOfEachSdksOutput) {
  // wit-bindgen C: the main module's one-element table and the shim's twelve slots.
  EXPECT_EQ(largest_table(read_file(fixture_path("c-http"))), 12u);
  // StarlingMonkey and CPython keep thousands of functions in their tables.
  EXPECT_GT(largest_table(read_file(fixture_path("js-hello"))).value_or(0), 512u);
  EXPECT_GT(largest_table(read_file(fixture_path("python-hello"))).value_or(0), 512u);
}

TEST(CoreTables, CountsNestedComponentsAndSaysZeroWithoutTables) {
  EXPECT_EQ(largest_table(assemble("(component)")), 0u);
  EXPECT_EQ(largest_table(assemble(R"((component
    (core module (table 3 funcref))
    (component (core module (table 700 900 funcref) (table 5 externref)))))")),
            700u);
}

TEST(CoreTables, WhatDoesNotParseIsNotKnown) {
  EXPECT_FALSE(largest_table(std::vector<uint8_t>{0x00, 0x61, 0x73}).has_value());
  std::vector<uint8_t> cut = read_file(fixture_path("c-http"));
  cut.resize(cut.size() / 2);
  EXPECT_FALSE(largest_table(cut).has_value());
}

}  // namespace
}  // namespace gyre::component
