#include "spin/runtime_config.hpp"

#include <fstream>
#include <sstream>

namespace gyre::spin {

Result<RuntimeConfig, std::string> RuntimeConfig::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "failed to read runtime config file \"" + file.string() + "\"";
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), file.string());
}

Result<RuntimeConfig, std::string> RuntimeConfig::parse(std::string_view text,
                                                        std::string file_name) {
  RuntimeConfig config;
  config.file_ = file_name;
  try {
    config.table_ = toml::parse(text, file_name);
  } catch (const toml::parse_error& error) {
    const auto& at = error.source().begin;
    return file_name + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
           ": invalid TOML: " + std::string(error.description());
  }
  return config;
}

const toml::node* RuntimeConfig::take(std::string_view key) {
  const toml::node* node = table_.get(key);
  if (node != nullptr) taken_.emplace(key);
  return node;
}

std::optional<std::string> RuntimeConfig::unused_keys_error() const {
  std::string keys;
  for (const auto& [key, value] : table_) {
    if (taken_.count(key.str())) continue;
    keys += (keys.empty() ? "" : ", ") + std::string(key.str());
  }
  if (keys.empty()) return std::nullopt;
  return file_.string() + ": unused runtime config key(s): " + keys;
}

std::string RuntimeConfig::where(const toml::node& node, std::string_view key_path) const {
  const auto& at = node.source().begin;
  std::string out = file_.string();
  if (at.line > 0) out += ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
  return out + ": " + std::string(key_path) + ": ";
}

std::filesystem::path RuntimeConfig::resolve_path(std::string_view path) const {
  std::filesystem::path p(path);
  if (p.is_absolute() || file_.empty()) return p;
  return file_.parent_path() / p;
}

}  // namespace gyre::spin
