#include "spin/sqlite_connection.hpp"

#include <sqlite3.h>

#include <utility>

namespace gyre::spin {
namespace {

// rusqlite's default for Spin's connections.
constexpr int kBusyTimeoutMs = 5000;

}  // namespace

Result<SqliteConnection, std::string> SqliteConnection::open(
    const std::optional<std::filesystem::path>& path) {
  const std::string name = path ? path->string() : ":memory:";
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(name.c_str(), &db, flags, nullptr);
  SqliteConnection connection(db);  // closes `db` on every way out
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_CANTOPEN) message += ": " + name;
    return message;
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // The journal mode is a property of the file, so it is set before anything else
  // touches it; in-memory databases keep their own.
  if (path && sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK)
    return connection.error_message() + ": " + name;
  return connection;
}

SqliteConnection::SqliteConnection(SqliteConnection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

SqliteConnection& SqliteConnection::operator=(SqliteConnection&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

SqliteConnection::~SqliteConnection() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

std::string SqliteConnection::error_message() const {
  return db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
}

}  // namespace gyre::spin
