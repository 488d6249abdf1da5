#include "spin/sqlite/databases.hpp"

#include <system_error>

#include "spin/labelled_tables.hpp"

namespace gyre::spin::sqlite {
namespace {

namespace fs = std::filesystem;

// Makes the folder the database file goes in; Spin's words when that fails.
gyre::Result<void, std::string> create_folder(const fs::path& file) {
  if (!file.has_parent_path()) return {};
  std::error_code failed;
  fs::create_directories(file.parent_path(), failed);
  if (!failed) return {};
  return "failed to create sqlite database directory '" + file.parent_path().string() +
         "': " + failed.message();
}

// One `[sqlite_database.<label>]` table.
using Entry = LabelledTable;

Result<Database, std::string> spin_database(const Entry& entry) {
  std::optional<fs::path> location;
  for (const auto& [key, value] : entry.table) {
    if (key == "type") continue;
    if (key != "path") {
      return entry.error(value, key.str(),
                         "unknown field `" + std::string(key.str()) + "`, expected `path`");
    }
    const auto* text = value.as_string();
    if (text == nullptr) return entry.error(value, "path", "invalid type: expected a path string");
    // Relative to where `gyre up` runs, as Spin resolves it (not to the file's folder).
    std::error_code failed;
    location = fs::absolute(fs::path(text->get()), failed);
    if (failed) return entry.error(value, "path", failed.message());
    if (auto made = create_folder(*location); !made)
      return entry.error(value, "path", made.error());
  }
  return Database(std::move(location), false);
}

Result<Database, std::string> database_for(const Entry& entry) {
  const toml::node* type = entry.table.get("type");
  if (type == nullptr) return entry.config.where(entry.table, entry.path) + "missing field `type`";
  const auto* name = type->as_string();
  if (name == nullptr)
    return entry.config.where(*type, entry.path + ".type") + "invalid type: expected a string";
  if (name->get() == "spin") return spin_database(entry);
  if (name->get() == "libsql") {
    return entry.error(*type, "type",
                       "remote libSQL databases (type = \"libsql\") are not built into Gyre; "
                       "use type = \"spin\" for a local SQLite file");
  }
  return entry.error(*type, "type", "Unknown database kind: " + name->get());
}

}  // namespace

Outcome<std::unique_ptr<Connection>> Database::connect() const {
  if (create_folder_ && path_ && !create_folder(*path_).ok())
    return Error{Error::Kind::kInvalidConnection, {}};
  return std::make_unique<Connection>(path_);
}

std::string Database::summary() const {
  if (!path_) return "a temporary in-memory database";
  return "\"" + path_->string() + "\"";
}

void Databases::add(std::string label, Database database) {
  databases_.insert_or_assign(std::move(label), std::move(database));
}

const Database* Databases::find(std::string_view label) const {
  auto it = databases_.find(label);
  return it == databases_.end() ? nullptr : &it->second;
}

Outcome<std::unique_ptr<Connection>> Databases::connect(std::string_view label) const {
  const Database* database = find(label);
  if (database == nullptr) return Error{Error::Kind::kNoSuchDatabase, {}};
  return database->connect();
}

Result<Databases, std::string> resolve_databases(RuntimeConfig& config, const fs::path& state_dir) {
  Databases databases;
  auto configured =
      for_each_labelled_table(config, "sqlite_database", "SQLite database", "databases",
                              [&](const Entry& entry) -> Result<void, std::string> {
                                auto database = database_for(entry);
                                if (!database) return std::move(database).error();
                                databases.add(entry.label, std::move(database).value());
                                return {};
                              });
  if (!configured) return std::move(configured).error();
  if (!databases.defines(kDefaultLabel)) {
    std::optional<fs::path> location;
    if (!state_dir.empty()) location = state_dir / kDefaultFileName;
    databases.add(std::string(kDefaultLabel), Database(std::move(location), true));
  }
  return databases;
}

}  // namespace gyre::spin::sqlite
