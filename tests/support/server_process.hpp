// The process side of a real server run for tests (redis-server, mosquitto, PostgreSQL,
// MariaDB): a fresh temporary folder for its files, a free port on 127.0.0.1, the server
// started there and waited for until it accepts, and stopped (folder removed) when the
// object goes. What makes each server ready or configured stays with its own class.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace gyre::testing {

// A TCP connection to 127.0.0.1:port, or -1.
int connect_loopback(uint16_t port);

class ServerProcess {
 public:
  // Makes the folder /tmp/gyre-<name>-XXXXXX; dir() is empty when that failed.
  // stop_signal is what asks the server to shut down.
  explicit ServerProcess(const std::string& name, int stop_signal = SIGTERM);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  // 0 until start() succeeded.
  uint16_t port() const { return port_; }

  // Runs a setup command to its end (stdout and stderr appended to dir()/log); true when it
  // exited 0.
  bool run(std::vector<std::string> argv, const std::string& log) const;

  // Starts the server that command(port) describes (stdout and stderr appended to
  // dir()/log) on a free port, until ready(port) says it accepts, it exits, or a minute has
  // gone. Another process may take the port between the pick and the server's bind, so it
  // tries a few ports. The port, or 0.
  uint16_t start(const std::function<std::vector<std::string>(uint16_t port)>& command,
                 const std::function<bool(uint16_t port)>& ready, const std::string& log);

  // These files of dir(), one after another (what the server and its setup printed).
  std::string read(const std::vector<std::string>& names) const;

 private:
  bool start_on(uint16_t port, const std::function<std::vector<std::string>(uint16_t)>& command,
                const std::function<bool(uint16_t)>& ready, const std::string& log);
  void stop();

  std::filesystem::path dir_;
  int stop_signal_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace gyre::testing
