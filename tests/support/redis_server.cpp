#include "support/redis_server.hpp"

#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "support/process.hpp"

namespace gyre::testing {
namespace {

bool answers_ping(uint16_t port) {
  const int fd = connect_loopback(port);
  if (fd < 0) return false;
  const char ping[] = "PING\r\n";
  char reply[16] = {};
  bool pong = false;
  if (write(fd, ping, sizeof ping - 1) == sizeof ping - 1 && read(fd, reply, 7) > 0)
    pong = std::string(reply).starts_with("+PONG");
  close(fd);
  return pong;
}

}  // namespace

RedisServer::RedisServer() : server_("redis") {
  const std::string dir = server_.dir().string();
  server_.start(
      [&](uint16_t port) {
        return std::vector<std::string>{"redis-server",
                                        "--port",
                                        std::to_string(port),
                                        "--bind",
                                        "127.0.0.1",
                                        "--dir",
                                        dir,
                                        "--save",
                                        "",
                                        "--appendonly",
                                        "no",
                                        "--daemonize",
                                        "no",
                                        "--logfile",
                                        dir + "/redis.log"};
      },
      answers_ping, "redis-server.out");
}

RedisServer::~RedisServer() = default;

std::string RedisServer::output() const {
  return server_.read({"redis-server.out", "redis.log"});
}

std::string redis_cli(const RedisServer& server, const std::string& args) {
  CommandOutput out =
      run_command("redis-cli -h 127.0.0.1 -p " + std::to_string(server.port()) + " " + args);
  std::string text = out.text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return text;
}

int blocked_clients(const RedisServer& server) {
  const std::string info = redis_cli(server, "INFO clients");
  const std::string key = "blocked_clients:";
  const size_t at = info.find(key);
  return at == std::string::npos ? -1 : std::atoi(info.c_str() + at + key.size());
}

}  // namespace gyre::testing
