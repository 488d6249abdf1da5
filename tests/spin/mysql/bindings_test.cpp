// Spin 1's unversioned fermyon:spin/mysql and Spin 4's spin:mysql@3.0.0 as a guest sees
// them: a C component (fixtures/c/outpg) calls open, query and execute with every
// parameter type and prints what it got back. The host is the real factor, linked strictly against
// the guest's WIT, over a real MariaDB server; hosts the component may not reach are refused.
#include <gtest/gtest.h>

#include <memory>

#include "app/manifest.hpp"
#include "app/outbound_hosts.hpp"
#include "app/variables.hpp"
#include "component/instance.hpp"
#include "spin/mysql/mysql_factor.hpp"
#include "spin/postgres/postgres_factor.hpp"
#include "support/factor_harness.hpp"
#include "support/mariadb_server.hpp"
#include "support/process.hpp"

namespace gyre::spin::mysql {
namespace {

using component::Val;
using gyre::testing::MariadbServer;

class MysqlV1 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new MariadbServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // Instantiates the guest with `allowed` as its allowed_outbound_hosts; "" when ready.
  std::string start(const std::string& allowed) {
    std::vector<std::unique_ptr<Factor>> factors;
    factors.push_back(make_factor());
    factors.push_back(postgres::make_factor());  // the guest imports postgres too
    return app_.start(
        harness_,
        gyre::testing::guest_manifest("mysql", "allowed_outbound_hosts = [\"" + allowed + "\"]"),
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

  static std::string allowed() { return "mysql://127.0.0.1:" + std::to_string(server_->port()); }

  static MariadbServer* server_;
  gyre::testing::GuestApp app_;  // before the harness: its guest goes first
  std::string& log_ = app_.log();
  gyre::testing::FactorHarness harness_;
};

MariadbServer* MysqlV1::server_ = nullptr;

// Spin 1's mysql and Spin 4's spin:mysql@3.0.0 (async functions lowered async, rows
// read from a stream) see the same: the exports of one are "mysql-...", of the other
// "mysql3-...".
const char* const kVersions[] = {"mysql", "mysql3"};

TEST_F(MysqlV1, QueryAndExecuteWithEveryParameterType) {
  ASSERT_NE(server_->port(), 0) << server_->output();
  ASSERT_EQ(start(allowed()), "");
  for (const std::string version : kVersions) {
    const std::string table = "t_" + version;
    server_->sql("CREATE TABLE " + table +
                 " (b BOOLEAN, i1 TINYINT, i2 SMALLINT, i4 INT, i8 BIGINT, u1 TINYINT "
                 "UNSIGNED, u2 SMALLINT UNSIGNED, u4 INT UNSIGNED, u8 BIGINT UNSIGNED, f4 FLOAT, "
                 "f8 DOUBLE, s VARCHAR(10), bin VARBINARY(10))");
    EXPECT_EQ(call(version + "-execute",
                   "INSERT INTO " + table + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   {"bool:1", "i8:-1", "i16:-2", "i32:-3", "i64:-4", "u8:1", "u16:2", "u32:3",
                    "u64:18446744073709551615", "f32:1.5", "f64:-2.75", "str:hi", "bin:AB"}),
              "ok");
    EXPECT_EQ(call(version + "-execute", "INSERT INTO " + table + " (i4) VALUES (?)", {"null"}),
              "ok");
    EXPECT_EQ(call(version + "-query", "SELECT * FROM " + table + " WHERE i4 = ?", {"i32:-3"}),
              "cols=[b:1,i1:1,i2:2,i4:3,i8:4,u1:5,u2:6,u4:7,u8:8,f4:9,f8:10,s:11,bin:12] "
              "rows=[[i8(1),i8(-1),i16(-2),i32(-3),i64(-4),u8(1),u16(2),u32(3),"
              "u64(18446744073709551615),f32(1.5),f64(-2.75),str(hi),bin(4142)]]")
        << version;
    EXPECT_EQ(call(version + "-query", "SELECT i4, s FROM " + table + " WHERE i4 IS NULL"),
              "cols=[i4:3,s:11] rows=[[null,null]]")
        << version;
    EXPECT_EQ(call(version + "-query", "SELECT i4 FROM " + table + " WHERE false"),
              "cols=[i4:3] rows=[]")
        << version;
    EXPECT_EQ(call(version + "-query", "SELECT * FROM nowhere"),
              "err(query-failed: Server(ServerError { code: 1146, message: \"Table "
              "'test.nowhere' doesn't exist\", state: \"42S02\" }))")
        << version;
  }
}

// Five rows: the Spin 4 guest reads them from the stream two at a time, and the stream
// then ends.
TEST_F(MysqlV1, EveryRowOfALongerResultArrives) {
  ASSERT_NE(server_->port(), 0) << server_->output();
  ASSERT_EQ(start(allowed()), "");
  const std::string five =
      "SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL "
      "SELECT 4 UNION ALL SELECT 5";
  for (const std::string version : kVersions) {
    EXPECT_EQ(call(version + "-query", five),
              "cols=[n:3] rows=[[i32(1)],[i32(2)],[i32(3)],[i32(4)],[i32(5)]]")
        << version;
  }
}

TEST_F(MysqlV1, HostsTheManifestDoesNotAllowAreRefused) {
  ASSERT_NE(server_->port(), 0) << server_->output();
  ASSERT_EQ(start("mysql://example.com"), "");
  const std::string authority = "127.0.0.1:" + std::to_string(server_->port());
  for (const std::string version : kVersions) {
    log_.clear();
    EXPECT_EQ(call(version + "-query", "SELECT 1"),
              "err(connection-failed: address " + server_->url() + " is not permitted)");
    EXPECT_EQ(call(version + "-execute", "SELECT 1"),
              "err(connection-failed: address " + server_->url() + " is not permitted)");
    EXPECT_EQ(log_,
              app::denied_message("mysql", authority) + app::denied_message("mysql", authority))
        << version;
  }
}

}  // namespace
}  // namespace gyre::spin::mysql
