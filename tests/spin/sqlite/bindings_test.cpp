// Every SQLite interface version as a guest sees it: a C component (fixtures/c/sqlitedb)
// imports all of them, and its `run` export opens a database through one version and runs
// a list of steps on that connection, printing each outcome. The host is the real factor,
// configured from a spin.toml and a runtime config as `gyre up` does.
//
// The fixture's spin:sqlite@3.0.0 and @3.1.0 imports become one @3.1.0 import when
// wasm-tools makes the component (the versions are compatible), so "v3" and "v3.1" call
// the same host functions; a guest importing only 3.0.0 is the Python fixture (up_test).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "app/manifest.hpp"
#include "app/variables.hpp"
#include "component/instance.hpp"
#include "spin/sqlite/sqlite_factor.hpp"
#include "support/factor_harness.hpp"
#include "support/process.hpp"

namespace gyre::spin::sqlite {
namespace {

namespace fs = std::filesystem;
using component::Val;

// The fixture's `param`: one of every version's `value` cases.
Val integer(int64_t v) {
  return Val::variant(0, Val::s64(v));
}
Val real(double v) {
  return Val::variant(1, Val::f64(v));
}
Val text(std::string v) {
  return Val::variant(2, Val::string(std::move(v)));
}
Val blob(std::string bytes) {
  return Val::variant(3, Val::byte_list(std::move(bytes)));
}
Val null() {
  return Val::variant(4);
}

struct Step {
  std::string sql;
  std::vector<Val> params = {};
};

// What the fixture prints for a real: C's "%.17g".
std::string real_text(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "real(%.17g)", v);
  return text;
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

const char* const kVersions[] = {"v1", "v2", "v3", "v3.1", "v3.1-async"};
const char* const kV3Versions[] = {"v3", "v3.1", "v3.1-async"};

class SqliteBindings : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("gyre-sqlite-bindings-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_);
  }
  void TearDown() override {
    stop();
    fs::remove_all(base_);
  }

  struct Setup {
    std::string grants = R"(["default"])";
    std::string runtime_config;
    fs::path state_dir;
    Options options;
  };

  // Loads the app as `gyre up` would and instantiates the guest; returns the factor's
  // error, or "" when the guest is ready.
  std::string start(Setup setup) {
    log_.clear();
    std::vector<std::unique_ptr<Factor>> factors;
    factors.push_back(make_factor(std::move(setup.options)));
    return app_.start(harness_,
                      gyre::testing::guest_manifest("sqlite", "sqlite_databases = " + setup.grants),
                      std::move(factors), "c-sqlitedb", setup.runtime_config,
                      {base_, setup.state_dir, base_ / "runtime-config.toml"});
  }

  void stop() {
    harness_.reset();
    app_.stop();
  }

  // Opens `database` through `version` and runs the steps on that one connection.
  std::string run(const std::string& version, const std::string& database,
                  const std::vector<Step>& steps) {
    std::vector<Val> list;
    for (const Step& step : steps)
      list.push_back(Val::record({Val::string(step.sql), Val::list(step.params)}));
    const Val args[] = {Val::string(version), Val::string(database), Val::list(std::move(list))};
    return harness_.call("run", args);
  }
  std::string run1(const std::string& version, const std::string& database, const Step& step) {
    return run(version, database, {step});
  }

  fs::path base_;
  gyre::testing::GuestApp app_;  // before the harness: its guest goes first
  std::string& log_ = app_.log();
  gyre::testing::FactorHarness harness_;
};

// Each version creates its own table, writes a row of every value type with parameters,
// reads it back, and (3.x) asks for the rowid and the changed rows.
TEST_F(SqliteBindings, EveryFunctionOfEveryVersionWorksOnTheDefaultDatabase) {
  ASSERT_EQ(start({R"(["default"])", "", base_ / "state"}), "");
  int n = 0;
  for (const std::string version : kVersions) {
    const bool v3 = version.starts_with("v3");
    const std::string table = "t" + std::to_string(n++);
    const std::string got =
        run(version, "default",
            {{"CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, i, r, s, b, z)"},
             {"INSERT INTO " + table + " (i, r, s, b, z) VALUES (?, ?, ?, ?, ?)",
              {integer(-7), real(2.5), text("one"), blob(std::string("\x00\xff", 2)), null()}},
             {"INSERT INTO " + table + " (i) VALUES (?)", {integer(8)}},
             {"!rowid"},
             {"UPDATE " + table + " SET s = ?", {text("all")}},
             {"!changes"},
             {"SELECT i, r, s, b, z, typeof(b) FROM " + table + " ORDER BY id"}});
    EXPECT_EQ(got,
              "ok([] [])\nok([] [])\nok([] [])\n" + std::string(v3 ? "ok(2)" : "unknown op") +
                  "\nok([] [])\n" + (v3 ? "ok(2)" : "unknown op") +
                  "\nok([i,r,s,b,z,typeof(b)] "
                  "[[-7,real(2.5),'all',x'00ff',null,'blob'],[8,null,'all',null,null,'null']])")
        << version;
  }
  // Every version sees the same database.
  EXPECT_EQ(run1("v1", "default", {"SELECT count(*) AS n FROM t4"}), "ok([n] [[2]])");
  EXPECT_EQ(run1("v3", "default", {"SELECT count(*) AS n FROM t0"}), "ok([n] [[2]])");
}

TEST_F(SqliteBindings, EveryValueTypeCrossesBothWaysUnchanged) {
  ASSERT_EQ(start({}), "");
  const int64_t min = std::numeric_limits<int64_t>::min();
  const int64_t max = std::numeric_limits<int64_t>::max();
  std::string large(1 << 20, '\0');
  for (size_t i = 0; i < large.size(); ++i)
    large[i] = static_cast<char>((i * 7919) >> 3);
  for (const std::string version : kVersions) {
    // Parameters come back as they went in, with SQLite's own type for each.
    EXPECT_EQ(run1(version, "default",
                   {"SELECT ?, ?, ?, ?, ?, ?, ?, ?, typeof(?4), typeof(?6), typeof(?8)",
                    {integer(min), integer(max), real(-0.125), real(1e300), text("héllo ✓"),
                     text(""), blob(""), null()}}),
              "ok([?,?,?,?,?,?,?,?,typeof(?4),typeof(?6),typeof(?8)] [[" + std::to_string(min) +
                  "," + std::to_string(max) + "," + real_text(-0.125) + "," + real_text(1e300) +
                  ",'héllo ✓','',x'',null,'real','text','null']])")
        << version;
    // Values SQLite makes, and their column names.
    EXPECT_EQ(run1(version, "default", {"SELECT 1, 2.5, 'x', x'00ff', NULL"}),
              "ok([1,2.5,'x',x'00ff',NULL] [[1,real(2.5),'x',x'00ff',null]])")
        << version;
    EXPECT_EQ(run1(version, "default", {"SELECT typeof(?), length(?1)", {blob("")}}),
              "ok([typeof(?),length(?1)] [['blob',0]])")
        << version;
    // A large blob both ways, through a table.
    EXPECT_EQ(run(version, "default",
                  {{"CREATE TABLE big (b BLOB)"},
                   {"INSERT INTO big VALUES (?)", {blob(large)}},
                   {"SELECT b, length(b) FROM big"},
                   {"DROP TABLE big"}}),
              "ok([] [])\nok([] [])\nok([b,length(b)] [[x'" + hex(large) + "'," +
                  std::to_string(large.size()) + "]])\nok([] [])")
        << version;
  }
}

// A statement SQLite cannot compile says where it stopped, as rusqlite words it, when
// SQLite knows (Debian's 3.40 knows for syntax errors, not for missing tables).
TEST_F(SqliteBindings, FailuresAreIoErrorsInSqlitesWords) {
  ASSERT_EQ(start({}), "");
  for (const std::string version : kVersions) {
    EXPECT_EQ(run(version, "default",
                  {{"SELEC 1"},
                   {"SELECT * FROM missing"},
                   {"SELECT ?, ?", {integer(1)}},
                   {"SELECT ?", {integer(1), integer(2), integer(3)}},
                   {"CREATE TABLE u (k PRIMARY KEY)"},
                   {"INSERT INTO u VALUES (1)"},
                   {"INSERT INTO u VALUES (1)"},
                   {"DROP TABLE u"}}),
              "err(io: near \"SELEC\": syntax error in SELEC 1 at offset 0)\n"
              "err(io: no such table: missing)\n"
              "err(io: Wrong number of parameters passed to query. Got 1, needed 2)\n"
              "err(io: Wrong number of parameters passed to query. Got 2, needed 1)\n"
              "ok([] [])\nok([] [])\n"
              "err(io: UNIQUE constraint failed: u.k)\nok([] [])")
        << version;
  }
}

// As rusqlite prepares it for Spin: the first statement of the text runs, the rest not.
TEST_F(SqliteBindings, OnlyTheFirstStatementOfTheTextRuns) {
  ASSERT_EQ(start({}), "");
  EXPECT_EQ(run("v3", "default",
                {{"CREATE TABLE a (x); CREATE TABLE b (x)"},
                 {"SELECT name FROM sqlite_schema ORDER BY name"},
                 {"-- nothing but a comment"},
                 {"DROP TABLE a"}}),
            "ok([] [])\nok([name] [['a']])\nok([] [])\nok([] [])");
}

// Each open is a connection of its own: the rowid and the changes are that connection's.
TEST_F(SqliteBindings, EachOpenIsANewConnection) {
  ASSERT_EQ(start({R"(["default"])", "", base_ / "state"}), "");
  EXPECT_EQ(run("v3", "default",
                {{"CREATE TABLE t (x)"}, {"INSERT INTO t VALUES (1), (2), (3)"}, {"!changes"}}),
            "ok([] [])\nok([] [])\nok(3)");
  for (const std::string version : kV3Versions) {
    EXPECT_EQ(run(version, "default", {{"!rowid"}, {"!changes"}, {"SELECT count(*) FROM t"}}),
              "ok(0)\nok(0)\nok([count(*)] [[3]])")
        << version;
  }
}

// Spin's connection table holds 256 connections an instance, every version together.
TEST_F(SqliteBindings, AnInstanceHoldsAtMost256Connections) {
  ASSERT_EQ(start({}), "");
  for (const std::string version : kVersions) {
    EXPECT_EQ(run1(version, "default", {"!open-many"}),
              "opened 255 more; then err(io: too many connections opened)")
        << version;
  }
  // Closed connections make room again.
  EXPECT_EQ(run1("v2", "default", {"SELECT 1 AS one"}), "ok([one] [[1]])");
}

TEST_F(SqliteBindings, Spin1ConnectionsThatAreClosedOrNeverOpenedAreInvalid) {
  ASSERT_EQ(start({}), "");
  EXPECT_EQ(run("v1", "default", {{"SELECT 1 AS one"}, {"!bad-handle"}, {"!close"}, {"SELECT 1"}}),
            "ok([one] [[1]])\nerr(invalid-connection)\nclosed\nerr(invalid-connection)");
}

// Only granted labels open, whether or not the runtime config defines the others: every
// version answers access-denied, and nothing traps.
TEST_F(SqliteBindings, LabelsTheComponentWasNotGrantedAreDenied) {
  ASSERT_EQ(start({R"(["default"])", "[sqlite_database.secret]\ntype = \"spin\"\n"}), "");
  for (const char* label : {"secret", "undefined"}) {
    for (const char* version : kVersions)
      EXPECT_EQ(run1(version, label, {"SELECT 1"}), "err(access-denied)")
          << version << " " << label;
  }
  EXPECT_EQ(run1("v2", "default", {"SELECT 1 AS one"}), "ok([one] [[1]])");
}

TEST_F(SqliteBindings, AComponentWithoutGrantsCannotOpenTheDefaultDatabase) {
  ASSERT_EQ(start({"[]"}), "");
  EXPECT_EQ(log_, "");  // no component uses the default database: no line about it
  for (const char* version : kVersions)
    EXPECT_EQ(run1(version, "default", {"SELECT 1"}), "err(access-denied)") << version;
}

TEST_F(SqliteBindings, AGrantedLabelNoDatabaseDefinesStopsTheAppFromLoading) {
  EXPECT_EQ(start({R"(["default", "todo", "notes"])"}),
            "One or more components use SQLite databases which are not defined.\n"
            "Check the spelling, or pass a runtime configuration file that defines these "
            "stores.\n"
            "See https://spinframework.dev/dynamic-configuration#sqlite-storage-runtime-"
            "configuration\n"
            "Details:\n"
            "- Component guest uses database 'todo'\n"
            "- Component guest uses database 'notes'");
}

TEST_F(SqliteBindings, TheDefaultDatabaseLivesInTheStateDirectoryAndSurvivesARestart) {
  const fs::path state = base_ / "state";
  ASSERT_EQ(start({R"(["default"])", "", state}), "");
  EXPECT_EQ(log_,
            "Storing default SQLite data to \"" + (state / "sqlite_db.db").string() + "\".\n");
  EXPECT_EQ(run("v2", "default",
                {{"CREATE TABLE kept (v)"}, {"INSERT INTO kept VALUES (?)", {text("yes")}}}),
            "ok([] [])\nok([] [])");
  EXPECT_TRUE(fs::exists(state / "sqlite_db.db"));
  stop();
  ASSERT_EQ(start({R"(["default"])", "", state}), "");
  EXPECT_EQ(run1("v3.1", "default", {"SELECT v FROM kept"}), "ok([v] [['yes']])");
}

// Spin's in-memory database (no state directory) is new for every connection.
TEST_F(SqliteBindings, WithoutAStateDirectoryEachConnectionHasItsOwnMemoryDatabase) {
  ASSERT_EQ(start({}), "");
  EXPECT_EQ(log_, "Storing default SQLite data to a temporary in-memory database.\n");
  EXPECT_EQ(run("v2", "default", {{"CREATE TABLE t (x)"}, {"SELECT count(*) FROM t"}}),
            "ok([] [])\nok([count(*)] [[0]])");
  EXPECT_EQ(run1("v2", "default", {"SELECT * FROM t"}), "err(io: no such table: t)");
}

TEST_F(SqliteBindings, ANamedDatabaseComesFromTheRuntimeConfig) {
  const fs::path file = base_ / "data" / "todo.db";
  ASSERT_EQ(start({R"(["todo"])",
                   "[sqlite_database.todo]\ntype = \"spin\"\npath = \"" + file.string() + "\"\n",
                   base_ / "state"}),
            "");
  EXPECT_EQ(log_, "");  // the default database is not used
  EXPECT_TRUE(fs::is_directory(file.parent_path()));
  EXPECT_EQ(run("v3", "todo",
                {{"CREATE TABLE items (name)"}, {"INSERT INTO items VALUES ('milk')"}, {"!rowid"}}),
            "ok([] [])\nok([] [])\nok(1)");
  EXPECT_TRUE(fs::exists(file));
  EXPECT_FALSE(fs::exists(base_ / "state" / "sqlite_db.db"));
  EXPECT_EQ(run1("v1", "default", {"SELECT 1"}), "err(access-denied)");
}

// `gyre up --sqlite`: statements and files run in order before the guest runs.
TEST_F(SqliteBindings, CommandLineStatementsRunBeforeTheGuestDoes) {
  const fs::path migration = base_ / "migration.sql";
  std::ofstream(migration) << "CREATE TABLE notes (body TEXT);\n"
                              "INSERT INTO notes VALUES ('from the file');\n";
  const fs::path other = base_ / "other.sql";
  std::ofstream(other) << "CREATE TABLE tags (name); INSERT INTO tags VALUES ('red'), ('blue');";
  Setup setup{R"(["default", "extra"])",
              "[sqlite_database.extra]\ntype = \"spin\"\npath = \"" +
                  (base_ / "extra.db").string() + "\"\n",
              base_ / "state"};
  setup.options.statements = {"@" + migration.string(), "INSERT INTO notes VALUES ('from a flag')",
                              "@" + other.string() + ":extra"};
  ASSERT_EQ(start(std::move(setup)), "");
  EXPECT_EQ(run1("v3", "default", {"SELECT body FROM notes ORDER BY rowid"}),
            "ok([body] [['from the file'],['from a flag']])");
  EXPECT_EQ(run1("v3", "extra", {"SELECT name FROM tags ORDER BY name"}),
            "ok([name] [['blue'],['red']])");
}

TEST_F(SqliteBindings, AFailingCommandLineStatementStopsTheApp) {
  Setup setup{R"(["default"])", "", base_ / "state"};
  setup.options.statements = {"CREATE TABLE t (x)", "SELEC 1", "CREATE TABLE never (x)"};
  EXPECT_EQ(start(std::move(setup)),
            "failed to execute following sql statement against default database: 'SELEC 1': "
            "near \"SELEC\": syntax error in SELEC 1 at offset 0");
}

// Spin 4's execute-async: the guest reads the rows from a stream three at a time, so
// seven rows take three reads and a fourth that finds the stream ended, then reads the
// outcome from a future. It sees what execute gives.
TEST_F(SqliteBindings, ExecuteAsyncStreamsEveryRow) {
  ASSERT_EQ(start({}), "");
  const std::string create =
      "CREATE TABLE seven AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
      "WHERE i < 7) SELECT i, 'row ' || i AS label FROM n";
  const std::string all =
      "ok([i,label] [[1,'row 1'],[2,'row 2'],[3,'row 3'],[4,'row 4'],"
      "[5,'row 5'],[6,'row 6'],[7,'row 7']])";
  for (const char* version : {"v3.1-async", "v3.1"}) {
    EXPECT_EQ(run(version, "default",
                  {{create},
                   {"SELECT * FROM seven ORDER BY i"},
                   {"SELECT * FROM seven WHERE i > 7"},
                   {"DROP TABLE seven"}}),
              "ok([] [])\n" + all + "\nok([i,label] [])\nok([] [])")
        << version;
  }
  EXPECT_EQ(run1("v3.1-async", "default", {"SELECT * FROM nowhere"}),
            "err(io: no such table: nowhere)");
}

}  // namespace
}  // namespace gyre::spin::sqlite
