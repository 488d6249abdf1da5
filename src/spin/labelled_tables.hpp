// Runtime-config sections made of one table per label (`[key_value_store.<label>]`,
// `[sqlite_database.<label>]`): the walk over their tables, and Spin's wording for errors
// about one of them.
#pragma once

#include <toml++/toml.h>

#include <functional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "spin/runtime_config.hpp"

namespace gyre::spin {

// One `[<section>.<label>]` table.
struct LabelledTable {
  RuntimeConfig& config;
  const toml::table& table;
  std::string path;  // "<section>.<label>"
  std::string label;
  std::string_view noun;  // what a label names: "key-value store", "SQLite database"

  // "<where>could not configure <noun> with label '<label>': <reason>", pointing at `at`,
  // the value of `key` in the table (or the table itself when `key` is empty).
  std::string error(const toml::node& at, std::string_view key, std::string_view reason) const;
};

// Takes `section` and hands each of its tables to `add`, in the file's order, stopping at
// the first error. `plural` names what the section holds in the error for a section that
// is no table ("stores": "expected a table of stores by label").
Result<void, std::string> for_each_labelled_table(
    RuntimeConfig& config, std::string_view section, std::string_view noun, std::string_view plural,
    const std::function<Result<void, std::string>(const LabelledTable&)>& add);

}  // namespace gyre::spin
