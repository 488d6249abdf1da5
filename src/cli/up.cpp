#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <thread>

#include "base/byte_size.hpp"
#include "base/duration.hpp"
#include "base/log.hpp"
#include "cli/build.hpp"
#include "cli/commands.hpp"
#include "trigger/http_app.hpp"

extern char** environ;

namespace gyre::cli {
namespace {

struct UpArgs {
  std::string from = "spin.toml";
  std::string listen = "127.0.0.1:3000";
  std::vector<std::string> env;
  bool quiet = false;
  std::optional<std::string> log_dir;
  std::optional<std::string> state_dir;
  std::vector<std::string> follow;
  bool truncate_logs = false;
  std::string deadline;
  std::string max_instance_memory;
  std::string shutdown_timeout = "10s";
  std::string header_read_timeout = "30s";
  std::string keep_alive_timeout = "75s";
  size_t max_connections = trigger::UpOptions{}.max_connections;
  std::string tls_cert;
  std::string tls_key;
  bool build = false;
  std::string runtime_config_file;
  std::vector<std::string> key_values;
  std::vector<std::string> variables;
  std::vector<std::string> sqlite;
};

std::filesystem::path default_cache() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::filesystem::path(xdg) / "gyre" / "compile-cache";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".cache" / "gyre" / "compile-cache";
  return {};
}

// A duration option's value (`1s`, `500ms`; a bare number is milliseconds), or an error
// printed for it.
std::optional<std::chrono::milliseconds> duration_option(std::string_view option,
                                                         const std::string& text) {
  const auto parsed = parse_duration(text);
  if (!parsed) {
    std::cerr << "error: " << option << ": `" << text
              << "` is not a duration (such as 1s, 500ms or 2m)\n";
    return std::nullopt;
  }
  return std::chrono::ceil<std::chrono::milliseconds>(*parsed);
}

// After the first SIGINT or SIGTERM: no new connections, and the requests in flight get
// `grace` to finish. Then they are cancelled (their guests stop at the next epoch tick)
// and get a few seconds more; a guest blocked in a host call past that, or a second
// signal at any time, ends the process at once.
int shut_down(std::unique_ptr<trigger::RunningApp> running, const sigset_t& signals,
              std::chrono::milliseconds grace) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kAfterCancel = std::chrono::seconds(5);
  std::cout << "\nShutting down: finishing requests in flight (press Ctrl-C again to stop now)\n"
            << std::flush;
  running->stop_accepting();
  auto give_up = Clock::now() + grace;
  bool cancelled = false;
  const timespec no_wait{0, 0};
  while (!running->wait_idle(std::chrono::milliseconds(50))) {
    if (const int again = sigtimedwait(&signals, nullptr, &no_wait); again > 0) {
      std::cerr << "Stopping now: requests still in flight are dropped\n";
      std::_Exit(128 + again);
    }
    if (Clock::now() < give_up) continue;
    if (cancelled) {
      std::cerr << "Stopping now: requests did not end after they were cancelled\n";
      std::_Exit(1);
    }
    std::cerr << "Stopping the requests still running after " << grace.count() << " ms\n";
    running->cancel_requests();
    cancelled = true;
    give_up = Clock::now() + kAfterCancel;
  }
  // Idle: what is left is the app itself, whose workers may still hold a cancelled
  // guest that is blocked in a host call.
  auto released = std::make_shared<std::promise<void>>();
  auto done = released->get_future();
  std::thread([app = std::move(running), released]() mutable {
    app.reset();
    released->set_value();
  }).detach();
  if (done.wait_for(kAfterCancel) != std::future_status::ready) {
    std::cerr << "Stopping now: a guest did not return\n";
    std::_Exit(1);
  }
  return 0;
}

int up(const UpArgs& args) {
  trigger::UpOptions options;
  options.manifest = manifest_path(args.from);
  if (args.build) {
    if (int status = build_app(options.manifest, {}); status != 0) return status;
  }
  if (!args.tls_cert.empty()) options.tls = http::TlsFiles{args.tls_cert, args.tls_key};
  options.listen = args.listen;
  options.quiet = args.quiet;
  options.compile_cache = default_cache();
  options.follow = args.follow;
  options.runtime_config_file = args.runtime_config_file;
  options.variable_flags = args.variables;
  options.sqlite_statements = args.sqlite;
  for (const std::string& kv : args.key_values) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      std::cerr << "error: Key/Values must be of the form `key=value`\n";
      return 2;
    }
    options.key_values.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  options.truncate_logs = args.truncate_logs;
  // As Spin: state in .spin/ beside spin.toml unless given; logs in its logs/ unless given;
  // an empty value for either means none.
  options.state_dir = args.state_dir ? std::filesystem::path(*args.state_dir)
                                     : options.manifest.parent_path() / ".spin";
  if (args.log_dir) {
    options.log_dir = *args.log_dir;
  } else if (!options.state_dir.empty()) {
    options.log_dir = options.state_dir / "logs";
  }
  for (const std::string& kv : args.env) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "error: --env expects NAME=VALUE, got `" << kv << "`\n";
      return 2;
    }
    options.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string_view::npos) {
      options.process_environment.emplace_back(std::string(entry.substr(0, eq)),
                                               std::string(entry.substr(eq + 1)));
    }
  }
  options.print = [](std::string_view text) { std::cout << text << std::flush; };
  options.log = make_stderr_logger("gyre");
  if (!args.deadline.empty()) {
    const auto deadline = duration_option("--deadline", args.deadline);
    if (!deadline) return 2;
    if (deadline->count() > 0) options.deadline = *deadline;
  }
  if (!args.max_instance_memory.empty()) {
    options.max_instance_memory = parse_byte_size(args.max_instance_memory);
    if (!options.max_instance_memory) {
      std::cerr << "error: --max-instance-memory: `" << args.max_instance_memory
                << "` is not a size (such as 256MiB)\n";
      return 2;
    }
  }
  const auto grace = duration_option("--shutdown-timeout", args.shutdown_timeout);
  const auto header_timeout = duration_option("--header-read-timeout", args.header_read_timeout);
  const auto idle_timeout = duration_option("--keep-alive-timeout", args.keep_alive_timeout);
  if (!grace || !header_timeout || !idle_timeout) return 2;
  options.header_read_timeout = *header_timeout;
  options.keep_alive_timeout = *idle_timeout;
  options.max_connections = args.max_connections;

  // Signals are taken synchronously below, so block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto running = trigger::up(std::move(options));
  if (!running) {
    std::cerr << "error: " << running.error() << "\n";
    return 1;
  }
  int received = 0;
  sigwait(&signals, &received);
  return shut_down(std::move(running).value(), signals, *grace);
}

}  // namespace

void add_up_command(CLI::App& app) {
  auto args = std::make_shared<UpArgs>();
  auto* command =
      app.add_subcommand("up", "Start the Spin application in the current folder (or --from)");
  command
      ->add_option("-f,--from", args->from, "The application: a spin.toml, or a folder holding one")
      ->default_val("spin.toml");
  command->add_option("--listen", args->listen, "The address to listen on, ADDR:PORT")
      ->default_val("127.0.0.1:3000");
  command->add_option("-e,--env", args->env,
                      "NAME=VALUE passed to every component's environment (repeatable)");
  command->add_flag("-q,--quiet", args->quiet,
                    "Component output only to the log files, not the terminal");
  command->add_option("-L,--log-dir", args->log_dir,
                      "Where component logs go (default: logs/ in the state dir; \"\": none)");
  command->add_option(
      "--state-dir", args->state_dir,
      "Where the app keeps its state (default: .spin beside spin.toml; \"\": none)");
  auto* follow = command->add_option(
      "--follow", args->follow,
      "Print output to stdout/stderr only for this component (repeatable); default: all");
  command->get_option("--quiet")->excludes(follow);
  command->add_flag("--truncate-logs", args->truncate_logs,
                    "Empty the component log files before starting");
  command->add_option("--deadline", args->deadline,
                      "End a request whose component runs longer than this (1s, 500ms; a bare "
                      "number is milliseconds); the client gets a 500. Default: none, as Spin");
  command->add_option("--max-instance-memory", args->max_instance_memory,
                      "End a request whose component grows a linear memory past this size "
                      "(256MiB, 1GB); the client gets a 500. Default: the engine's 4 GiB");
  command
      ->add_option("--shutdown-timeout", args->shutdown_timeout,
                   "On SIGINT/SIGTERM, how long requests in flight may take to finish before "
                   "their guests are stopped")
      ->default_val("10s");
  command
      ->add_option("--header-read-timeout", args->header_read_timeout,
                   "How long a client may take to send a request head (0: no limit)")
      ->default_val("30s");
  command
      ->add_option("--keep-alive-timeout", args->keep_alive_timeout,
                   "How long an idle keep-alive connection stays open (0: no limit)")
      ->default_val("75s");
  command
      ->add_option("--max-connections", args->max_connections,
                   "Connections beyond this many are closed at once (0: no limit)")
      ->default_val(args->max_connections);
  // As Spin: both TLS files or neither, also from SPIN_TLS_CERT and SPIN_TLS_KEY.
  auto* cert = command
                   ->add_option("--tls-cert", args->tls_cert,
                                "The TLS certificate chain (PEM) to serve HTTPS with")
                   ->envname("SPIN_TLS_CERT");
  auto* key = command->add_option("--tls-key", args->tls_key, "The TLS private key (PEM)")
                  ->envname("SPIN_TLS_KEY");
  cert->needs(key);
  key->needs(cert);
  command->add_flag("--build", args->build, "Run `gyre build` first");
  command->add_option("--variable", args->variables,
                      "An application variable's value, NAME=VALUE or NAME=@FILE, or @FILE.json / "
                      "@FILE.toml with many (repeatable); wins over every provider");
  command->add_option("--sqlite", args->sqlite,
                      "Run a SQLite statement such as a migration against the default database "
                      "before serving; @FILE runs a file's statements (repeatable)");
  command->add_option("--key-value", args->key_values,
                      "KEY=VALUE set in the default key-value store before serving (repeatable)");
  command
      ->add_option("--runtime-config-file", args->runtime_config_file,
                   "Where the app's capabilities are backed (key-value stores, databases, "
                   "variable providers, LLMs): a TOML file as Spin's")
      ->envname("SPIN_RUNTIME_CONFIG_FILE");
  command->callback([args] {
    if (int status = up(*args); status != 0) throw CLI::RuntimeError(status);
  });
}

}  // namespace gyre::cli
