// The app's key-value stores by label, as the runtime config defines them:
//
//   [key_value_store.<label>]
//   type = "spin"             # SQLite; `path` relative to the runtime-config file's
//   path = "data/kv.db"       # folder, in memory without one
//
//   [key_value_store.<label>]
//   type = "redis"
//   url = "redis://127.0.0.1:6379"
//
// and `default`, unless the file defines it: SQLite at <state_dir>/sqlite_key_value.db,
// or in memory when the app has no state directory.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "spin/key_value/store.hpp"
#include "spin/runtime_config.hpp"

namespace gyre::spin::key_value {

inline constexpr std::string_view kDefaultLabel = "default";
inline constexpr std::string_view kDefaultFileName = "sqlite_key_value.db";

class Stores {
 public:
  void add(std::string label, std::shared_ptr<StoreProvider> provider);
  bool defines(std::string_view label) const { return providers_.count(label) != 0; }
  // The provider of `label`, or nullptr.
  const StoreProvider* provider(std::string_view label) const;
  // Spin's no-such-store for a label nothing defines. `suspender` as for every store call
  // (store.hpp).
  Outcome<std::shared_ptr<Store>> open(std::string_view label, Suspender* suspender) const;

 private:
  std::map<std::string, std::shared_ptr<StoreProvider>, std::less<>> providers_;
};

// Takes the `key_value_store` section of the runtime config. Errors name the file, the
// line, the key and the reason, in Spin's words.
Result<Stores, std::string> resolve_stores(RuntimeConfig& config,
                                           const std::filesystem::path& state_dir);

}  // namespace gyre::spin::key_value
