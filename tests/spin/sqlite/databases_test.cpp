// The databases the runtime config defines (and the default one), and `gyre up --sqlite`
// statements, below the guest: what a user's configuration and flags turn into, and the
// errors they get, in Spin's words, when those are wrong.
#include "spin/sqlite/databases.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "spin/sqlite/statements.hpp"

namespace gyre::spin::sqlite {
namespace {

namespace fs = std::filesystem;

class SqliteDatabases : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gyre-sqlite-dbs-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::current_path(fs::temp_directory_path());
    fs::remove_all(dir_);
  }

  // The runtime config `text`, written to a file in the test's folder, resolved.
  Result<Databases, std::string> resolve(const std::string& text, const fs::path& state_dir = {}) {
    std::ofstream(dir_ / "rc.toml") << text;
    auto config = RuntimeConfig::load(dir_ / "rc.toml");
    EXPECT_TRUE(config.ok());
    auto databases = resolve_databases(*config, state_dir);
    if (databases.ok()) {
      EXPECT_EQ(config->unused_keys_error(), std::nullopt);
    }
    return databases;
  }

  // One statement on a new connection to `label`.
  static std::string query(const Databases& databases, std::string_view label,
                           const std::string& sql) {
    auto connection = databases.connect(label);
    if (!connection) return "cannot connect";
    auto result = (*connection)->execute(sql, {});
    if (!result) return "err: " + result.error().message;
    std::string out;
    for (const Row& row : result->rows) {
      for (const Value& value : row.values) {
        if (const auto* s = std::get_if<std::string>(&value)) out += *s + ";";
        if (const auto* i = std::get_if<int64_t>(&value)) out += std::to_string(*i) + ";";
      }
    }
    return out;
  }

  std::string where(int line, int column, const std::string& key) const {
    return (dir_ / "rc.toml").string() + ":" + std::to_string(line) + ":" + std::to_string(column) +
           ": " + key + ": ";
  }

  fs::path dir_;
};

TEST_F(SqliteDatabases, TheDefaultDatabaseIsAFileInTheStateDirectoryOrInMemory) {
  auto stated = resolve("", dir_ / "state");
  ASSERT_TRUE(stated.ok()) << stated.error();
  ASSERT_NE(stated->find("default"), nullptr);
  EXPECT_EQ(stated->find("default")->summary(),
            "\"" + (dir_ / "state" / "sqlite_db.db").string() + "\"");
  EXPECT_FALSE(stated->defines("other"));
  EXPECT_EQ(stated->connect("other").error().kind, Error::Kind::kNoSuchDatabase);
  EXPECT_EQ(query(*stated, "default", "CREATE TABLE t (x)"), "");
  EXPECT_TRUE(fs::exists(dir_ / "state" / "sqlite_db.db"));  // the folder made on connect

  auto memory = resolve("");
  ASSERT_TRUE(memory.ok());
  EXPECT_EQ(memory->find("default")->summary(), "a temporary in-memory database");
  EXPECT_EQ(memory->find("default")->path(), std::nullopt);
}

// As Spin resolves them: relative to the folder the process runs in, not the file's.
TEST_F(SqliteDatabases, SpinDatabasesTakePathsRelativeToTheWorkingDirectory) {
  fs::create_directories(dir_ / "cwd");
  fs::current_path(dir_ / "cwd");
  auto databases = resolve(
      "[sqlite_database.todo]\ntype = \"spin\"\npath = \"nested/todo.db\"\n"
      "[sqlite_database.abs]\ntype = \"spin\"\npath = \"" +
          (dir_ / "abs.db").string() +
          "\"\n"
          "[sqlite_database.scratch]\ntype = \"spin\"\n"
          "[sqlite_database.default]\ntype = \"spin\"\npath = \"mine.db\"\n",
      dir_ / "state");
  ASSERT_TRUE(databases.ok()) << databases.error();
  EXPECT_EQ(databases->find("todo")->path(), dir_ / "cwd" / "nested" / "todo.db");
  EXPECT_TRUE(fs::is_directory(dir_ / "cwd" / "nested"));  // made when the config is read
  EXPECT_EQ(databases->find("abs")->path(), dir_ / "abs.db");
  EXPECT_EQ(databases->find("scratch")->summary(), "a temporary in-memory database");
  // The file's `default` replaces the state directory's.
  EXPECT_EQ(databases->find("default")->path(), dir_ / "cwd" / "mine.db");
  EXPECT_EQ(query(*databases, "todo", "CREATE TABLE t (x)"), "");
  EXPECT_TRUE(fs::exists(dir_ / "cwd" / "nested" / "todo.db"));
  EXPECT_FALSE(fs::exists(dir_ / "state"));
}

TEST_F(SqliteDatabases, AWrongRuntimeConfigIsAnErrorNamingTheFileTheKeyAndTheReason) {
  EXPECT_EQ(resolve("[sqlite_database.db]\ntype = \"libsql\"\nurl = \"https://x\"\n"
                    "token = \"t\"\n")
                .error(),
            where(2, 8, "sqlite_database.db.type") +
                "could not configure SQLite database with label 'db': remote libSQL databases "
                "(type = \"libsql\") are not built into Gyre; use type = \"spin\" for a local "
                "SQLite file");
  EXPECT_EQ(resolve("[sqlite_database.db]\ntype = \"postgres\"\n").error(),
            where(2, 8, "sqlite_database.db.type") +
                "could not configure SQLite database with label 'db': Unknown database kind: "
                "postgres");
  EXPECT_EQ(resolve("[sqlite_database.db]\npath = \"x.db\"\n").error(),
            where(1, 1, "sqlite_database.db") + "missing field `type`");
  EXPECT_EQ(resolve("[sqlite_database.db]\ntype = \"spin\"\nurl = \"x\"\n").error(),
            where(3, 7, "sqlite_database.db.url") +
                "could not configure SQLite database with label 'db': unknown field `url`, "
                "expected `path`");
  EXPECT_EQ(resolve("[sqlite_database.db]\ntype = \"spin\"\npath = 5\n").error(),
            where(3, 8, "sqlite_database.db.path") +
                "could not configure SQLite database with label 'db': invalid type: expected a "
                "path string");
  EXPECT_EQ(
      resolve("sqlite_database = 3\n").error(),
      where(1, 19, "sqlite_database") + "invalid type: expected a table of databases by label");
}

TEST_F(SqliteDatabases, AFolderThatCannotBeMadeIsAnError) {
  std::ofstream(dir_ / "file") << "not a folder";
  auto databases = resolve("[sqlite_database.db]\ntype = \"spin\"\npath = \"" +
                           (dir_ / "file" / "x.db").string() + "\"\n");
  ASSERT_FALSE(databases.ok());
  EXPECT_NE(databases.error().find("failed to create sqlite database directory '" +
                                   (dir_ / "file").string() + "'"),
            std::string::npos)
      << databases.error();
  // The default database's folder is made on connect: the guest gets invalid-connection.
  auto blocked = resolve("", dir_ / "file" / "state");
  ASSERT_TRUE(blocked.ok());
  EXPECT_EQ(blocked->connect("default").error().kind, Error::Kind::kInvalidConnection);
}

TEST_F(SqliteDatabases, StatementsRunInOrderAgainstTheirDatabases) {
  auto databases = resolve(
      "[sqlite_database.other]\ntype = \"spin\"\npath = \"" + (dir_ / "other.db").string() + "\"\n",
      dir_ / "state");
  ASSERT_TRUE(databases.ok());
  std::ofstream(dir_ / "seed.sql") << "-- seed\nCREATE TABLE t (v);\n\n"
                                      "INSERT INTO t VALUES ('a');;\nINSERT INTO t VALUES ('b');";
  std::ofstream(dir_ / "other.sql") << "CREATE TABLE o (v); INSERT INTO o VALUES (1), (2);";
  ASSERT_TRUE(
      run_statements(*databases, {"@" + (dir_ / "seed.sql").string(), "INSERT INTO t VALUES ('c')",
                                  "@ " + (dir_ / "other.sql").string() + " : other "})
          .ok());
  EXPECT_EQ(query(*databases, "default", "SELECT v FROM t ORDER BY rowid"), "a;b;c;");
  EXPECT_EQ(query(*databases, "other", "SELECT sum(v) FROM o"), "3;");
  // Only the first statement of a flag runs, as Spin prepares it.
  ASSERT_TRUE(run_statements(*databases, {"INSERT INTO t VALUES ('d'); DELETE FROM t"}).ok());
  EXPECT_EQ(query(*databases, "default", "SELECT count(*) FROM t"), "4;");
}

TEST_F(SqliteDatabases, StatementErrorsSayWhatFailedInSpinsWords) {
  auto databases = resolve("", dir_ / "state");
  ASSERT_TRUE(databases.ok());
  const std::string missing = (dir_ / "missing.sql").string();
  std::ofstream(dir_ / "bad.sql") << "CREATE TABLE ok (x);\nINSERT INTO nowhere VALUES (1);";
  const std::string bad = (dir_ / "bad.sql").string();
  auto error = [&](const std::string& statement) {
    auto ran = run_statements(*databases, {statement});
    return ran.ok() ? std::string("ok") : ran.error();
  };
  EXPECT_EQ(error("@"), "database configuration is empty in the '@' sqlite statement");
  EXPECT_EQ(error("@file:"), "database label is empty in the '@file:' sqlite statement");
  EXPECT_EQ(error("@:label"), "file path is empty in the '@:label' sqlite statement");
  EXPECT_EQ(error("@file.sql:nope"),
            "based on the '@file.sql:nope' a registered database named 'nope' was expected but "
            "not found.");
  EXPECT_EQ(error("@" + missing), "could not read file '" + missing +
                                      "' containing sql statements: No such file or directory");
  EXPECT_EQ(error("@" + bad), "failed to execute sql against database 'default' from file '" + bad +
                                  "': failed to execute batch statements: no such table: nowhere");
  EXPECT_EQ(error("DROP TABLE absent"),
            "failed to execute following sql statement against default database: 'DROP TABLE "
            "absent': no such table: absent");
  std::ofstream(dir_ / "typo.sql") << "CREATE TABLE fine (x);\n\n  CREAT TABLE typo (x);";
  const std::string typo = (dir_ / "typo.sql").string();
  EXPECT_EQ(error("@" + typo),
            "failed to execute sql against database 'default' from file '" + typo +
                "': failed to execute batch statements: near \"CREAT\": syntax error in CREAT "
                "TABLE typo (x); at offset 0");
  // The statements before a failure ran.
  EXPECT_EQ(query(*databases, "default", "SELECT count(*) FROM ok"), "0;");
}

// A database file another program wrote (the sqlite3 shell, Spin) serves as it is.
TEST_F(SqliteDatabases, ReadsADatabaseAnotherProgramWrote) {
  const fs::path file = dir_ / "made.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (v); INSERT INTO t VALUES ('hi')", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto databases =
      resolve("[sqlite_database.made]\ntype = \"spin\"\npath = \"" + file.string() + "\"\n");
  ASSERT_TRUE(databases.ok());
  EXPECT_EQ(query(*databases, "made", "SELECT v FROM t"), "hi;");
}

}  // namespace
}  // namespace gyre::spin::sqlite
