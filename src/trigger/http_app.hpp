// A Spin application's HTTP trigger, running: every component prepared once (compiled,
// linked against WASI and wasi:http), the routes of every [[trigger.http]], Spin's static
// responses and well-known paths, and the server listening. What `gyre up` starts.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/log.hpp"
#include "base/result.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "http/server.hpp"

namespace gyre::trigger {

struct UpOptions {
  std::filesystem::path manifest;  // spin.toml
  std::string listen = "127.0.0.1:3000";
  std::optional<http::TlsFiles> tls;  // serve HTTPS with these
  // `--env NAME=VALUE`: added to every component's environment.
  std::vector<std::pair<std::string, std::string>> env;
  // Where component stdout/stderr logs go (`<dir>/<component>_stdout.txt`); empty: none.
  std::filesystem::path log_dir;
  bool quiet = false;  // component output only to the log files, not the terminal
  // `--follow`: only these components' output goes to the terminal; empty: all of them.
  std::vector<std::string> follow;
  bool truncate_logs = false;  // empty the log files before starting
  // Where the app keeps its state (`.spin/` beside spin.toml by default); empty: none.
  std::filesystem::path state_dir;
  std::filesystem::path compile_cache;  // compiled modules; empty: no cache
  unsigned workers = 0;                 // guest threads; 0: twice the cores
  // A request whose guest runs longer than this ends with a 500. None by default, as Spin.
  std::optional<std::chrono::milliseconds> deadline;
  // A request whose guest grows a linear memory past this many bytes ends with a 500.
  std::optional<uint64_t> max_instance_memory;
  unsigned network_threads = 0;  // 0: one per core
  // The server's limits (http::ServerConfig says what each means).
  std::chrono::milliseconds header_read_timeout = http::ServerConfig{}.header_read_timeout;
  std::chrono::milliseconds keep_alive_timeout = http::ServerConfig{}.keep_alive_timeout;
  size_t max_connections = http::ServerConfig{}.max_connections;
  // Where gyre's own messages go (the terminal).
  std::function<void(std::string_view)> print;
  // Where errors go while serving (a failed guest, a refused connection): stderr.
  Logger log = null_logger();
  // `--variable` flags as given ("key=value", "key=@file", "@file.json"): the values win
  // over every provider.
  std::vector<std::string> variable_flags;
  // `--key-value KEY=VALUE`: written into the default key-value store before serving.
  std::vector<std::pair<std::string, std::string>> key_values;
  // `--sqlite STATEMENT` / `--sqlite @FILE`: run against the database before serving.
  std::vector<std::string> sqlite_statements;
  // `--runtime-config-file`: where the app's capabilities are backed; empty: defaults.
  std::filesystem::path runtime_config_file;
  // The process environment, for SPIN_VARIABLE_* (passed in, not read here).
  std::vector<std::pair<std::string, std::string>> process_environment;
};

class RunningApp {
 public:
  virtual ~RunningApp() = default;
  virtual boost::asio::ip::tcp::endpoint endpoint() const = 0;
  // Stops accepting and closes idle connections; requests in flight go on.
  virtual void stop_accepting() = 0;
  // Blocks until no connection is left, or the timeout passes (false then).
  virtual bool wait_idle(std::chrono::milliseconds timeout) = 0;
  // Ends every request still running: connections close, and each guest stops at its
  // next epoch tick (or when its host call returns).
  virtual void cancel_requests() = 0;
  // Stops accepting, finishes the requests in flight, then returns.
  virtual void shutdown() = 0;
};

// Loads the manifest and starts serving; every error names what is wrong and nothing
// listens unless everything loaded.
Result<std::unique_ptr<RunningApp>, std::string> up(UpOptions options);

}  // namespace gyre::trigger
