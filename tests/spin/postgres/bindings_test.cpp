// Spin 1's unversioned fermyon:spin/postgres as a guest sees it: a C component
// (fixtures/c/outpg) calls query and execute with every parameter type and prints what it
// got back. The host is the real factor, linked strictly against the guest's WIT, over a
// real PostgreSQL 15 server; hosts the component may not reach are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "app/manifest.hpp"
#include "app/outbound_hosts.hpp"
#include "app/variables.hpp"
#include "component/instance.hpp"
#include "spin/mysql/mysql_factor.hpp"
#include "spin/postgres/postgres_factor.hpp"
#include "support/certificate.hpp"
#include "support/factor_harness.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"

namespace gyre::spin::postgres {
namespace {

using component::Val;
using gyre::testing::PostgresServer;

// A guest (a C fixture) over the suite's PostgreSQL server.
class PostgresGuest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new PostgresServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // Instantiates `fixture` with `allowed` as its allowed_outbound_hosts, served by the
  // PostgreSQL factor (and the MySQL one, for a guest that imports both); "" when ready.
  std::string start_guest(const std::string& fixture, const std::string& allowed, bool with_mysql) {
    std::vector<std::unique_ptr<Factor>> factors;
    factors.push_back(make_factor());
    if (with_mysql) factors.push_back(mysql::make_factor());
    return app_.start(
        harness_,
        gyre::testing::guest_manifest("pg", "allowed_outbound_hosts = [\"" + allowed + "\"]"),
        std::move(factors), fixture);
  }

  void TearDown() override {
    harness_.reset();
    app_.stop();
  }

  static std::string allowed() { return "postgres://127.0.0.1:" + std::to_string(server_->port()); }

  static PostgresServer* server_;
  gyre::testing::GuestApp app_;  // before the harness: its guest goes first
  std::string& log_ = app_.log();
  gyre::testing::FactorHarness harness_;
};

PostgresServer* PostgresGuest::server_ = nullptr;

class PostgresV1 : public PostgresGuest {
 protected:
  std::string start(const std::string& allowed) { return start_guest("c-outpg", allowed, true); }

  std::string call(const std::string& function, const std::string& statement,
                   const std::vector<std::string>& params = {},
                   const std::string& address = server_->url()) {
    std::vector<Val> list;
    for (const std::string& p : params)
      list.push_back(Val::string(p));
    const Val args[] = {Val::string(address), Val::string(statement), Val::list(std::move(list))};
    return harness_.call(function, args);
  }
};

TEST_F(PostgresV1, QueryAndExecuteWithEveryParameterType) {
  ASSERT_NE(server_->port(), 0) << server_->output();
  ASSERT_EQ(start(allowed()), "");
  server_->psql(
      "CREATE TABLE v1 (b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double "
      "precision, s text, bin bytea, d date)");
  EXPECT_EQ(call("pg-execute",
                 "INSERT INTO v1 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '2021-03-04'), "
                 "($9, $10, $11, $12, NULL, NULL, NULL, $13, NULL)",
                 {"bool:1", "i16:-2", "i32:3", "i64:-4", "f32:1.5", "f64:-2.75", "str:hi", "bin:AB",
                  "bool:0", "i8:5", "null", "null", "null"}),
            "ok(2)");
  EXPECT_EQ(call("pg-query", "SELECT * FROM v1 ORDER BY i2"),
            "cols=[b:0,i2:2,i4:3,i8:4,f4:9,f8:10,s:11,bin:12,d:13] "
            "rows=[[bool(1),i16(-2),i32(3),i64(-4),f32(1.5),f64(-2.75),str(hi),bin(4142),"
            "unsupported],[bool(0),i16(5),null,null,null,null,null,null,null]]");
  EXPECT_EQ(call("pg-query", "SELECT 1 WHERE false"), "cols=[] rows=[]");
  for (const char* u : {"u8:1", "u16:1", "u32:1", "u64:1"}) {
    EXPECT_EQ(call("pg-query", "SELECT $1", {u}),
              "err(value-conversion-failed: Postgres does not support unsigned integers)");
  }
  EXPECT_EQ(call("pg-execute", "DELETE FROM v1 WHERE i4 IS NULL"), "ok(1)");
  const std::string failed = call("pg-query", "SELECT * FROM nowhere");
  EXPECT_TRUE(failed.starts_with("err(query-failed: ERROR:  relation \"nowhere\" does not exist"))
      << failed;
}

TEST_F(PostgresV1, HostsTheManifestDoesNotAllowAreRefused) {
  ASSERT_NE(server_->port(), 0) << server_->output();
  ASSERT_EQ(start("postgres://example.com:5432"), "");
  const std::string authority = "127.0.0.1:" + std::to_string(server_->port());
  EXPECT_EQ(call("pg-query", "SELECT 1"),
            "err(connection-failed: address postgres://" + authority + " is not permitted)");
  EXPECT_EQ(call("pg-execute", "SELECT 1"),
            "err(connection-failed: address postgres://" + authority + " is not permitted)");
  EXPECT_EQ(log_, app::denied_message("postgres", authority) +
                      app::denied_message("postgres", authority));
  // A key=value connection string: its host and port are the ones checked.
  EXPECT_EQ(call("pg-query", "SELECT 1", {}, "host=localhost port=1 user=postgres"),
            "err(connection-failed: address postgres://localhost:1 is not permitted)");
}

// Spin 4's spin:postgres@4.1.0 (the connection builder) and @4.2.0 (async functions,
// lowered async): a C component (fixtures/c/outpg4) opens a connection each way and runs
// one statement. The value types are 4.0's, which the Python fixture covers over
// `gyre up`; these tests cover the functions.
class PostgresV4 : public PostgresGuest {
 protected:
  std::string start(const std::string& allowed) { return start_guest("c-outpg4", allowed, false); }

  std::string run(const std::string& how, const std::string& statement,
                  const std::vector<std::string>& params = {}, const std::string& ca = "",
                  const std::string& address = server_->url()) {
    std::vector<Val> list;
    for (const std::string& p : params)
      list.push_back(Val::string(p));
    const Val args[] = {Val::string(how), Val::string(address), Val::string(ca),
                        Val::string(statement), Val::list(std::move(list))};
    return harness_.call("run", args);
  }
};

// Every way of opening: 4.1's open and builder, 4.2's open, open-async and builder with
// build-async; each runs query and execute (4.2's async ones where the way is async).
const char* const kWays[] = {"4.1", "4.1-builder", "4.2", "4.2-async", "4.2-builder"};

TEST_F(PostgresV4, EveryWayQueriesAndExecutes) {
  ASSERT_NE(server_->port(), 0) << server_->output();
  ASSERT_EQ(start(allowed()), "");
  server_->psql("CREATE TABLE v4 (way text, n integer, big bigint, ok boolean)");
  for (const std::string way : kWays) {
    EXPECT_EQ(run(way, "x:INSERT INTO v4 VALUES ($1, $2, $3, $4), ($1, $5, NULL, NULL)",
                  {"str:" + way, "i32:1", "i64:-9000000000", "bool:1", "i32:2"}),
              "ok(2)")
        << way;
    EXPECT_EQ(
        run(way, "q:SELECT n, big, ok, way FROM v4 WHERE way = $1 ORDER BY n", {"str:" + way}),
        "cols=[n:3,big:4,ok:0,way:7] rows=[[i32(1),i64(-9000000000),bool(1),str(" + way +
            ")],[i32(2),null,null,str(" + way + ")]]")
        << way;
    // As Spin, which takes the columns from the first row: none without rows.
    EXPECT_EQ(run(way, "q:SELECT n FROM v4 WHERE false"), "cols=[] rows=[]") << way;
    EXPECT_EQ(run(way, "x:DELETE FROM v4 WHERE way = $1", {"str:" + way}), "ok(2)") << way;
    const std::string failed = run(way, "q:SELECT * FROM nowhere");
    EXPECT_TRUE(failed.starts_with("err(query-failed: ERROR:  relation \"nowhere\" does not exist"))
        << way << ": " << failed;
  }
}

// query-async's rows come from a stream the guest reads two at a time: five rows take
// three reads and a fourth that finds the stream ended.
TEST_F(PostgresV4, QueryAsyncStreamsEveryRow) {
  ASSERT_NE(server_->port(), 0) << server_->output();
  ASSERT_EQ(start(allowed()), "");
  for (const char* way : {"4.2-async", "4.2"}) {
    EXPECT_EQ(run(way, "q:SELECT n::integer FROM generate_series(1, 5) AS n"),
              "cols=[n:3] rows=[[i32(1)],[i32(2)],[i32(3)],[i32(4)],[i32(5)]]")
        << way;
  }
}

// set-ca-root takes a PEM certificate (the server here speaks no TLS, so the connection
// goes ahead in the clear, as libpq's default sslmode=prefer allows) and refuses text
// that holds none, with Spin's words.
TEST_F(PostgresV4, TheBuilderTakesARootCertificate) {
  ASSERT_NE(server_->port(), 0) << server_->output();
  ASSERT_EQ(start(allowed()), "");
  const auto dir =
      std::filesystem::temp_directory_path() / ("gyre-pg4-ca-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::stringstream pem;
  pem << std::ifstream(gyre::testing::make_certificate(dir).cert_chain_file).rdbuf();
  std::filesystem::remove_all(dir);
  for (const char* way : {"4.1-builder", "4.2-builder"}) {
    EXPECT_EQ(run(way, "q:SELECT 1::integer AS one", {}, pem.str()), "cols=[one:3] rows=[[i32(1)]]")
        << way;
    EXPECT_EQ(run(way, "q:SELECT 1", {}, "not a certificate"),
              "err(other: invalid root certificate: no PEM certificate found)")
        << way;
  }
}

TEST_F(PostgresV4, HostsTheManifestDoesNotAllowAreRefused) {
  ASSERT_NE(server_->port(), 0) << server_->output();
  ASSERT_EQ(start("postgres://example.com:5432"), "");
  const std::string authority = "127.0.0.1:" + std::to_string(server_->port());
  for (const std::string way : kWays) {
    log_.clear();
    EXPECT_EQ(run(way, "q:SELECT 1"),
              "err(connection-failed: address postgres://" + authority + " is not permitted)")
        << way;
    EXPECT_EQ(log_, app::denied_message("postgres", authority)) << way;
  }
}

}  // namespace
}  // namespace gyre::spin::postgres
