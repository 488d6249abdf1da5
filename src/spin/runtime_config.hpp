// The runtime-config file (`--runtime-config-file`, TOML): settings that are not part of
// the app but of where it runs (key-value backends, databases, variable providers, LLM
// endpoints). Each factor takes its own top-level sections; a section nobody took is an
// error, as in Spin ("unused runtime config key(s): ...").
#pragma once

#include <toml++/toml.h>

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace gyre::spin {

class RuntimeConfig {
 public:
  // No file: every section is absent.
  RuntimeConfig() = default;
  // Reads and parses the file; errors name it, with line and column for syntax errors.
  static Result<RuntimeConfig, std::string> load(const std::filesystem::path& file);
  static Result<RuntimeConfig, std::string> parse(std::string_view text, std::string file_name);

  // The top-level value at `key`, now counted as used; nullptr when absent.
  const toml::node* take(std::string_view key);

  // Spin's error for top-level keys no factor took, or nothing.
  std::optional<std::string> unused_keys_error() const;

  // "runtime-config.toml:3:1: key_value_store.cache: " — where errors about `node` point.
  std::string where(const toml::node& node, std::string_view key_path) const;

  const std::filesystem::path& file() const { return file_; }
  // Relative paths in the file are relative to the file's folder.
  std::filesystem::path resolve_path(std::string_view path) const;

 private:
  std::filesystem::path file_;
  toml::table table_;
  std::set<std::string, std::less<>> taken_;
};

}  // namespace gyre::spin
