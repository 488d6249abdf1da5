// Outbound MySQL through `gyre up` as a user runs it: a component the Spin Python SDK
// built (fixtures/python/postgres_and_mysql) opens connections through
// fermyon:spin/mysql@2.0.0 to a real MariaDB server, runs statements with every parameter
// type, and answers with what it got back. Hosts the manifest does not allow are refused.
// More guests than the app has threads wait on the database at once; a connection a guest
// drops is reset and reused; a guest stopped while it waits gives up its call.
#include <gtest/gtest.h>
#include <mysql.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/mariadb_server.hpp"
#include "support/process.hpp"

namespace {

using gyre::testing::GyreUp;
using gyre::testing::http_request;
using gyre::testing::MariadbServer;
using namespace std::chrono_literals;

// The test's own session with the server (blocking MariaDB C API): it holds the lock the
// guests wait on, and watches them wait.
class Session {
 public:
  explicit Session(uint16_t port) : mysql_(mysql_init(nullptr)) {
    if (mysql_real_connect(mysql_, "127.0.0.1", "root", "", "test", port, nullptr, 0) == nullptr)
      error_ = mysql_error(mysql_);
  }
  ~Session() { mysql_close(mysql_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // "" once connected, else why not.
  const std::string& error() const { return error_; }
  // The first cell of the statement's first row ("NULL" for null), or "error: ...".
  std::string value(const std::string& statement) {
    if (mysql_query(mysql_, statement.c_str()) != 0)
      return std::string("error: ") + mysql_error(mysql_);
    MYSQL_RES* result = mysql_store_result(mysql_);
    if (result == nullptr) return "";
    MYSQL_ROW row = mysql_fetch_row(result);
    std::string out = row == nullptr ? "" : row[0] == nullptr ? "NULL" : row[0];
    mysql_free_result(result);
    return out;
  }

 private:
  MYSQL* mysql_;
  std::string error_;
};

class MysqlUp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new MariadbServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_->port(), 0) << server_->output(); }

  static std::unique_ptr<GyreUp> up(const std::string& name, const std::string& allowed,
                                    std::vector<std::string> args = {}) {
    auto app =
        gyre::testing::make_fixture_app("mysql-" + name, "mysql", "db", "python-postgres_and_mysql",
                                        "allowed_outbound_hosts = [\"" + allowed + "\"]\n");
    return std::make_unique<GyreUp>(app, std::move(args));
  }

  static std::string run(const GyreUp& gyre, const std::string& addr, const std::string& steps) {
    auto r =
        http_request(gyre.port(), "POST", "/",
                     R"({"iface": "mysql", "address": ")" + addr + R"(", "steps": )" + steps + "}");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }

  static std::string allowed() { return "mysql://127.0.0.1:" + std::to_string(server_->port()); }

  static MariadbServer* server_;
};

MariadbServer* MysqlUp::server_ = nullptr;

TEST_F(MysqlUp, SendsAndReadsEveryValueType) {
  auto gyre = up("types", allowed());
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  server_->sql(
      "CREATE TABLE types (b BOOLEAN, i1 TINYINT, i2 SMALLINT, i4 INT, i8 BIGINT, u1 TINYINT "
      "UNSIGNED, u2 SMALLINT UNSIGNED, u4 INT UNSIGNED, u8 BIGINT UNSIGNED, f4 FLOAT, f8 DOUBLE, "
      "s VARCHAR(20), t TEXT, bin VARBINARY(10), bl BLOB, d DATE)");
  const std::string out = run(*gyre, server_->url(), R"J([
    {"op": "execute", "sql": "INSERT INTO types VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
     "params": [["Boolean", true], ["Int8", -8], ["Int16", -16], ["Int32", -32], ["Int64", -64],
                ["Uint8", 255], ["Uint16", 65535], ["Uint32", 4294967295], ["Uint64", 18446744073709551615],
                ["Floating32", 1.5], ["Floating64", 2.25], ["Str", "héllo"], ["Str", "text"],
                ["Binary", [0, 1, 255]], ["Binary", "blob"]]
},
    {"op": "query", "sql": "SELECT * FROM types WHERE i4 = ?", "params": [["Int32", -32]]},
    {"op": "execute", "sql": "INSERT INTO types (i4, d) VALUES (?, '2024-01-02')", "params": [["DbNull"]]},
    {"op": "query", "sql": "SELECT i4, d FROM types WHERE i4 IS NULL"},
    {"op": "query", "sql": "SELECT * FROM missing"},
    {"op": "query", "sql": "SELECT ?", "params": []}
  ])J");
  const char* expected[] = {
      "None\n",
      "DbValue_Int8(value=1)",
      "DbValue_Int8(value=-8)",
      "DbValue_Int16(value=-16)",
      "DbValue_Int32(value=-32)",
      "DbValue_Int64(value=-64)",
      "DbValue_Uint8(value=255)",
      "DbValue_Uint16(value=65535)",
      "DbValue_Uint32(value=4294967295)",
      "DbValue_Uint64(value=18446744073709551615)",
      "DbValue_Floating32(value=1.5)",
      "DbValue_Floating64(value=2.25)",
      "DbValue_Str(value='héllo')",
      "DbValue_Str(value='text')",
      "DbValue_Binary(value=b'\\x00\\x01\\xff')",
      "DbValue_Binary(value=b'blob')",
      "DbValue_DbNull()",
      "Column(name='u8', data_type=<DbDataType.UINT64: 8>)",
      "Column(name='t', data_type=<DbDataType.STR: 11>)",
      "Column(name='bin', data_type=<DbDataType.BINARY: 12>)",
      "Column(name='d', data_type=<DbDataType.OTHER: 13>)",
      "err Error_ValueConversionFailed(value='Cannot convert value Bytes(\"2024-01-02\") in column "
      "d data type Other')",
      "err Error_QueryFailed(value='Server(ServerError { code: 1146, message: \"Table "
      "\\'test.missing\\' doesn\\'t exist\", state: \"42S02\" })')",
      "err Error_QueryFailed(value='Driver(StmtParamsMismatch { required: 1, supplied: 0 })')",
  };
  for (const char* e : expected)
    EXPECT_NE(out.find(e), std::string::npos) << e << "\n" << out;
  EXPECT_EQ(server_->sql("SELECT COUNT(*) FROM types"), "2\n");
  EXPECT_EQ(gyre->stop(), 0) << gyre->output();
}

// Each guest runs a statement that waits for a lock the test holds. They all wait at once
// (the server sees each of them waiting on the lock) before the test lets go: with more
// requests than the app has threads, a guest waiting on the database holds no thread.
TEST_F(MysqlUp, ManyGuestsWaitOnTheDatabaseAtOnce) {
  const size_t guests = 2 * std::max(1u, std::thread::hardware_concurrency()) + 8;
  Session test(server_->port());
  ASSERT_EQ(test.error(), "");
  // Connections for every guest, the pool and the test, beyond the default 151.
  const size_t connections = std::max<size_t>(151, 2 * guests + 16);
  ASSERT_EQ(test.value("SET GLOBAL max_connections = " + std::to_string(connections)), "");
  ASSERT_EQ(test.value("SELECT GET_LOCK('gyre', 0)"), "1");
  auto gyre = up("waiting", allowed());
  ASSERT_NE(gyre->port(), 0) << gyre->output();

  const std::string body = R"({"iface": "mysql", "address": ")" + server_->url() +
                           R"(", "steps": [)"
                           R"({"op": "query", "sql": "SELECT GET_LOCK('gyre', 60) AS got"},)"
                           R"({"op": "query", "sql": "SELECT RELEASE_LOCK('gyre') AS released"}]})";
  std::vector<std::future<gyre::testing::HttpResponse>> answers;
  for (size_t i = 0; i < guests; ++i) {
    answers.push_back(std::async(std::launch::async,
                                 [&] { return http_request(gyre->port(), "POST", "/", body); }));
  }
  // MariaDB shows a session waiting in GET_LOCK as "User lock". A minute is a hang guard.
  const std::string count_waiting =
      "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = 'User lock'";
  std::string waiting;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while ((waiting = test.value(count_waiting)) != std::to_string(guests) &&
         std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(waiting, std::to_string(guests))
      << "guests waiting on the lock at once, of " << guests << "\n"
      << gyre->output();
  EXPECT_EQ(test.value("SELECT RELEASE_LOCK('gyre')"), "1");

  const std::string expected =
      "RowSet(columns=[Column(name='got', data_type=<DbDataType.INT32: 3>)], "
      "rows=[[DbValue_Int32(value=1)]])\n"
      "RowSet(columns=[Column(name='released', data_type=<DbDataType.INT32: 3>)], "
      "rows=[[DbValue_Int32(value=1)]])\n";
  for (auto& answer : answers) {
    const auto r = answer.get();
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, expected);
  }
  EXPECT_EQ(gyre->stop(), 0) << gyre->output();
}

// The guest's connection goes back to the pool when it drops it (at the end of the request),
// reset: the next request gets the same session, without the variable the first one set.
TEST_F(MysqlUp, AConnectionTheGuestDropsIsResetAndReused) {
  auto gyre = up("reused", allowed());
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  const std::string first = run(*gyre, server_->url(), R"J([
    {"op": "execute", "sql": "SET @x = 5"},
    {"op": "query", "sql": "SELECT CONNECTION_ID() AS id, @x IS NULL AS unset"}
  ])J");
  const std::string second = run(*gyre, server_->url(), R"J([
    {"op": "query", "sql": "SELECT CONNECTION_ID() AS id, @x IS NULL AS unset"}
  ])J");
  const size_t id = first.find("RowSet(");
  ASSERT_NE(id, std::string::npos) << first;
  const std::string row = first.substr(id);
  EXPECT_EQ(first, "None\n" + row);
  EXPECT_NE(row.find("DbValue_Int32(value=0)]]"), std::string::npos) << row;  // @x is set
  // The same session, @x unset again.
  std::string reset = row;
  reset.replace(reset.find("DbValue_Int32(value=0)]]"), 24, "DbValue_Int32(value=1)]]");
  EXPECT_EQ(second, reset);
  EXPECT_EQ(gyre->stop(), 0) << gyre->output();
}

// A guest stopped (at its deadline) while it waits on the database gives up its call at once
// (its connection is closed, not pooled); the app goes on serving with working connections.
TEST_F(MysqlUp, AGuestStoppedWhileItWaitsOnTheDatabaseGivesUp) {
  Session test(server_->port());
  ASSERT_EQ(test.error(), "");
  ASSERT_EQ(test.value("SELECT GET_LOCK('gyre-deadline', 0)"), "1");
  auto gyre = up("deadline", allowed(), {"--deadline", "1s"});
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  const std::string lock =
      R"({"iface": "mysql", "address": ")" + server_->url() +
      R"(", "steps": [{"op": "query", "sql": "SELECT GET_LOCK('gyre-deadline', 60) AS got"}]})";
  const auto r = http_request(gyre->port(), "POST", "/", lock);
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_TRUE(gyre->wait_for_output("the request's deadline passed")) << gyre->output();
  EXPECT_EQ(test.value("SELECT RELEASE_LOCK('gyre-deadline')"), "1");
  EXPECT_EQ(run(*gyre, server_->url(), R"([{"op": "query", "sql": "SELECT 7 AS n"}])"),
            "RowSet(columns=[Column(name='n', data_type=<DbDataType.INT32: 3>)], "
            "rows=[[DbValue_Int32(value=7)]])\n");
  EXPECT_EQ(gyre->stop(), 0) << gyre->output();
}

TEST_F(MysqlUp, HostsTheManifestDoesNotAllowAreRefused) {
  auto gyre = up("denied", "mysql://example.com");
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  EXPECT_EQ(run(*gyre, server_->url(), "[]"), "open err Error_ConnectionFailed(value='address " +
                                                  server_->url() + " is not permitted')\n");
  gyre->stop();
  EXPECT_NE(gyre->output().find("A component tried to make an outbound network connection to "
                                "disallowed destination 'mysql://127.0.0.1:" +
                                std::to_string(server_->port()) + "'"),
            std::string::npos)
      << gyre->output();
}

TEST_F(MysqlUp, AnUnreachableServerIsAConnectionFailure) {
  auto gyre = up("unreachable", "mysql://127.0.0.1:1");
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  const std::string out = run(*gyre, "mysql://root@127.0.0.1:1/test", "[]");
  EXPECT_TRUE(out.starts_with("open err Error_ConnectionFailed(value=")) << out;
}

}  // namespace
