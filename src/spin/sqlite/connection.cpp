#include "spin/sqlite/connection.hpp"

#include <sqlite3.h>

#include <cctype>
#include <limits>
#include <memory>

#include "base/utf8.hpp"

namespace gyre::spin::sqlite {
namespace {

// What sqlite3_prepare takes as a length (SQLite's own limit is lower still).
constexpr size_t kMaxSqlBytes = std::numeric_limits<int>::max();

struct Finalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Statement = std::unique_ptr<sqlite3_stmt, Finalize>;

// rusqlite's words for a statement SQLite could not compile: the message, and where in
// the text it stopped when SQLite knows ("no such table: t in SELECT * FROM t at offset 14").
std::string prepare_error(sqlite3* db, int rc, std::string_view sql) {
  std::string message = sqlite3_errmsg(db);
  const int offset = sqlite3_error_offset(db);
  if ((rc & 0xff) == SQLITE_ERROR && offset >= 0)
    message += " in " + std::string(sql) + " at offset " + std::to_string(offset);
  return message;
}

// Text a guest can take as a WIT string: SQLite stores whatever bytes it was given, and
// the invalid sequences become U+FFFD.
std::string as_text(const char* data, size_t size) {
  std::string_view text(data, size);
  if (valid_utf8(text)) return std::string(text);
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (i + length <= text.size() && valid_utf8(text.substr(i, length))) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

// Parameters are bound without a copy: they outlive the statement's steps.
int bind(sqlite3_stmt* stmt, int index, const Value& value) {
  switch (value.index()) {
    case 0:
      return sqlite3_bind_int64(stmt, index, std::get<int64_t>(value));
    case 1:
      return sqlite3_bind_double(stmt, index, std::get<double>(value));
    case 2: {
      const std::string& text = std::get<std::string>(value);
      return sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
    }
    case 3: {
      // An empty blob is still a blob: a null pointer would bind NULL.
      const std::string& bytes = std::get<Blob>(value).bytes;
      if (bytes.empty()) return sqlite3_bind_zeroblob(stmt, index, 0);
      return sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(), SQLITE_STATIC);
    }
    default:
      return sqlite3_bind_null(stmt, index);
  }
}

Value column(sqlite3_stmt* stmt, int index) {
  switch (sqlite3_column_type(stmt, index)) {
    case SQLITE_INTEGER:
      return int64_t{sqlite3_column_int64(stmt, index)};
    case SQLITE_FLOAT:
      return sqlite3_column_double(stmt, index);
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, index));
      return as_text(text, static_cast<size_t>(sqlite3_column_bytes(stmt, index)));
    }
    case SQLITE_BLOB: {
      const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, index));
      const int size = sqlite3_column_bytes(stmt, index);
      return Blob{data == nullptr ? std::string() : std::string(data, size)};
    }
    default:
      return Null{};
  }
}

// Binds the parameters in order, as rusqlite does: a count that differs from the
// statement's placeholders is an error (counting one past them when there are more).
gyre::Result<void, std::string> bind_all(sqlite3* db, sqlite3_stmt* stmt,
                                         const std::vector<Value>& parameters) {
  const int expected = sqlite3_bind_parameter_count(stmt);
  int index = 0;
  for (const Value& value : parameters) {
    if (++index > expected) break;
    if (bind(stmt, index, value) != SQLITE_OK) return std::string(sqlite3_errmsg(db));
  }
  if (index != expected) {
    return "Wrong number of parameters passed to query. Got " + std::to_string(index) +
           ", needed " + std::to_string(expected);
  }
  return {};
}

}  // namespace

Outcome<SqliteConnection*> Connection::connection() {
  if (!connection_) {
    auto opened = SqliteConnection::open(path_);
    if (!opened) return Error::io(std::move(opened).error());
    connection_ = std::move(opened).value();
  }
  return &*connection_;
}

Outcome<QueryResult> Connection::execute(std::string_view sql,
                                         const std::vector<Value>& parameters) {
  if (sql.size() > kMaxSqlBytes) return Error::io("string or blob too big");
  auto connection = this->connection();
  if (!connection) return std::move(connection).error();
  sqlite3* db = (*connection)->get();
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) return Error::io(prepare_error(db, rc, sql));
  QueryResult result;
  if (raw == nullptr) {  // no statement in the text, only blanks or comments
    if (!parameters.empty()) {
      return Error::io("Wrong number of parameters passed to query. Got 1, needed 0");
    }
    return result;
  }
  if (auto bound = bind_all(db, raw, parameters); !bound) return Error::io(bound.error());
  const int count = sqlite3_column_count(raw);
  for (int i = 0; i < count; ++i)
    result.columns.emplace_back(sqlite3_column_name(raw, i));
  int step;
  while ((step = sqlite3_step(raw)) == SQLITE_ROW) {
    Row& row = result.rows.emplace_back();
    row.values.reserve(count);
    for (int i = 0; i < count; ++i)
      row.values.push_back(column(raw, i));
  }
  if (step != SQLITE_DONE) return Error::io(sqlite3_errmsg(db));
  return result;
}

gyre::Result<void, std::string> Connection::execute_batch(std::string_view sql) {
  if (sql.size() > kMaxSqlBytes) return std::string("string or blob too big");
  auto connection = this->connection();
  if (!connection) return std::move(connection).error().message;
  sqlite3* db = (*connection)->get();
  const char* rest = sql.data();
  const char* const end = sql.data() + sql.size();
  while (rest < end) {
    // Errors quote the statement from its first word, not the blank lines before it.
    if (std::isspace(static_cast<unsigned char>(*rest))) {
      ++rest;
      continue;
    }
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const std::string_view text(rest, static_cast<size_t>(end - rest));
    const int rc = sqlite3_prepare_v2(db, text.data(), static_cast<int>(text.size()), &raw, &tail);
    Statement stmt(raw);
    if (rc != SQLITE_OK) return prepare_error(db, rc, text);
    if (raw != nullptr) {
      int step;
      while ((step = sqlite3_step(raw)) == SQLITE_ROW) {
      }
      if (step != SQLITE_DONE) return std::string(sqlite3_errmsg(db));
    }
    if (tail == nullptr || tail <= rest) break;
    rest = tail;
  }
  return {};
}

uint64_t Connection::changes() const {
  return connection_ ? static_cast<uint64_t>(sqlite3_changes64(connection_->get())) : 0;
}

int64_t Connection::last_insert_rowid() const {
  return connection_ ? sqlite3_last_insert_rowid(connection_->get()) : 0;
}

}  // namespace gyre::spin::sqlite
