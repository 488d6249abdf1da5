// A real redis-server for tests: started on 127.0.0.1 on a free port with its files in a
// fresh temporary folder, ready once it answers PING, stopped (and the folder removed)
// when the object goes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace gyre::testing {

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // 0 when it never answered; then output() says why.
  uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // What redis-server printed.
  std::string output() const;

 private:
  bool start(uint16_t port);
  void stop();

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// One command's reply as redis-cli prints it ("PONG", "(nil)", ...), for checking what a
// test wrote through Gyre.
std::string redis_cli(const RedisServer& server, const std::string& args);

}  // namespace gyre::testing
