// A real PostgreSQL 15 server for tests: a fresh cluster (initdb, trust authentication,
// user "postgres") in a temporary folder owned by the postgres system user, listening on
// 127.0.0.1 on a free port with its socket in that folder; stopped and removed when the
// object goes. PostgreSQL refuses to run as root, so it runs as that user.
#pragma once

#include <cstdint>
#include <string>

#include "support/server_process.hpp"

namespace gyre::testing {

class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // 0 when it never became ready; then output() says why.
  uint16_t port() const { return server_.port(); }
  // "postgres://postgres@127.0.0.1:<port>/postgres"
  std::string url() const;
  std::string output() const;
  // Runs SQL with psql; its unaligned, tuples-only output ("1|a\n2|b\n").
  std::string psql(const std::string& sql) const;

 private:
  ServerProcess server_;
};

}  // namespace gyre::testing
