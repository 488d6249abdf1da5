#include "support/postgres_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
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

constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";

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

// The command line as the postgres user (setpriv execs in place, so signals reach it).
std::vector<std::string> as_postgres(std::vector<std::string> argv) {
  std::vector<std::string> out = {"setpriv", "--reuid=postgres", "--regid=postgres",
                                  "--clear-groups", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
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

PostgresServer::PostgresServer() {
  char pattern[] = "/tmp/gyre-postgres-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return;
  dir_ = pattern;
  const passwd* user = getpwnam("postgres");
  if (user == nullptr || chown(dir_.c_str(), user->pw_uid, user->pw_gid) != 0) return;
  const pid_t init =
      spawn(as_postgres({std::string(kBin) + "initdb", "-D", (dir_ / "data").string(), "-U",
                         "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"}),
            dir_ / "initdb.log");
  int status = 0;
  waitpid(init, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return;
  // Another process may take the port between our pick and the server's bind: try again.
  for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
    if (start(free_port())) break;
    stop();
  }
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ignored;
  if (!dir_.empty()) fs::remove_all(dir_, ignored);
}

std::string PostgresServer::url() const {
  return "postgres://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

bool PostgresServer::start(uint16_t port) {
  if (port == 0) return false;
  pid_ = spawn(as_postgres({std::string(kBin) + "postgres", "-D", (dir_ / "data").string(), "-h",
                            "127.0.0.1", "-p", std::to_string(port), "-k", dir_.string(), "-F",
                            "-c", "fsync=off"}),
               dir_ / "postgres.log");
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < give_up) {
    if (run_command(std::string(kBin) + "pg_isready -q -h 127.0.0.1 -p " + std::to_string(port))
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

void PostgresServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGINT);  // fast shutdown
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string PostgresServer::output() const {
  std::stringstream text;
  for (const char* name : {"initdb.log", "postgres.log"}) {
    std::ifstream in(dir_ / name);
    text << in.rdbuf();
  }
  return text.str();
}

std::string PostgresServer::psql(const std::string& sql) const {
  const fs::path file = dir_ / "query.sql";
  std::ofstream(file) << sql;
  return run_command("psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -p " +
                     std::to_string(port_) + " -d postgres -f " + file.string())
      .text;
}

}  // namespace gyre::testing
