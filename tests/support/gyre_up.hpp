// `gyre up` as a user runs it, for end-to-end tests: the real binary as a child process on
// an app folder, its output read until it says where it listens, stopped with SIGTERM.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gyre::testing {

class GyreUp {
 public:
  // Runs `gyre up -f APP --listen 127.0.0.1:0 ARGS...` with ENV added to its environment,
  // and at most `fd_limit` open files if given (as `ulimit -n`). Its output is read as it
  // comes, so a chatty server never blocks on a full pipe.
  explicit GyreUp(const std::filesystem::path& app, std::vector<std::string> args = {},
                  std::vector<std::pair<std::string, std::string>> env = {},
                  std::optional<unsigned> fd_limit = std::nullopt);
  ~GyreUp();
  GyreUp(const GyreUp&) = delete;
  GyreUp& operator=(const GyreUp&) = delete;

  uint16_t port() const { return port_; }  // 0 when it never started serving
  pid_t pid() const { return pid_; }
  // All output so far (stdout and stderr).
  std::string output() const;
  // True once the output holds `text`; false if it did not within `limit` (a hang guard,
  // not a measurement) or the process ended without it.
  bool wait_for_output(const std::string& text,
                       std::chrono::seconds limit = std::chrono::seconds(60)) const;

  // SIGTERM, then the exit status and the rest of the output (stdout and stderr).
  int stop();
  // Sends a signal and returns at once.
  void signal(int number) const;
  // The exit status once the process ends (128 + N for a signal N), or nothing if it is
  // still running after `limit`.
  std::optional<int> wait_exit(std::chrono::seconds limit);

 private:
  void read_output();

  pid_t pid_ = -1;
  FILE* stdout_ = nullptr;
  uint16_t port_ = 0;
  bool stopped_ = false;
  mutable std::mutex mutex_;
  mutable std::condition_variable more_;
  std::string output_;  // under mutex_
  bool ended_ = false;  // under mutex_: the output reached its end
  std::thread reader_;
};

// The `gyre` binary under test.
std::string gyre_binary();

// A fresh folder for an app with this spin.toml text, unique to the test process.
std::filesystem::path make_app(const std::string& name, const std::string& manifest);

// make_app(name, ...) for an application `app` of one HTTP component `component` on
// "/...", built from fixture_path(fixture), with `settings` (TOML lines, each ending in a
// newline) added to the component.
std::filesystem::path make_fixture_app(const std::string& name, const std::string& app,
                                       const std::string& component, const std::string& fixture,
                                       const std::string& settings);

// GET `target` ("/path?query") through `gyre`: the status and the body.
std::pair<int, std::string> get_path(const GyreUp& gyre, const std::string& target);
// GET "/?query" through `gyre`.
std::pair<int, std::string> get_query(const GyreUp& gyre, const std::string& query);

}  // namespace gyre::testing
