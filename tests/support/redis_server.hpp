// A real redis-server for tests: started on 127.0.0.1 on a free port with its files in a
// fresh temporary folder, ready once it answers PING, stopped (and the folder removed)
// when the object goes.
#pragma once

#include <cstdint>
#include <string>

#include "support/server_process.hpp"

namespace gyre::testing {

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // 0 when it never answered; then output() says why.
  uint16_t port() const { return server_.port(); }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port()); }
  // What redis-server printed.
  std::string output() const;

 private:
  ServerProcess server_;
};

// One command's reply as redis-cli prints it ("PONG", "(nil)", ...), for checking what a
// test wrote through Gyre.
std::string redis_cli(const RedisServer& server, const std::string& args);

// The clients the server holds waiting (INFO clients: blocked_clients, which counts those
// in a blocking command and those a CLIENT PAUSE holds), or -1.
int blocked_clients(const RedisServer& server);

}  // namespace gyre::testing
