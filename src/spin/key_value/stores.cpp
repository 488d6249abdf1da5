#include "spin/key_value/stores.hpp"

#include "spin/key_value/redis_store.hpp"
#include "spin/key_value/sqlite_store.hpp"
#include "spin/labelled_tables.hpp"

namespace gyre::spin::key_value {
namespace {

namespace fs = std::filesystem;

using Provider = Result<std::shared_ptr<StoreProvider>, std::string>;

// One `[key_value_store.<label>]` table.
using Entry = LabelledTable;

// An optional string field; an error when present with another type.
Result<std::optional<std::string>, std::string> string_field(const Entry& entry,
                                                             std::string_view key) {
  const toml::node* node = entry.table.get(key);
  if (node == nullptr) return std::optional<std::string>();
  if (const auto* s = node->as_string()) return std::optional<std::string>(s->get());
  return entry.error(*node, key,
                     "could not parse key-value runtime config: invalid type: expected a string");
}

Provider spin_store(const Entry& entry) {
  auto path = string_field(entry, "path");
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
  auto url = string_field(entry, "url");
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

Outcome<std::shared_ptr<Store>> Stores::open(std::string_view label, Suspender* suspender) const {
  auto it = providers_.find(label);
  if (it == providers_.end()) return Error{Error::Kind::kNoSuchStore, {}};
  return it->second->open(label, suspender);
}

Result<Stores, std::string> resolve_stores(RuntimeConfig& config, const fs::path& state_dir) {
  Stores stores;
  auto configured = for_each_labelled_table(config, "key_value_store", "key-value store", "stores",
                                            [&](const Entry& entry) -> Result<void, std::string> {
                                              auto provider = provider_for(entry);
                                              if (!provider) return std::move(provider).error();
                                              stores.add(entry.label, std::move(provider).value());
                                              return {};
                                            });
  if (!configured) return std::move(configured).error();
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
