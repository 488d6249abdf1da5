// SQLite through `gyre up` as a user runs it: a component the Spin Python SDK built
// (fixtures/python/sqlite) uses the SDK's fermyon:spin/sqlite@2.0.0 and
// spin:sqlite/sqlite@3.0.0 bindings over real HTTP. Every value type crosses both ways,
// data in the state directory survives a restart, labels the manifest does not grant are
// refused, and named databases come from the runtime-config file.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace {

namespace fs = std::filesystem;
using gyre::testing::GyreUp;
using gyre::testing::http_request;

fs::path sqlite_app(const std::string& name, const std::string& grants = R"(["default"])") {
  return gyre::testing::make_fixture_app("sqlite-" + name, "sqlite", "db", "python-sqlite",
                                         "sqlite_databases = " + grants + "\n");
}

// Steps (one a line: a statement and its tab-separated parameters) through the guest's
// `api` ("v2" or "v3") on database `db`: the status and the outcomes.
std::pair<int, std::string> steps(const GyreUp& gyre, const std::string& api, const std::string& db,
                                  const std::string& body) {
  auto r = http_request(gyre.port(), "POST", "/?api=" + api + "&db=" + db, body);
  return {r.status, r.body};
}

std::string hex(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

TEST(SqliteUp, EveryValueTypeCrossesBothWaysThroughBothSdkVersions) {
  GyreUp gyre(sqlite_app("values"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  std::string large(256 * 1024, '\0');
  for (size_t i = 0; i < large.size(); ++i)
    large[i] = static_cast<char>(i * 131 + 7);
  for (const std::string api : {"v2", "v3"}) {
    const std::string table = "t_" + api;
    EXPECT_EQ(steps(gyre, api, "default",
                    "CREATE TABLE " + table +
                        " (id INTEGER PRIMARY KEY, i, r, s, b, z)\n"
                        "INSERT INTO " +
                        table +
                        " (i, r, s, b, z) VALUES (?, ?, ?, ?, ?)\ti:-9223372036854775808"
                        "\tr:-0.125\tt:héllo ✓\tb:00ff10\tn\n"
                        "INSERT INTO " +
                        table +
                        " (i, s, b) VALUES (?, ?, ?)\ti:9223372036854775807"
                        "\tt:\tb:\n"
                        "INSERT INTO " +
                        table + " (b) VALUES (?)\tb:" + hex(large) +
                        "\n"
                        "SELECT i, r, s, b, z, typeof(s), typeof(b) FROM " +
                        table +
                        " WHERE id < 3 ORDER BY id\n"
                        "SELECT b = ?, length(b) FROM " +
                        table + " WHERE id = 3\tb:" + hex(large)),
              std::pair(200, std::string("ok([] [])\nok([] [])\nok([] [])\nok([] [])\n"
                                         "ok([i,r,s,b,z,typeof(s),typeof(b)] "
                                         "[[-9223372036854775808,real(-0.125),'héllo ✓',x'00ff10',"
                                         "null,'text','blob'],[9223372036854775807,null,'',x'',"
                                         "null,'text','blob']])\n"
                                         "ok([b = ?,length(b)] [[1,262144]])")))
        << api;
    // The large blob comes back whole.
    EXPECT_EQ(steps(gyre, api, "default", "SELECT b FROM " + table + " WHERE id = 3"),
              std::pair(200, "ok([b] [[x'" + hex(large) + "']])"))
        << api;
  }
  // 3.0.0's last-insert-rowid and changes, on the connection that wrote.
  EXPECT_EQ(steps(gyre, "v3", "default",
                  "!rowid\nINSERT INTO t_v3 (i) VALUES (1), (2)\n!rowid\n!changes\n"
                  "UPDATE t_v3 SET z = 0\n!changes"),
            std::pair(200, std::string("ok(0)\nok([] [])\nok(5)\nok(2)\nok([] [])\nok(5)")));
  // Failures are the guest's io errors, in SQLite's words.
  EXPECT_EQ(steps(gyre, "v2", "default", "SELECT * FROM nowhere\nSELECT ?"),
            std::pair(200, std::string("err(io: no such table: nowhere)\nerr(io: Wrong number of "
                                       "parameters passed to query. Got 0, needed 1)")));
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(SqliteUp, TheDefaultDatabaseSurvivesARestart) {
  const fs::path app = sqlite_app("restart");
  {
    GyreUp first(app);
    ASSERT_NE(first.port(), 0) << first.output();
    EXPECT_NE(first.output().find("Storing default SQLite data to \"" +
                                  (app / ".spin" / "sqlite_db.db").string() + "\"."),
              std::string::npos)
        << first.output();
    EXPECT_EQ(
        steps(first, "v3", "default", "CREATE TABLE kept (v)\nINSERT INTO kept VALUES (?)\tt:yes"),
        std::pair(200, std::string("ok([] [])\nok([] [])")));
    EXPECT_EQ(first.stop(), 0) << first.output();
  }
  GyreUp second(app);
  ASSERT_NE(second.port(), 0) << second.output();
  EXPECT_EQ(steps(second, "v2", "default", "SELECT v FROM kept"),
            std::pair(200, std::string("ok([v] [['yes']])")));
  EXPECT_EQ(second.stop(), 0) << second.output();
}

// 8 clients each insert 25 rows at once, every request a connection of its own to one
// file: SQLite's locking (WAL, a busy timeout) lets every write land.
TEST(SqliteUp, ConcurrentRequestsWritingOneDatabaseLoseNothing) {
  GyreUp gyre(sqlite_app("concurrent"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  ASSERT_EQ(steps(gyre, "v3", "default", "CREATE TABLE hits (client, n)"),
            std::pair(200, std::string("ok([] [])")));
  std::vector<std::future<int>> clients;
  for (int c = 0; c < 8; ++c) {
    clients.push_back(std::async(std::launch::async, [&, c] {
      int failures = 0;
      for (int i = 0; i < 25; ++i) {
        const std::string insert =
            "INSERT INTO hits VALUES (?, ?)\ti:" + std::to_string(c) + "\ti:" + std::to_string(i);
        const auto done = i % 2 ? steps(gyre, "v2", "default", insert)
                                : steps(gyre, "v3", "default", insert + "\n!changes");
        if (done.second != (i % 2 ? "ok([] [])" : "ok([] [])\nok(1)")) ++failures;
      }
      return failures;
    }));
  }
  int failures = 0;
  for (auto& client : clients)
    failures += client.get();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(steps(gyre, "v2", "default", "SELECT count(*), count(DISTINCT client) FROM hits"),
            std::pair(200, std::string("ok([count(*),count(DISTINCT client)] [[200,8]])")));
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(SqliteUp, LabelsTheManifestDoesNotGrantAreDenied) {
  GyreUp gyre(sqlite_app("denied"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  for (const char* api : {"v2", "v3"}) {
    EXPECT_EQ(steps(gyre, api, "other", "SELECT 1"),
              std::pair(409, std::string("err(access-denied)")))
        << api;
  }
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();

  GyreUp none(sqlite_app("no-grants", "[]"));
  ASSERT_NE(none.port(), 0) << none.output();
  EXPECT_EQ(none.output().find("Storing default SQLite data"), std::string::npos) << none.output();
  EXPECT_EQ(steps(none, "v3", "default", "SELECT 1"),
            std::pair(409, std::string("err(access-denied)")));
  EXPECT_EQ(none.stop(), 0) << none.output();
}

TEST(SqliteUp, AGrantedLabelNoDatabaseDefinesStopsTheApp) {
  GyreUp gyre(sqlite_app("undefined", R"(["default", "todo"])"));
  EXPECT_EQ(gyre.port(), 0);
  EXPECT_NE(gyre.stop(), 0);
  EXPECT_NE(gyre.output().find("One or more components use SQLite databases which are not "
                               "defined."),
            std::string::npos)
      << gyre.output();
  EXPECT_NE(gyre.output().find("- Component db uses database 'todo'"), std::string::npos)
      << gyre.output();
}

TEST(SqliteUp, ANamedDatabaseFromTheRuntimeConfigFile) {
  const fs::path app = sqlite_app("named", R"(["todo"])");
  const fs::path file = app / "data" / "todo.db";
  std::ofstream(app / "runtime-config.toml")
      << "[sqlite_database.todo]\ntype = \"spin\"\npath = \"" << file.string() << "\"\n";
  GyreUp gyre(app, {"--runtime-config-file", (app / "runtime-config.toml").string()});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(
      steps(gyre, "v3", "todo", "CREATE TABLE items (name)\nINSERT INTO items VALUES (?)\tt:milk"),
      std::pair(200, std::string("ok([] [])\nok([] [])")));
  EXPECT_EQ(steps(gyre, "v2", "default", "SELECT 1"),
            std::pair(409, std::string("err(access-denied)")));
  // The file is a plain SQLite database another program can read, while gyre runs.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT name FROM items", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))), "milk");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(SqliteUp, ARemoteLibsqlDatabaseIsAClearErrorAtStartUp) {
  const fs::path app = sqlite_app("libsql");
  std::ofstream(app / "rc.toml")
      << "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"https://db.example.com\"\n"
         "token = \"secret\"\n";
  GyreUp gyre(app, {"--runtime-config-file", (app / "rc.toml").string()});
  EXPECT_EQ(gyre.port(), 0);
  EXPECT_NE(gyre.stop(), 0);
  EXPECT_NE(gyre.output().find((app / "rc.toml").string() +
                               ":2:8: sqlite_database.default.type: could not configure SQLite "
                               "database with label 'default': remote libSQL databases (type = "
                               "\"libsql\") are not built into Gyre"),
            std::string::npos)
      << gyre.output();
}

}  // namespace

namespace {

TEST(SqliteUp, SqliteFlagsRunStatementsAndFilesBeforeServing) {
  const fs::path app = sqlite_app("flags");
  std::ofstream(app / "migration.sql") << "INSERT INTO t VALUES ('from the file');\n"
                                          "INSERT INTO t VALUES ('second line');\n";
  GyreUp gyre(app, {"--sqlite", "CREATE TABLE t (v TEXT)", "--sqlite",
                    "@" + (app / "migration.sql").string()});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(steps(gyre, "v2", "default", "SELECT v FROM t ORDER BY rowid"),
            std::pair(200, std::string("ok([v] [['from the file'],['second line']])")));
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();

  GyreUp failing(sqlite_app("bad-flag"), {"--sqlite", "SELEC 1"});
  EXPECT_EQ(failing.port(), 0);
  EXPECT_NE(failing.output().find("failed to execute following sql statement against default "
                                  "database: 'SELEC 1'"),
            std::string::npos)
      << failing.output();
}

// A component built against Spin 4's WIT (fixtures/c/spin4http) runs statements through
// spin:sqlite@3.1.0's execute-async, lowered async, and reads the rows from a stream,
// over real HTTP; the table comes from `--sqlite`, and the rows survive a restart.
TEST(SqliteUp, ASpin4ComponentReadsRowsFromAStream) {
  const fs::path app = gyre::testing::make_fixture_app(
      "sqlite-spin4", "sqlite4", "web", "c-spin4http", "sqlite_databases = [\"default\"]\n");
  const std::vector<std::string> args = {"--sqlite",
                                         "CREATE TABLE IF NOT EXISTS notes (body TEXT)"};
  using gyre::testing::get_path;
  {
    GyreUp gyre(app, args);
    ASSERT_NE(gyre.port(), 0) << gyre.output();
    EXPECT_EQ(get_path(gyre, "/notes"), std::pair(200, std::string("")));
    EXPECT_EQ(get_path(gyre, "/add/first"), std::pair(200, std::string("1")));
    EXPECT_EQ(get_path(gyre, "/add/second"), std::pair(200, std::string("2")));
    EXPECT_EQ(get_path(gyre, "/add/third"), std::pair(200, std::string("3")));
    EXPECT_EQ(get_path(gyre, "/notes"), std::pair(200, std::string("first,second,third")));
    EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  }
  GyreUp again(app, args);
  ASSERT_NE(again.port(), 0) << again.output();
  EXPECT_EQ(get_path(again, "/notes"), std::pair(200, std::string("first,second,third")));
  EXPECT_EQ(again.stop(), 0) << again.output();
}

}  // namespace
