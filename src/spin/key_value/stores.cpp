#include "spin/key_value/stores.hpp"

#include "spin/key_value/redis_store.hpp"
#include "spin/key_value/sqlite_store.hpp"

namespace gyre::spin::key_value {
namespace {

namespace fs = std::filesystem;

using Provider = Result<std::shared_ptr<StoreProvider>, std::string>;

// One `[key_value_store.<label>]` table: where errors point, and what they say first.
struct Entry {
  RuntimeConfig& config;
  const toml::table& table;
  std::string path;  // "key_value_store.<label>"
  std::string label;

  std::string error(const toml::node& at, std::string_view key, std::string_view reason) const {
    const std::string key_path = key.empty() ? path : path + "." + std::string(key);
    return config.where(at, key_path) + "could not configure key-value store with label '" + label +
           "': " + std::string(reason);
  }

  // An optional string field; an error when present with another type.
  Result<std::optional<std::string>, std::string> string_field(std::string_view key) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) return std::optional<std::string>();
    if (const auto* s = node->as_string()) return std::optional<std::string>(s->get());
    return error(*node, key,
                 "could not parse key-value runtime config: invalid type: expected a string");
  }
};

Provider spin_store(const Entry& entry) {
  auto path = entry.string_field("path");
  if (!path) return std::move(path).error();
  std::optional<fs::path> location;
  if (*path) location = entry.config.resolve_path(**path);
  auto provider = make_sqlite_provider(location);
  if (!provider) {
    return entry.error(*entry.table.get("path"), "path",
                       "could not make key-value store from runtime config: " + provider.error());
  }
  return provider;
}

Provider redis_store(const Entry& entry) {
  auto url = entry.string_field("url");
  if (!url) return std::move(url).error();
  if (!*url) {
    return entry.error(entry.table, "",
                       "could not parse key-value runtime config: missing field `url`");
  }
  auto parsed = parse_redis_url(**url);
  if (!parsed) {
    return entry.error(*entry.table.get("url"), "url",
                       "could not make key-value store from runtime config: " + parsed.error());
  }
  return make_redis_provider(std::move(parsed).value());
}

Provider provider_for(const Entry& entry) {
  const toml::node* type = entry.table.get("type");
  if (type == nullptr) return entry.config.where(entry.table, entry.path) + "missing field `type`";
  const auto* name = type->as_string();
  if (name == nullptr)
    return entry.config.where(*type, entry.path + ".type") + "invalid type: expected a string";
  if (name->get() == "spin") return spin_store(entry);
  if (name->get() == "redis") return redis_store(entry);
  if (name->get() == "azure_cosmos" || name->get() == "aws_dynamo") {
    return entry.error(*type, "type",
                       "the store type '" + name->get() + "' is not supported by Gyre yet");
  }
  return entry.error(
      *type, "type",
      "the store type '" + name->get() + "' was not registered with the config resolver");
}

}  // namespace

void Stores::add(std::string label, std::shared_ptr<StoreProvider> provider) {
  providers_[std::move(label)] = std::move(provider);
}

const StoreProvider* Stores::provider(std::string_view label) const {
  auto it = providers_.find(label);
  return it == providers_.end() ? nullptr : it->second.get();
}

Outcome<std::shared_ptr<Store>> Stores::open(std::string_view label) const {
  auto it = providers_.find(label);
  if (it == providers_.end()) return Error{Error::Kind::kNoSuchStore, {}};
  return it->second->open(label);
}

Result<Stores, std::string> resolve_stores(RuntimeConfig& config, const fs::path& state_dir) {
  Stores stores;
  if (const toml::node* section = config.take("key_value_store")) {
    const toml::table* labels = section->as_table();
    if (labels == nullptr) {
      return config.where(*section, "key_value_store") +
             "invalid type: expected a table of stores by label";
    }
    for (const auto& [key, value] : *labels) {
      const std::string label(key.str());
      const std::string path = "key_value_store." + label;
      const toml::table* table = value.as_table();
      if (table == nullptr) return config.where(value, path) + "invalid type: expected a table";
      auto provider = provider_for(Entry{config, *table, path, label});
      if (!provider) return std::move(provider).error();
      stores.add(label, std::move(provider).value());
    }
  }
  if (!stores.defines(kDefaultLabel)) {
    std::optional<fs::path> location;
    if (!state_dir.empty()) location = state_dir / kDefaultFileName;
    auto provider = make_sqlite_provider(location);
    if (!provider) {
      return "could not configure key-value store with label 'default': " + provider.error();
    }
    stores.add(std::string(kDefaultLabel), std::move(provider).value());
  }
  return stores;
}

}  // namespace gyre::spin::key_value
