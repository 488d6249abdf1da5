// A real MariaDB server for tests: a fresh data folder (mariadb-install-db) in a temporary
// folder, mariadbd as root without grant tables, listening on 127.0.0.1 on a free port,
// with a database "test"; stopped and removed when the object goes.
#pragma once

#include <cstdint>
#include <string>

#include "support/server_process.hpp"

namespace gyre::testing {

class MariadbServer {
 public:
  MariadbServer();
  ~MariadbServer();
  MariadbServer(const MariadbServer&) = delete;
  MariadbServer& operator=(const MariadbServer&) = delete;

  // 0 when it never became ready; then output() says why.
  uint16_t port() const { return server_.port(); }
  // "mysql://root@127.0.0.1:<port>/test"
  std::string url() const;
  std::string output() const;
  // Runs SQL in database "test" with the mariadb client; tab-separated rows, no header.
  std::string sql(const std::string& statements) const;

 private:
  ServerProcess server_;
};

}  // namespace gyre::testing
