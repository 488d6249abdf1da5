#include "spin/key_value/sqlite_store.hpp"

#include <sqlite3.h>

#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "spin/sqlite_connection.hpp"

namespace gyre::spin::key_value {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS spin_key_value ("
    " store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
    " PRIMARY KEY (store, key))";
constexpr const char* kSelect = "SELECT value FROM spin_key_value WHERE store=?1 AND key=?2";
constexpr const char* kUpsert =
    "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)"
    " ON CONFLICT(store, key) DO UPDATE SET value=?3";
constexpr const char* kInsertIfAbsent =
    "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)"
    " ON CONFLICT(store, key) DO NOTHING";
constexpr const char* kUpdateIfUnchanged =
    "UPDATE spin_key_value SET value=?4 WHERE store=?1 AND key=?2 AND value=?3";
constexpr const char* kDelete = "DELETE FROM spin_key_value WHERE store=?1 AND key=?2";
constexpr const char* kKeys = "SELECT key FROM spin_key_value WHERE store=?1";

// A prepared statement in use: bound on the way in, reset and unbound on the way out so
// the cached statement is ready for the next caller.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
  }
  Statement& operator=(Statement&&) = delete;

  Statement& text(int index, std::string_view s) {
    sqlite3_bind_text(stmt_, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // A zero-length value must still be a blob: a null pointer would bind NULL.
  Statement& blob(int index, std::string_view b) {
    if (b.empty()) {
      sqlite3_bind_zeroblob(stmt_, index, 0);
    } else {
      sqlite3_bind_blob(stmt_, index, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
    }
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int step() { return sqlite3_step(stmt_); }
  std::string column(int index) const {
    const void* data = sqlite3_column_blob(stmt_, index);
    const int size = sqlite3_column_bytes(stmt_, index);
    return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
  }
  int changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// The one connection to a database, opened on first use. Callers hold the lock (`use`)
// for a whole operation, so statements and transactions never interleave.
class Database {
 public:
  explicit Database(std::optional<fs::path> path) : path_(std::move(path)) {}
  ~Database() {
    for (auto& [sql, stmt] : statements_)
      sqlite3_finalize(stmt);
  }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::optional<fs::path>& path() const { return path_; }

  // Runs `body(Database&)` under the lock, once the connection is open. A guest's call
  // (one with a Suspender) runs on a worker thread through Suspender::offload: SQLite
  // blocks (on the disk, on another process's lock for up to the busy timeout), and the
  // mutex must never be held by a fiber that parks, where another fiber of the same
  // thread would then block on it.
  template <class T, class F>
  gyre::Result<T, Error> use(Suspender* suspender, F&& body) {
    auto locked = [&]() -> gyre::Result<T, Error> {
      std::lock_guard lock(mutex_);
      if (auto opened = open(); !opened) return Error::other(opened.error());
      return body(*this);
    };
    if (suspender == nullptr) return locked();
    std::optional<gyre::Result<T, Error>> out;
    suspender->offload([&] { out.emplace(locked()); });
    return std::move(*out);
  }

  // The cached statement for `sql`, prepared on first use.
  Outcome<Statement> statement(const char* sql) {
    sqlite3_stmt*& stmt = statements_[sql];
    if (stmt == nullptr &&
        sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      stmt = nullptr;
      return Error::other(message());
    }
    return Statement(db_, stmt);
  }

  // Runs one statement without results ("BEGIN IMMEDIATE", "COMMIT").
  bool exec(const char* sql) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  std::string message() const { return std::string("sqlite error: ") + sqlite3_errmsg(db_); }

 private:
  gyre::Result<void, std::string> open() {
    if (connection_) return {};
    const std::string name = path_ ? path_->string() : ":memory:";
    auto connection = SqliteConnection::open(path_);
    if (!connection)
      return "cannot open key-value database \"" + name + "\": " + connection.error();
    if (sqlite3_exec(connection->get(), kCreateTable, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return "cannot set up key-value database \"" + name + "\": " + connection->error_message();
    }
    connection_ = std::move(connection).value();
    db_ = connection_->get();
    return {};
  }

  std::optional<fs::path> path_;
  std::mutex mutex_;
  std::optional<SqliteConnection> connection_;       // closed after the statements are finalized
  sqlite3* db_ = nullptr;                            // connection_'s, once open
  std::map<const char*, sqlite3_stmt*> statements_;  // by the address of the SQL constant
};

using Void = gyre::Result<void, Error>;

Outcome<std::optional<Value>> read(Database& db, std::string_view label, std::string_view key) {
  auto select = db.statement(kSelect);
  if (!select) return std::move(select).error();
  select->text(1, label).text(2, key);
  const int rc = select->step();
  if (rc == SQLITE_ROW) return std::optional<Value>(select->column(0));
  if (rc == SQLITE_DONE) return std::optional<Value>();
  return Error::other(db.message());
}

Void write(Database& db, std::string_view label, std::string_view key, std::string_view value) {
  auto upsert = db.statement(kUpsert);
  if (!upsert) return std::move(upsert).error();
  upsert->text(1, label).text(2, key).blob(3, value);
  if (upsert->step() != SQLITE_DONE) return Error::other(db.message());
  return {};
}

Void erase(Database& db, std::string_view label, std::string_view key) {
  auto remove = db.statement(kDelete);
  if (!remove) return std::move(remove).error();
  remove->text(1, label).text(2, key);
  if (remove->step() != SQLITE_DONE) return Error::other(db.message());
  return {};
}

// Runs `body` in a write transaction, taken at once (BEGIN IMMEDIATE) so that two
// processes never both read and then fail to upgrade; rolled back when the body fails.
template <class T, class F>
gyre::Result<T, Error> transaction(Database& db, F&& body) {
  if (!db.exec("BEGIN IMMEDIATE")) return Error::other(db.message());
  gyre::Result<T, Error> result = body();
  if (!result.ok() || !db.exec("COMMIT")) {
    std::string error = result.ok() ? db.message() : std::string();
    db.exec("ROLLBACK");
    if (!error.empty()) return Error::other(error);
  }
  return result;
}

class SqliteCas final : public Cas {
 public:
  SqliteCas(std::shared_ptr<Database> db, std::string label, std::string key)
      : db_(std::move(db)), label_(std::move(label)), key_(std::move(key)) {}

  Outcome<std::optional<Value>> current(Suspender* suspender) override {
    auto value = db_->use<std::optional<Value>>(
        suspender, [&](Database& db) { return read(db, label_, key_); });
    if (value.ok()) seen_ = *value;
    return value;
  }

  gyre::Result<void, SwapError> swap(std::string_view value, Suspender* suspender) override {
    auto changed = db_->use<int>(suspender, [&](Database& db) -> Outcome<int> {
      if (seen_) {
        auto update = db.statement(kUpdateIfUnchanged);
        if (!update) return std::move(update).error();
        update->text(1, label_).text(2, key_).blob(3, *seen_).blob(4, value);
        if (update->step() != SQLITE_DONE) return Error::other(db.message());
        return update->changes();
      }
      auto insert = db.statement(kInsertIfAbsent);
      if (!insert) return std::move(insert).error();
      insert->text(1, label_).text(2, key_).blob(3, value);
      if (insert->step() != SQLITE_DONE) return Error::other(db.message());
      return insert->changes();
    });
    if (!changed) return SwapError{false, changed.error().message};
    if (*changed != 1) return SwapError{true, "failed to update 1 row"};
    return {};
  }

 private:
  std::shared_ptr<Database> db_;
  std::string label_, key_;
  std::optional<Value> seen_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::shared_ptr<Database> db, std::string label)
      : db_(std::move(db)), label_(std::move(label)) {}

  Outcome<std::optional<Value>> get(std::string_view key, Suspender* suspender) override {
    return db_->use<std::optional<Value>>(suspender,
                                          [&](Database& db) { return read(db, label_, key); });
  }

  Void set(std::string_view key, std::string_view value, Suspender* suspender) override {
    return as_void(db_->use<bool>(suspender, [&](Database& db) -> Outcome<bool> {
      if (auto done = write(db, label_, key, value); !done) return std::move(done).error();
      return true;
    }));
  }

  Void remove(std::string_view key, Suspender* suspender) override {
    return as_void(db_->use<bool>(suspender, [&](Database& db) -> Outcome<bool> {
      if (auto done = erase(db, label_, key); !done) return std::move(done).error();
      return true;
    }));
  }

  Outcome<bool> exists(std::string_view key, Suspender* suspender) override {
    auto value = get(key, suspender);
    if (!value) return std::move(value).error();
    return value->has_value();
  }

  Outcome<std::vector<std::string>> keys(Suspender* suspender) override {
    return db_->use<std::vector<std::string>>(
        suspender, [&](Database& db) -> Outcome<std::vector<std::string>> {
          auto select = db.statement(kKeys);
          if (!select) return std::move(select).error();
          select->text(1, label_);
          std::vector<std::string> out;
          int rc;
          while ((rc = select->step()) == SQLITE_ROW)
            out.push_back(select->column(0));
          if (rc != SQLITE_DONE) return Error::other(db.message());
          return out;
        });
  }

  Outcome<MaybeKeyValues> get_many(const std::vector<std::string>& keys,
                                   Suspender* suspender) override {
    return db_->use<MaybeKeyValues>(suspender, [&](Database& db) -> Outcome<MaybeKeyValues> {
      MaybeKeyValues out;
      std::set<std::string_view> seen;  // as Spin's `key IN (...)`: each key once
      for (const std::string& key : keys) {
        if (!seen.insert(key).second) continue;
        auto value = read(db, label_, key);
        if (!value) return std::move(value).error();
        if (*value) out.emplace_back(key, std::move(*value));
      }
      return out;
    });
  }

  Void set_many(const KeyValues& pairs, Suspender* suspender) override {
    return as_void(db_->use<bool>(suspender, [&](Database& db) {
      return transaction<bool>(db, [&]() -> Outcome<bool> {
        for (const auto& [key, value] : pairs) {
          if (auto done = write(db, label_, key, value); !done) return std::move(done).error();
        }
        return true;
      });
    }));
  }

  Void remove_many(const std::vector<std::string>& keys, Suspender* suspender) override {
    return as_void(db_->use<bool>(suspender, [&](Database& db) {
      return transaction<bool>(db, [&]() -> Outcome<bool> {
        for (const auto& key : keys) {
          if (auto done = erase(db, label_, key); !done) return std::move(done).error();
        }
        return true;
      });
    }));
  }

  Outcome<int64_t> increment(std::string_view key, int64_t delta, Suspender* suspender) override {
    return db_->use<int64_t>(suspender, [&](Database& db) {
      return transaction<int64_t>(db, [&]() -> Outcome<int64_t> {
        auto value = read(db, label_, key);
        if (!value) return std::move(value).error();
        uint64_t number = 0;
        if (*value) {
          if ((*value)->size() != sizeof number) {
            return Error::other("the value of key \"" + std::string(key) +
                                "\" is not an 8-byte little-endian integer");
          }
          for (size_t i = 0; i < sizeof number; ++i)
            number |= uint64_t{static_cast<uint8_t>((**value)[i])} << (8 * i);
        }
        number += static_cast<uint64_t>(delta);  // wraps, as Spin's release build does
        std::string bytes(sizeof number, '\0');
        for (size_t i = 0; i < sizeof number; ++i)
          bytes[i] = static_cast<char>(number >> (8 * i));
        if (auto done = write(db, label_, key, bytes); !done) return std::move(done).error();
        return static_cast<int64_t>(number);
      });
    });
  }

  Outcome<std::unique_ptr<Cas>> new_cas(std::string_view key, Suspender*) override {
    return std::unique_ptr<Cas>(std::make_unique<SqliteCas>(db_, label_, std::string(key)));
  }

 private:
  static Void as_void(Outcome<bool> done) {
    if (!done) return std::move(done).error();
    return {};
  }

  std::shared_ptr<Database> db_;
  std::string label_;
};

class SqliteProvider final : public StoreProvider {
 public:
  explicit SqliteProvider(std::optional<fs::path> path)
      : db_(std::make_shared<Database>(std::move(path))) {}

  Outcome<std::shared_ptr<Store>> open(std::string_view label, Suspender* suspender) override {
    // Opening the connection now reports a file that cannot be opened to the guest.
    auto opened = db_->use<bool>(suspender, [](Database&) -> Outcome<bool> { return true; });
    if (!opened) return std::move(opened).error();
    return std::shared_ptr<Store>(std::make_shared<SqliteStore>(db_, std::string(label)));
  }

  std::string summary() const override {
    if (!db_->path()) return "a temporary in-memory store";
    return "\"" + db_->path()->string() + "\"";
  }

 private:
  std::shared_ptr<Database> db_;
};

}  // namespace

Result<std::shared_ptr<StoreProvider>, std::string> make_sqlite_provider(
    std::optional<fs::path> path) {
  if (path && path->has_parent_path() && !fs::exists(path->parent_path())) {
    std::error_code failed;
    fs::create_directories(path->parent_path(), failed);
    if (failed) {
      return "failed to create key value store's parent directory: '" +
             path->parent_path().string() + "': " + failed.message();
    }
  }
  return std::shared_ptr<StoreProvider>(std::make_shared<SqliteProvider>(std::move(path)));
}

}  // namespace gyre::spin::key_value
