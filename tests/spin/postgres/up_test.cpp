// Outbound PostgreSQL through `gyre up` as a user runs it: a component the Spin Python SDK
// built (fixtures/python/postgres_and_mysql) opens connections through
// fermyon:spin/postgres@2.0.0 and spin:postgres/postgres@3.0.0 and @4.0.0 to a real
// PostgreSQL 15 server, runs statements with every parameter type of each version, and
// answers with what it got back. Hosts the manifest does not allow are refused. Guests
// waiting on the database hold no thread: more of them than the app has threads all wait
// on the server at once.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"

namespace {

using gyre::testing::GyreUp;
using gyre::testing::http_request;
using gyre::testing::PostgresServer;
using namespace std::chrono_literals;

// The test's own session with the server, beside the guests'.
class Session {
 public:
  explicit Session(const std::string& url) : connection_(PQconnectdb(url.c_str())) {}
  ~Session() { PQfinish(connection_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  std::string error() const { return PQerrorMessage(connection_); }
  bool ok() const { return PQstatus(connection_) == CONNECTION_OK; }
  // The first value of the statement's first row; nothing when it failed or gave no row.
  std::optional<std::string> value(const std::string& sql) {
    PGresult* result = PQexec(connection_, sql.c_str());
    std::optional<std::string> out;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0)
      out = PQgetvalue(result, 0, 0);
    PQclear(result);
    return out;
  }

 private:
  PGconn* connection_;
};

class PostgresUp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new PostgresServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_->port(), 0) << server_->output(); }

  static std::string address() { return server_->url(); }

  // `gyre up` on the fixture, allowed to reach `allowed`.
  static std::unique_ptr<GyreUp> up(const std::string& name, const std::string& allowed) {
    auto app =
        gyre::testing::make_fixture_app("pg-" + name, "pg", "db", "python-postgres_and_mysql",
                                        "allowed_outbound_hosts = [\"" + allowed + "\"]\n");
    return std::make_unique<GyreUp>(app);
  }

  // The guest's answer to one request: a line per step.
  static std::string run(const GyreUp& gyre, const std::string& iface, const std::string& addr,
                         const std::string& steps) {
    auto r = http_request(
        gyre.port(), "POST", "/",
        R"({"iface": ")" + iface + R"(", "address": ")" + addr + R"(", "steps": )" + steps + "}");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }

  static std::string allow_all() {
    return "postgres://127.0.0.1:" + std::to_string(server_->port());
  }

  static PostgresServer* server_;
};

PostgresServer* PostgresUp::server_ = nullptr;

TEST_F(PostgresUp, Version4SendsAndReadsEveryValueType) {
  auto gyre = up("v4", allow_all());
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  server_->psql(
      "CREATE TABLE v4 (b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double "
      "precision, s text, bin bytea, d date, t time, dt timestamp, ts timestamptz, u uuid, j "
      "jsonb, n numeric, r4 int4range, r8 int8range, rn numrange, a4 integer[], a8 bigint[], an "
      "numeric[], ast text[], iv interval, vc varchar(10), x inet)");
  const std::string out = run(*gyre, "pg4", address(), R"J([
    {"op": "execute", "sql": "INSERT INTO v4 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, '10.0.0.1')",
     "params": [["Boolean", true], ["Int16", -12], ["Int32", 123456], ["Int64", -9000000000],
                ["Floating32", 1.5], ["Floating64", 2.25], ["Str", "héllo"], ["Binary", [0, 1, 255]],
                ["Date", [2024, 2, 29]], ["Time", [13, 14, 15, 500000000]],
                ["Datetime", [2023, 12, 31, 23, 59, 58, 250000000]], ["Timestamp", 1700000000],
                ["Uuid", "123e4567-e89b-12d3-a456-426614174000"], ["Jsonb", "{\"k\": [1, 2]}"],
                ["Decimal", "12345.678"], ["RangeInt32", [[1, "inc"], [5, "exc"]]],
                ["RangeInt64", [null, [10000000000, "inc"]]], ["RangeDecimal", [["1.5", "inc"], ["2.5", "exc"]]],
                ["ArrayInt32", [1, null, 3]], ["ArrayInt64", [10000000000]], ["ArrayDecimal", ["1.25", null]],
                ["ArrayStr", ["a b", "c\"d", null]], ["Interval", [3000000, 2, 14]], ["Str", "vc"]]
},
    {"op": "query", "sql": "SELECT * FROM v4"},
    {"op": "execute", "sql": "INSERT INTO v4 (b) VALUES ($1)", "params": [["DbNull"]]},
    {"op": "query", "sql": "SELECT b, i4 FROM v4 WHERE b IS NULL"},
    {"op": "query", "sql": "SELECT 1 AS one WHERE false"}
  ])J");
  EXPECT_TRUE(out.starts_with("1\n")) << out;
  const char* expected[] = {
      "DbValue_Boolean(value=True)",
      "DbValue_Int16(value=-12)",
      "DbValue_Int32(value=123456)",
      "DbValue_Int64(value=-9000000000)",
      "DbValue_Floating32(value=1.5)",
      "DbValue_Floating64(value=2.25)",
      "DbValue_Str(value='héllo')",
      "DbValue_Binary(value=b'\\x00\\x01\\xff')",
      "DbValue_Date(value=(2024, 2, 29))",
      "DbValue_Time(value=(13, 14, 15, 500000000))",
      "DbValue_Datetime(value=(2023, 12, 31, 23, 59, 58, 250000000))",
      "DbValue_Datetime(value=(2023, 11, 14, 22, 13, 20, 0))",
      "DbValue_Uuid(value='123e4567-e89b-12d3-a456-426614174000')",
      "DbValue_Jsonb(value=b'{\"k\": [1, 2]}')",
      "DbValue_Decimal(value='12345.678')",
      "DbValue_RangeInt32(value=((1, <RangeBoundKind.INCLUSIVE: 0>), (5, "
      "<RangeBoundKind.EXCLUSIVE: 1>)))",
      "DbValue_RangeInt64(value=(None, (10000000001, <RangeBoundKind.EXCLUSIVE: 1>)))",
      "DbValue_RangeDecimal(value=(('1.5', <RangeBoundKind.INCLUSIVE: 0>), ('2.5', "
      "<RangeBoundKind.EXCLUSIVE: 1>)))",
      "DbValue_ArrayInt32(value=[1, None, 3])",
      "DbValue_ArrayInt64(value=[10000000000])",
      "DbValue_ArrayDecimal(value=['1.25', None])",
      "DbValue_ArrayStr(value=['a b', 'c\"d', None])",
      "DbValue_Interval(value=Interval(micros=3000000, days=2, months=14))",
      "DbValue_Str(value='vc')",
      "DbValue_Unsupported(value=b'10.0.0.1')",
      "Column(name='x', data_type=DbDataType_Other(value='inet'))",
      "Column(name='ts', data_type=DbDataType_Datetime())",
      "Column(name='iv', data_type=DbDataType_Interval())",
      "[[DbValue_DbNull(), DbValue_DbNull()]]",
      "RowSet(columns=[], rows=[])",
  };
  for (const char* e : expected)
    EXPECT_NE(out.find(e), std::string::npos) << e << "\n" << out;
  EXPECT_EQ(server_->psql("SELECT count(*) FROM v4"), "2\n");
  EXPECT_EQ(gyre->stop(), 0) << gyre->output();
}

TEST_F(PostgresUp, Version4ReportsTheServersError) {
  auto gyre = up("v4-error", allow_all());
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  const std::string out = run(*gyre, "pg4", address(), R"J([
    {"op": "query", "sql": "SELECT * FROM missing_table"},
    {"op": "query", "sql": "SELECT 1"}
  ])J");
  EXPECT_NE(out.find("err Error_QueryFailed(value=QueryError_DbError(value=DbError("),
            std::string::npos)
      << out;
  EXPECT_NE(
      out.find(
          "severity='ERROR', code='42P01', message='relation \"missing_table\" does not exist'"),
      std::string::npos)
      << out;
  // The connection still works after a failed statement.
  EXPECT_NE(out.find("DbValue_Int32(value=1)"), std::string::npos) << out;
}

TEST_F(PostgresUp, Version3SendsAndReadsItsValueTypes) {
  auto gyre = up("v3", allow_all());
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  server_->psql(
      "CREATE TABLE v3 (b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double "
      "precision, s varchar(20), bin bytea, d date, t time, dt timestamp, ts timestamptz, u uuid)");
  const std::string out = run(*gyre, "pg3", address(), R"J([
    {"op": "execute", "sql": "INSERT INTO v3 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, gen_random_uuid())",
     "params": [["Boolean", false], ["Int8", 7], ["Int32", -5], ["Int64", 42], ["Floating32", -0.5],
                ["Floating64", 1e100], ["Str", "s3"], ["Binary", "bytes"], ["Date", [1999, 12, 31]],
                ["Time", [0, 0, 1, 0]], ["Datetime", [2000, 1, 1, 0, 0, 0, 0]], ["Timestamp", 0]]
},
    {"op": "query", "sql": "SELECT b, i2, i4, i8, f4, f8, s, bin, d, t, dt, ts, u FROM v3 WHERE i4 = $1", "params": [["Int32", -5]]},
    {"op": "execute", "sql": "DELETE FROM v3 WHERE i4 = $1", "params": [["DbNull"]]}
  ])J");
  const char* expected[] = {
      "1\n",
      "DbValue_Boolean(value=False)",
      "DbValue_Int16(value=7)",
      "DbValue_Int32(value=-5)",
      "DbValue_Int64(value=42)",
      "DbValue_Floating32(value=-0.5)",
      "DbValue_Floating64(value=1e+100)",
      "DbValue_Str(value='s3')",
      "DbValue_Binary(value=b'bytes')",
      "DbValue_Date(value=(1999, 12, 31))",
      "DbValue_Time(value=(0, 0, 1, 0))",
      "DbValue_Datetime(value=(2000, 1, 1, 0, 0, 0, 0))",
      "DbValue_Datetime(value=(1970, 1, 1, 0, 0, 0, 0))",
      "DbValue_Unsupported()",
      "Column(name='u', data_type=<DbDataType.OTHER: 13>)",
      "Column(name='dt', data_type=<DbDataType.DATETIME: 11>)",
      "\n0\n",
  };
  for (const char* e : expected)
    EXPECT_NE(out.find(e), std::string::npos) << e << "\n" << out;
  EXPECT_EQ(gyre->stop(), 0) << gyre->output();
}

TEST_F(PostgresUp, Version2SendsAndReadsItsValueTypes) {
  auto gyre = up("v2", allow_all());
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  server_->psql(
      "CREATE TABLE v2 (b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 "
      "double precision, s text, bin bytea, d date)");
  const std::string out = run(*gyre, "pg2", address(), R"J([
    {"op": "execute", "sql": "INSERT INTO v2 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '2020-01-02')",
     "params": [["Boolean", true], ["Int16", 2], ["Int32", 3], ["Int64", 4], ["Floating32", 0.25],
                ["Floating64", 0.125], ["Str", "two"], ["Binary", [9]]]
},
    {"op": "query", "sql": "SELECT * FROM v2"},
    {"op": "execute", "sql": "INSERT INTO v2 (i4) VALUES ($1)", "params": [["Uint32", 1]]},
    {"op": "query", "sql": "SELEC nonsense"}
  ])J");
  const char* expected[] = {
      "1\n",
      "DbValue_Boolean(value=True)",
      "DbValue_Int16(value=2)",
      "DbValue_Int32(value=3)",
      "DbValue_Int64(value=4)",
      "DbValue_Floating32(value=0.25)",
      "DbValue_Floating64(value=0.125)",
      "DbValue_Str(value='two')",
      "DbValue_Binary(value=b'\\t')",
      "DbValue_Unsupported()",
      "Column(name='d', data_type=<DbDataType.OTHER: 13>)",
      "Column(name='i8', data_type=<DbDataType.INT64: 4>)",
      "err Error_ValueConversionFailed(value='Postgres does not support unsigned integers')",
      "err Error_QueryFailed(value='ERROR:  syntax error at or near \"SELEC\"",
  };
  for (const char* e : expected)
    EXPECT_NE(out.find(e), std::string::npos) << e << "\n" << out;
  EXPECT_EQ(gyre->stop(), 0) << gyre->output();
}

TEST_F(PostgresUp, HostsTheManifestDoesNotAllowAreRefused) {
  auto gyre = up("denied", "postgres://example.com");
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  const std::string authority = "127.0.0.1:" + std::to_string(server_->port());
  for (const char* iface : {"pg2", "pg3", "pg4"}) {
    EXPECT_EQ(run(*gyre, iface, address(), "[]"),
              "open err Error_ConnectionFailed(value='address postgres://" + authority +
                  " is not permitted')\n");
  }
  // Unix sockets are never allowed.
  EXPECT_EQ(run(*gyre, "pg4", "host=/tmp user=postgres", "[]"),
            "open err Error_ConnectionFailed(value='Unix sockets are not supported on "
            "WebAssembly')\n");
  gyre->stop();
  EXPECT_NE(gyre->output().find("A component tried to make an outbound network connection to "
                                "disallowed destination 'postgres://" +
                                authority + "'"),
            std::string::npos)
      << gyre->output();
}

TEST_F(PostgresUp, AnUnreachableServerIsAConnectionFailure) {
  auto gyre = up("unreachable", "postgres://127.0.0.1:1");
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  const std::string out = run(*gyre, "pg4", "postgres://postgres@127.0.0.1:1/postgres", "[]");
  EXPECT_TRUE(out.starts_with("open err Error_ConnectionFailed(value=")) << out;
  EXPECT_NE(out.find("127.0.0.1"), std::string::npos) << out;
}

// A pooled connection the server has closed since (here, by an administrator's command) is
// not handed to the next guest: it gets a new one.
TEST_F(PostgresUp, AConnectionTheServerClosedIsNotReused) {
  auto gyre = up("closed", allow_all());
  ASSERT_NE(gyre->port(), 0) << gyre->output();
  const std::string steps = R"J([{"op": "query", "sql": "SELECT 6::integer AS n"}])J";
  const std::string answer =
      "RowSet(columns=[Column(name='n', data_type=DbDataType_Int32())], "
      "rows=[[DbValue_Int32(value=6)]])\n";
  EXPECT_EQ(run(*gyre, "pg4", address(), steps), answer);
  Session session(address());
  ASSERT_TRUE(session.ok()) << session.error();
  const std::string others =
      "FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";
  EXPECT_EQ(session.value("SELECT count(pg_terminate_backend(pid)) " + others), "1");
  // The pooled connection's server process has ended (a bound against a hang).
  for (int tries = 0; tries < 600 && session.value("SELECT count(*) " + others) != "0"; ++tries)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(run(*gyre, "pg4", address(), steps), answer);
  EXPECT_EQ(gyre->stop(), 0) << gyre->output();
}

// A client that held a thread while its guest waits on the server could never have more
// guests waiting at once than the app has threads. Here more guests than its worker threads
// and lanes together each run a statement that waits on an advisory lock the test holds;
// the server's lock table shows when all wait, and then the test lets them go.
TEST_F(PostgresUp, ManyGuestsWaitOnTheServerAtOnce) {
  const unsigned guests = 2 * std::thread::hardware_concurrency() + 8;
  Session session(address());
  ASSERT_TRUE(session.ok()) << session.error();
  // Every guest holds a connection while it waits, beside this session and psql.
  const int most = std::atoi(session.value("SHOW max_connections").value_or("0").c_str());
  ASSERT_LE(static_cast<int>(guests) + 3, most) << "the test server allows too few connections";
  ASSERT_TRUE(session.value("SELECT pg_advisory_lock(4242)")) << session.error();
  auto gyre = up("many", allow_all());
  ASSERT_NE(gyre->port(), 0) << gyre->output();

  std::vector<std::future<gyre::testing::HttpResponse>> answers;
  for (unsigned i = 0; i < guests; ++i) {
    const std::string body =
        R"({"iface": "pg4", "address": ")" + address() + R"(", "steps": [{"op": "query", )" +
        R"("sql": "SELECT $1::integer AS n FROM (SELECT pg_advisory_xact_lock_shared(4242)) )" +
        R"(AS locked", "params": [["Int32", )" + std::to_string(i) + "]]}]}";
    answers.push_back(std::async(std::launch::async, [&gyre, body] {
      return http_request(gyre->port(), "POST", "/", body);
    }));
  }
  // A bound against a hang, not a measurement.
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  const std::string waiting_sql =
      "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted";
  std::string waiting;
  for (;;) {
    waiting = session.value(waiting_sql).value_or("?");
    if (waiting == std::to_string(guests) || std::chrono::steady_clock::now() > give_up) break;
    std::this_thread::sleep_for(20ms);
  }
  // Let the guests go before anything can fail, so every request ends.
  EXPECT_TRUE(session.value("SELECT pg_advisory_unlock(4242)")) << session.error();
  EXPECT_EQ(waiting, std::to_string(guests))
      << "so many of the " << guests << " guests were waiting on the server at once when the "
      << "test gave up after 60 s\n"
      << gyre->output();
  for (unsigned i = 0; i < guests; ++i) {
    const auto answer = answers[i].get();
    EXPECT_EQ(answer.status, 200) << i << ": " << answer.body;
    EXPECT_EQ(answer.body,
              "RowSet(columns=[Column(name='n', data_type=DbDataType_Int32())], "
              "rows=[[DbValue_Int32(value=" +
                  std::to_string(i) + ")]])\n")
        << i;
  }
  EXPECT_EQ(gyre->stop(), 0) << gyre->output();
}

}  // namespace
