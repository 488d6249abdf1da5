#include "spin/labelled_tables.hpp"

namespace gyre::spin {

std::string LabelledTable::error(const toml::node& at, std::string_view key,
                                 std::string_view reason) const {
  const std::string key_path = key.empty() ? path : path + "." + std::string(key);
  return config.where(at, key_path) + "could not configure " + std::string(noun) + " with label '" +
         label + "': " + std::string(reason);
}

Result<void, std::string> for_each_labelled_table(
    RuntimeConfig& config, std::string_view section, std::string_view noun, std::string_view plural,
    const std::function<Result<void, std::string>(const LabelledTable&)>& add) {
  const toml::node* node = config.take(section);
  if (node == nullptr) return {};
  const toml::table* labels = node->as_table();
  if (labels == nullptr) {
    return config.where(*node, section) + "invalid type: expected a table of " +
           std::string(plural) + " by label";
  }
  for (const auto& [key, value] : *labels) {
    const std::string label(key.str());
    const std::string path = std::string(section) + "." + label;
    const toml::table* table = value.as_table();
    if (table == nullptr) return config.where(value, path) + "invalid type: expected a table";
    if (auto added = add(LabelledTable{config, *table, path, label, noun}); !added) return added;
  }
  return {};
}

}  // namespace gyre::spin
