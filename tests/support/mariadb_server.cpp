#include "support/mariadb_server.hpp"

#include <filesystem>
#include <fstream>
#include <vector>

#include "support/process.hpp"

namespace gyre::testing {

MariadbServer::MariadbServer() : server_("mariadb") {
  if (server_.dir().empty()) return;
  const std::string data = "--datadir=" + (server_.dir() / "data").string();
  // Each server its own temporary folder: two servers bootstrapping at once in a shared
  // /tmp can pick the same temporary table name and one deletes the other's file.
  std::filesystem::create_directories(server_.dir() / "tmp");
  const std::string tmp = "--tmpdir=" + (server_.dir() / "tmp").string();
  if (!server_.run({"mariadb-install-db", "--no-defaults", data, tmp, "--user=root",
                    "--auth-root-authentication-method=normal", "--skip-test-db"},
                   "install.log"))
    return;
  const uint16_t port = server_.start(
      [&](uint16_t port) {
        return std::vector<std::string>{"mariadbd",
                                        "--no-defaults",
                                        "--user=root",
                                        data,
                                        tmp,
                                        "--bind-address=127.0.0.1",
                                        "--port=" + std::to_string(port),
                                        "--socket=" + (server_.dir() / "mysqld.sock").string(),
                                        "--pid-file=" + (server_.dir() / "mysqld.pid").string(),
                                        "--skip-grant-tables",
                                        "--skip-log-bin",
                                        "--innodb-flush-log-at-trx-commit=0"};
      },
      [](uint16_t port) {
        return run_command("mariadb-admin --no-defaults -h 127.0.0.1 -u root -P " +
                           std::to_string(port) + " ping")
                   .status == 0;
      },
      "mariadbd.log");
  if (port != 0) {
    run_command("mariadb --no-defaults -h 127.0.0.1 -u root -P " + std::to_string(port) +
                " -e 'CREATE DATABASE IF NOT EXISTS test'");
  }
}

MariadbServer::~MariadbServer() = default;

std::string MariadbServer::url() const {
  return "mysql://root@127.0.0.1:" + std::to_string(port()) + "/test";
}

std::string MariadbServer::output() const {
  return server_.read({"install.log", "mariadbd.log"});
}

std::string MariadbServer::sql(const std::string& statements) const {
  const std::filesystem::path file = server_.dir() / "query.sql";
  std::ofstream(file) << statements;
  return run_command("mariadb --no-defaults -N -B -h 127.0.0.1 -u root -P " +
                     std::to_string(port()) + " test < " + file.string())
      .text;
}

}  // namespace gyre::testing
