// Spin 1's unversioned fermyon:spin/postgres as a guest sees it: a C component
// (fixtures/c/outpg) calls query and execute with every parameter type and prints what it
// got back. The host is the real factor, linked strictly against the guest's WIT, over a
// real PostgreSQL 15 server; hosts the component may not reach are refused.
#include <gtest/gtest.h>

#include <memory>

#include "app/manifest.hpp"
#include "app/outbound_hosts.hpp"
#include "app/variables.hpp"
#include "component/instance.hpp"
#include "spin/mysql/mysql_factor.hpp"
#include "spin/postgres/postgres_factor.hpp"
#include "support/factor_harness.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"

namespace gyre::spin::postgres {
namespace {

using component::Val;
using gyre::testing::PostgresServer;

class PostgresV1 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new PostgresServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // Instantiates the guest with `allowed` as its allowed_outbound_hosts; "" when ready.
  std::string start(const std::string& allowed) {
    std::vector<std::unique_ptr<Factor>> factors;
    factors.push_back(make_factor());
    factors.push_back(mysql::make_factor());  // the guest imports mysql too
    return app_.start(harness_,
                      R"(spin_manifest_version = 2
[application]
name = "pg"
[[trigger.http]]
route = "/..."
component = "guest"
[component.guest]
source = "guest.wasm"
allowed_outbound_hosts = [")" +
                          allowed + R"("]
)",
                      std::move(factors), "c-outpg");
  }

  void TearDown() override {
    harness_.reset();
    app_.stop();
  }

  std::string call(const std::string& function, const std::string& statement,
                   const std::vector<std::string>& params = {},
                   const std::string& address = server_->url()) {
    std::vector<Val> list;
    for (const std::string& p : params)
      list.push_back(Val::string(p));
    const Val args[] = {Val::string(address), Val::string(statement), Val::list(std::move(list))};
    return harness_.call(function, args);
  }

  static std::string allowed() { return "postgres://127.0.0.1:" + std::to_string(server_->port()); }

  static PostgresServer* server_;
  gyre::testing::GuestApp app_;  // before the harness: its guest goes first
  std::string& log_ = app_.log();
  gyre::testing::FactorHarness harness_;
};

PostgresServer* PostgresV1::server_ = nullptr;

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

}  // namespace
}  // namespace gyre::spin::postgres
