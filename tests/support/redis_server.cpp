#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "support/process.hpp"

namespace gyre::testing {
namespace {

namespace fs = std::filesystem;

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// A port nothing listens on now (the kernel's pick for a socket bound to port 0).
uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool answers_ping(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(port);
  bool pong = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const char ping[] = "PING\r\n";
    char reply[16] = {};
    if (write(fd, ping, sizeof ping - 1) == sizeof ping - 1 && read(fd, reply, 7) > 0)
      pong = std::string(reply).starts_with("+PONG");
  }
  close(fd);
  return pong;
}

}  // namespace

RedisServer::RedisServer() {
  static std::atomic<int> counter{0};
  dir_ = fs::temp_directory_path() /
         ("gyre-redis-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  // Another process may take the port between our pick and redis-server's bind: try again.
  for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
    if (start(free_port())) break;
    stop();
  }
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

bool RedisServer::start(uint16_t port) {
  if (port == 0) return false;
  const std::string log = (dir_ / "redis.log").string();
  std::vector<std::string> argv = {"redis-server", "--port",    std::to_string(port),
                                   "--bind",       "127.0.0.1", "--dir",
                                   dir_.string(),  "--save",    "",
                                   "--appendonly", "no",        "--daemonize",
                                   "no",           "--logfile", log};
  pid_ = fork();
  if (pid_ == 0) {
    const int null = open("/dev/null", O_RDWR);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    std::vector<char*> raw;
    for (auto& a : argv)
      raw.push_back(a.data());
    raw.push_back(nullptr);
    execvp("redis-server", raw.data());
    _exit(127);
  }
  // Until it answers, or exits (a taken port, a missing binary), or a minute has gone.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < give_up) {
    if (answers_ping(port)) {
      port_ = port;
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string RedisServer::output() const {
  std::ifstream in(dir_ / "redis.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string redis_cli(const RedisServer& server, const std::string& args) {
  CommandOutput out =
      run_command("redis-cli -h 127.0.0.1 -p " + std::to_string(server.port()) + " " + args);
  std::string text = out.text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return text;
}

}  // namespace gyre::testing
