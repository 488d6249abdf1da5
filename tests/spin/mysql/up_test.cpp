// Outbound MySQL through `gyre up` as a user runs it: a component the Spin Python SDK
// built (fixtures/python/postgres_and_mysql) opens connections through
// fermyon:spin/mysql@2.0.0 to a real MariaDB server, runs statements with every parameter
// type, and answers with what it got back. Hosts the manifest does not allow are refused.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/mariadb_server.hpp"
#include "support/process.hpp"

namespace {

using gyre::testing::GyreUp;
using gyre::testing::http_request;
using gyre::testing::MariadbServer;

class MysqlUp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new MariadbServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_->port(), 0) << server_->output(); }

  static std::unique_ptr<GyreUp> up(const std::string& name, const std::string& allowed) {
    auto app =
        gyre::testing::make_fixture_app("mysql-" + name, "mysql", "db", "python-postgres_and_mysql",
                                        "allowed_outbound_hosts = [\"" + allowed + "\"]\n");
    return std::make_unique<GyreUp>(app);
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
