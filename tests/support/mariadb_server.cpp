#include "support/mariadb_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "support/process.hpp"

namespace gyre::testing {
namespace {

namespace fs = std::filesystem;

uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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

MariadbServer::MariadbServer() {
  char pattern[] = "/tmp/gyre-mariadb-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return;
  dir_ = pattern;
  const pid_t install =
      spawn({"mariadb-install-db", "--no-defaults", "--datadir=" + (dir_ / "data").string(),
             "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"},
            dir_ / "install.log");
  int status = 0;
  waitpid(install, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return;
  // Another process may take the port between our pick and the server's bind: try again.
  for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
    if (start(free_port())) break;
    stop();
  }
  if (port_ != 0) {
    run_command("mariadb --no-defaults -h 127.0.0.1 -u root -P " + std::to_string(port_) +
                " -e 'CREATE DATABASE IF NOT EXISTS test'");
  }
}

MariadbServer::~MariadbServer() {
  stop();
  std::error_code ignored;
  if (!dir_.empty()) fs::remove_all(dir_, ignored);
}

std::string MariadbServer::url() const {
  return "mysql://root@127.0.0.1:" + std::to_string(port_) + "/test";
}

bool MariadbServer::start(uint16_t port) {
  if (port == 0) return false;
  pid_ = spawn({"mariadbd", "--no-defaults", "--user=root", "--datadir=" + (dir_ / "data").string(),
                "--bind-address=127.0.0.1", "--port=" + std::to_string(port),
                "--socket=" + (dir_ / "mysqld.sock").string(),
                "--pid-file=" + (dir_ / "mysqld.pid").string(), "--skip-grant-tables",
                "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0"},
               dir_ / "mariadbd.log");
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < give_up) {
    if (run_command("mariadb-admin --no-defaults -h 127.0.0.1 -u root -P " + std::to_string(port) +
                    " ping")
            .status == 0) {
      port_ = port;
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void MariadbServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string MariadbServer::output() const {
  std::stringstream text;
  for (const char* name : {"install.log", "mariadbd.log"}) {
    std::ifstream in(dir_ / name);
    text << in.rdbuf();
  }
  return text.str();
}

std::string MariadbServer::sql(const std::string& statements) const {
  const fs::path file = dir_ / "query.sql";
  std::ofstream(file) << statements;
  return run_command("mariadb --no-defaults -N -B -h 127.0.0.1 -u root -P " +
                     std::to_string(port_) + " test < " + file.string())
      .text;
}

}  // namespace gyre::testing
