// One connection to a SQLite database file, opened the way every Spin capability that
// keeps data in SQLite opens it (the key-value `spin` stores and the SQLite databases):
// the file is created when absent and put in WAL mode, so readers and a writer of other
// connections (another request, another `gyre up`, `spin up`) work at once, and a
// statement waits up to five seconds for a lock another connection holds instead of
// failing at once. Without a path the database is a new, private one in memory.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "base/result.hpp"

struct sqlite3;

namespace gyre::spin {

class SqliteConnection {
 public:
  // Errors are SQLite's words with the file, as rusqlite gives them to Spin:
  // "unable to open database file: /srv/app/.spin/sqlite_db.db".
  static Result<SqliteConnection, std::string> open(
      const std::optional<std::filesystem::path>& path);

  SqliteConnection(SqliteConnection&& other) noexcept;
  SqliteConnection& operator=(SqliteConnection&& other) noexcept;
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection();

  sqlite3* get() const { return db_; }
  // SQLite's message about the last failure on this connection.
  std::string error_message() const;

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

}  // namespace gyre::spin
