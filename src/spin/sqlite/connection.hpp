// What a guest's `open` gives it: a connection of its own to one database, opened on first
// use, that runs one statement at a time with parameters and returns every row, as Spin's
// in-process SQLite does (rusqlite): the first statement of the text runs, values keep
// their SQLite storage class both ways, and every failure is an `io` error in SQLite's
// words. A connection belongs to one component instance, so it is never used from two
// threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "spin/sqlite_connection.hpp"

namespace gyre::spin::sqlite {

// Spin's error cases; every interface version has the same variant.
struct Error {
  enum class Kind { kNoSuchDatabase, kAccessDenied, kInvalidConnection, kDatabaseFull, kIo };
  Kind kind = Kind::kIo;
  std::string message;  // kIo only

  static Error io(std::string message) { return Error{Kind::kIo, std::move(message)}; }
  bool operator==(const Error&) const = default;
};

template <class T>
using Outcome = gyre::Result<T, Error>;

struct Blob {
  std::string bytes;
  bool operator==(const Blob&) const = default;
};
struct Null {
  bool operator==(const Null&) const = default;
};
// integer, real, text, blob, null: the cases of the WIT `value`, in its order.
using Value = std::variant<int64_t, double, std::string, Blob, Null>;

struct Row {
  std::vector<Value> values;
  bool operator==(const Row&) const = default;
};
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  bool operator==(const QueryResult&) const = default;
};

class Connection {
 public:
  // A connection to the file at `path`, or to a new private in-memory database.
  explicit Connection(std::optional<std::filesystem::path> path) : path_(std::move(path)) {}

  // Runs the first statement of `sql` with `parameters` bound to its placeholders in order.
  Outcome<QueryResult> execute(std::string_view sql, const std::vector<Value>& parameters);
  // Runs every statement of `sql` (`gyre up --sqlite @file`); the error is SQLite's.
  gyre::Result<void, std::string> execute_batch(std::string_view sql);

  // Rows the last completed INSERT, UPDATE or DELETE changed, and the rowid of the last
  // INSERT, on this connection (0 before any).
  uint64_t changes() const;
  int64_t last_insert_rowid() const;

 private:
  Outcome<SqliteConnection*> connection();

  std::optional<std::filesystem::path> path_;
  std::optional<SqliteConnection> connection_;
};

}  // namespace gyre::spin::sqlite
