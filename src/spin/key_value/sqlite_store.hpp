// Spin's own key-value backend (`type = "spin"`, and the `default` store): SQLite, with
// Spin's table layout, so a database Spin wrote serves Gyre and the other way round:
//
//   spin_key_value(store TEXT, key TEXT, value BLOB, PRIMARY KEY (store, key))
//
// One connection per database, opened on first use and shared by its labels behind a
// mutex; the file is in WAL mode with a busy timeout, so other processes (another `gyre
// up`, `spin up`) may use it at the same time without losing writes.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "spin/key_value/store.hpp"

namespace gyre::spin::key_value {

// A database at `path` (its folder created now, as Spin does; the file on first use), or,
// without one, in memory for as long as the app runs.
Result<std::shared_ptr<StoreProvider>, std::string> make_sqlite_provider(
    std::optional<std::filesystem::path> path);

}  // namespace gyre::spin::key_value
