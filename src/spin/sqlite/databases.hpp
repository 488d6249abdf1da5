// The app's SQLite databases by label, as the runtime config defines them:
//
//   [sqlite_database.<label>]
//   type = "spin"             # a local file; a relative `path` is relative to the
//   path = "data/todo.db"     # folder `gyre up` runs in, as in Spin; in memory without one
//
// and `default`, unless the file defines it: <state_dir>/sqlite_db.db, or in memory when
// the app has no state directory. As in Spin, every connection to an in-memory database
// has a database of its own, gone when the connection closes. `type = "libsql"` (a
// remote libSQL server) is Spin's too, but not built into Gyre: an error at start-up.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "spin/runtime_config.hpp"
#include "spin/sqlite/connection.hpp"

namespace gyre::spin::sqlite {

inline constexpr std::string_view kDefaultLabel = "default";
inline constexpr std::string_view kDefaultFileName = "sqlite_db.db";

// Where one label's data lives.
class Database {
 public:
  // `create_folder`: make the file's folder on every connect (the default database, whose
  // folder is the state directory), rather than once when the config is read.
  Database(std::optional<std::filesystem::path> path, bool create_folder)
      : path_(std::move(path)), create_folder_(create_folder) {}

  // A new connection, opened on first use; invalid-connection when the folder cannot be
  // made, as in Spin.
  Outcome<std::unique_ptr<Connection>> connect() const;

  const std::optional<std::filesystem::path>& path() const { return path_; }
  // For the start-up line: "\"/app/.spin/sqlite_db.db\"", "a temporary in-memory database".
  std::string summary() const;

 private:
  std::optional<std::filesystem::path> path_;
  bool create_folder_;
};

class Databases {
 public:
  void add(std::string label, Database database);
  bool defines(std::string_view label) const { return databases_.count(label) != 0; }
  // The database of `label`, or nullptr.
  const Database* find(std::string_view label) const;
  // A new connection to `label`; no-such-database for a label nothing defines.
  Outcome<std::unique_ptr<Connection>> connect(std::string_view label) const;

 private:
  std::map<std::string, Database, std::less<>> databases_;
};

// Takes the `sqlite_database` section of the runtime config. Errors name the file, the
// line, the key and the reason.
Result<Databases, std::string> resolve_databases(RuntimeConfig& config,
                                                 const std::filesystem::path& state_dir);

}  // namespace gyre::spin::sqlite
