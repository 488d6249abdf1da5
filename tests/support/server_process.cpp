#include "support/server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

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

pid_t spawn(std::vector<std::string> argv, const fs::path& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_RDONLY);
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(null, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    std::vector<char*> raw;
    for (auto& a : argv)
      raw.push_back(a.data());
    raw.push_back(nullptr);
    execvp(raw[0], raw.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

int connect_loopback(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

ServerProcess::ServerProcess(const std::string& name, int stop_signal) : stop_signal_(stop_signal) {
  std::string pattern = "/tmp/gyre-" + name + "-XXXXXX";
  if (mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
}

ServerProcess::~ServerProcess() {
  stop();
  std::error_code ignored;
  if (!dir_.empty()) fs::remove_all(dir_, ignored);
}

bool ServerProcess::run(std::vector<std::string> argv, const std::string& log) const {
  const pid_t pid = spawn(std::move(argv), dir_ / log);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

uint16_t ServerProcess::start(const std::function<std::vector<std::string>(uint16_t)>& command,
                              const std::function<bool(uint16_t)>& ready, const std::string& log) {
  if (dir_.empty()) return 0;
  for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
    if (start_on(free_port(), command, ready, log)) break;
    stop();
  }
  return port_;
}

bool ServerProcess::start_on(uint16_t port,
                             const std::function<std::vector<std::string>(uint16_t)>& command,
                             const std::function<bool(uint16_t)>& ready, const std::string& log) {
  if (port == 0) return false;
  pid_ = spawn(command(port), dir_ / log);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < give_up) {
    if (ready(port)) {
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

void ServerProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, stop_signal_);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string ServerProcess::read(const std::vector<std::string>& names) const {
  std::string text;
  for (const std::string& name : names) {
    std::ifstream in(dir_ / name);
    text.append(std::istreambuf_iterator<char>(in), {});
  }
  return text;
}

}  // namespace gyre::testing
