#include "trigger/http_app.hpp"

#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>

#include "app/files.hpp"
#include "app/manifest.hpp"
#include "app/outbound_hosts.hpp"
#include "app/variables.hpp"
#include "base/worker_pool.hpp"
#include "component/instance.hpp"
#include "http/handler.hpp"
#include "http/incoming.hpp"
#include "http/server.hpp"
#include "http/wasi_types.hpp"
#include "spin/factors.hpp"
#include "trigger/component_handler.hpp"
#include "trigger/outbound.hpp"
#include "wasi/wasi.hpp"

namespace gyre::trigger {
namespace {

// A component's stdout or stderr: the terminal (unless quiet) and its log file.
class OutputLog {
 public:
  OutputLog(const std::filesystem::path& file, bool terminal, FILE* stream)
      : terminal_(terminal), stream_(stream) {
    if (!file.empty()) file_.open(file, std::ios::app | std::ios::binary);
  }
  void write(std::string_view text) {
    std::lock_guard lock(mutex_);
    if (terminal_) {
      std::fwrite(text.data(), 1, text.size(), stream_);
      std::fflush(stream_);
    }
    if (file_) file_.write(text.data(), static_cast<std::streamsize>(text.size())).flush();
  }

 private:
  std::mutex mutex_;
  bool terminal_;
  FILE* stream_;
  std::ofstream file_;
};

class App final : public RunningApp {
 public:
  boost::asio::ip::tcp::endpoint endpoint() const override { return server->local_endpoint(); }
  void shutdown() override {
    if (!server) return;
    server->shutdown();
    server->wait_idle();
  }
  ~App() override { shutdown(); }

  // Destroyed bottom-up: the workers join (finishing their guests) while the server, the
  // handlers it owns, the imports, the logs and the engine they use still exist.
  std::unique_ptr<wasm::Engine> engine;
  std::unique_ptr<http::HttpClient> client;
  std::unique_ptr<OutboundRoutes> outbound;
  std::vector<std::unique_ptr<spin::Factor>> factors;
  std::vector<std::unique_ptr<component::HostImports>> imports;  // one per component
  std::vector<std::unique_ptr<OutputLog>> logs;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<WorkerPool> workers;
};

std::string bullet_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "  - " : "\n  - ") + item;
  return out;
}

// `--follow` may only name components of the app; Spin's message otherwise.
std::optional<std::string> check_follows(const app::Manifest& manifest,
                                         const std::vector<std::string>& follow) {
  std::vector<std::string> unknown, existing;
  for (const auto& id : follow) {
    if (!manifest.components.find(id)) unknown.push_back(id);
  }
  if (unknown.empty()) return std::nullopt;
  for (const auto& [id, component] : manifest.components)
    existing.push_back(id);
  return "The following component(s) specified in --follow do not exist in the application:\n" +
         bullet_list(unknown) + "\nThe following components exist:\n" + bullet_list(existing);
}

void truncate_logs(const std::filesystem::path& dir) {
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ignored)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with("_stdout.txt") || name.ends_with("_stderr.txt"))
      std::ofstream(entry.path(), std::ios::trunc);
  }
}

Result<std::vector<uint8_t>, std::string> read_source(const app::Manifest& manifest,
                                                      const std::filesystem::path& dir,
                                                      const std::string& id,
                                                      const app::Component& c) {
  if (std::holds_alternative<app::RemoteSource>(c.source) ||
      std::holds_alternative<app::RegistrySource>(c.source)) {
    return "component `" + id +
           "`: its source is remote, and this machine cannot download it; "
           "fetch the .wasm and give `source` as a local path";
  }
  const std::filesystem::path path = dir / std::get<app::LocalSource>(c.source).path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return manifest.file + ": component `" + id + "`: cannot read source " + path.string() +
           " (did you run `gyre build`?)";
  }
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

Result<std::unique_ptr<RunningApp>, std::string> up(UpOptions options) {
  auto print = options.print ? options.print : [](std::string_view) {};
  auto loaded = app::load_manifest(options.manifest);
  if (!loaded) return loaded.error().describe();
  const app::Manifest& manifest = *loaded;
  const std::filesystem::path dir = options.manifest.parent_path();

  app::Environment environment(options.process_environment.begin(),
                               options.process_environment.end());
  auto variables = app::resolve_variables(manifest, environment);
  if (!variables) return variables.error().describe();

  auto running = std::make_unique<App>();
  spin::RuntimeConfig runtime_config;
  if (!options.runtime_config_file.empty()) {
    auto loaded_config = spin::RuntimeConfig::load(options.runtime_config_file);
    if (!loaded_config) return loaded_config.error();
    runtime_config = std::move(loaded_config).value();
  }
  running->factors = spin::make_factors();
  spin::AppContext app_context{manifest, *variables, runtime_config, dir, options.state_dir, print};
  for (auto& factor : running->factors) {
    if (auto configured = factor->configure_app(app_context); !configured)
      return configured.error();
  }
  if (auto unused = runtime_config.unused_keys_error()) return *unused;
  wasm::EngineConfig engine_config;
  engine_config.cache_dir = options.compile_cache;
  auto engine = wasm::Engine::create(engine_config);
  if (!engine) return "cannot start the engine: " + engine.error().describe();
  running->engine = std::move(engine).value();
  const unsigned workers =
      options.workers ? options.workers : 2 * std::max(1u, std::thread::hardware_concurrency());
  running->workers = std::make_unique<WorkerPool>(workers);
  running->client = std::make_unique<http::HttpClient>();
  running->outbound = std::make_unique<OutboundRoutes>(*running->client);
  if (auto invalid = check_follows(manifest, options.follow)) return *invalid;
  if (!options.log_dir.empty()) {
    std::error_code failed;
    std::filesystem::create_directories(options.log_dir, failed);
    if (failed)
      return "Failed to create log dir \"" + options.log_dir.string() + "\": " + failed.message();
    if (options.truncate_logs) truncate_logs(options.log_dir);
  }

  // Each component referenced by an HTTP trigger, prepared once.
  std::map<std::string, std::shared_ptr<http::Handler>, std::less<>> handlers;
  std::vector<http::RouteEntry> entries;
  std::vector<http::RoutingHandler::Target> targets;
  for (const app::HttpTrigger& trigger : manifest.http_triggers) {
    const std::string target = trigger.static_response ? trigger.id : *trigger.component;
    entries.push_back(http::RouteEntry{
        target, trigger.route.is_private ? http::RouteConfig::private_route()
                                         : http::RouteConfig::route(trigger.route.pattern)});
    if (handlers.count(target)) continue;
    if (trigger.static_response) {
      http::Headers headers;
      for (const auto& [k, v] : trigger.static_response->headers)
        headers.push_back({k, v});
      handlers[target] = std::make_shared<http::StaticHandler>(
          trigger.static_response->status_code, std::move(headers), trigger.static_response->body);
      targets.push_back({target, handlers[target]});
      continue;
    }
    if (trigger.executor.type != app::HttpExecutor::Type::kSpin) {
      return manifest.file + ": trigger `" + trigger.id + "`: the " +
             (trigger.executor.type == app::HttpExecutor::Type::kWagi ? "wagi"
                                                                      : "wasip3-unstable") +
             " executor is not supported yet";
    }
    const app::Component& component = *manifest.components.find(target);
    auto bytes = read_source(manifest, dir, target, component);
    if (!bytes) return std::move(bytes).error();

    auto imports = std::make_unique<component::HostImports>();
    wasi::CliConfig cli;
    for (const auto& [k, v] : component.environment)
      cli.environment.emplace_back(k, v);
    for (const auto& kv : options.env)
      cli.environment.push_back(kv);
    auto log_file = [&](const char* stream) {
      return options.log_dir.empty() ? std::filesystem::path()
                                     : options.log_dir / (target + "_" + stream + ".txt");
    };
    const bool follow = !options.quiet && (options.follow.empty() ||
                                           std::find(options.follow.begin(), options.follow.end(),
                                                     target) != options.follow.end());
    running->logs.push_back(std::make_unique<OutputLog>(log_file("stdout"), follow, stdout));
    OutputLog* out = running->logs.back().get();
    running->logs.push_back(std::make_unique<OutputLog>(log_file("stderr"), follow, stderr));
    OutputLog* err = running->logs.back().get();
    cli.stdout_sink = [out](std::string_view s) { out->write(s); };
    cli.stderr_sink = [err](std::string_view s) { err->write(s); };
    auto files = app::resolve_files(manifest, target, dir.empty() ? "." : dir);
    if (!files) return files.error().describe();
    for (const auto& warning : files->warnings)
      print("Warning: " + warning + "\n");
    std::vector<wasi::MountedFile> mounts;
    for (auto& f : files->files)
      mounts.push_back({std::move(f.guest_path), std::move(f.host_path), std::move(f.confine_to)});
    wasi::add_wasi(*imports, std::move(cli), std::make_shared<wasi::SystemClock>(),
                   std::move(mounts));
    http::add_wasi_http_types(*imports);
    auto parsed_hosts = app::AllowedHosts::parse(manifest, target, variables->application);
    if (!parsed_hosts && parsed_hosts.error().rejects_app) {
      return manifest.file + ": component `" + target + "`: " + parsed_hosts.error().describe();
    }
    app::AllowedHosts allowed;  // as Spin: a list only found wrong at run time denies all
    if (!parsed_hosts) {
      print("Error: component `" + target + "`: " + parsed_hosts.error().describe() + "\n");
    } else {
      allowed = std::move(parsed_hosts).value();
      if (!allowed.deprecation_warning().empty())
        print("Warning: " + allowed.deprecation_warning() + "\n");
    }
    http::add_wasi_http_outgoing(*imports, running->outbound->sender(target, allowed, print));
    const spin::ComponentContext component_context{target, component, allowed, print};
    for (auto& factor : running->factors) {
      if (auto added = factor->add_component(*imports, component_context); !added)
        return manifest.file + ": component `" + target + "`: " + added.error();
    }

    component::LinkOptions link;
    link.trap_on_missing_imports = true;
    auto pre =
        component::ComponentPre::create(*running->engine, std::move(bytes).value(), *imports, link);
    if (!pre) return manifest.file + ": component `" + target + "`: " + pre.error();
    auto handler = http::IncomingHandler::create(std::move(pre).value());
    if (!handler) return manifest.file + ": component `" + target + "`: " + handler.error();
    handlers[target] = std::make_shared<ComponentHandler>(
        target, std::move(handler).value(), *running->engine, *running->workers, print,
        options.deadline ? std::optional<std::chrono::nanoseconds>(*options.deadline)
                         : std::nullopt);
    targets.push_back({target, handlers[target]});
    running->outbound->add_chaining_target(target, handlers[target]);
    running->imports.push_back(std::move(imports));
  }

  std::vector<http::DuplicateRoute> duplicates;
  auto router = http::Router::build(manifest.application.http_base, entries, &duplicates);
  if (!router) return manifest.file + ": " + router.error().message;
  for (const auto& d : duplicates) {
    print("Warning: route " + d.route + " is defined twice; " + d.effective_target +
          " serves it, not " + d.replaced_target + "\n");
  }
  const auto listing = router->routes();

  http::ServerConfig server;
  server.listen = options.listen;
  server.tls = options.tls;
  server.threads = options.network_threads;
  server.log = print;
  auto routing =
      std::make_shared<http::RoutingHandler>(std::move(router).value(), std::move(targets), "{}");
  auto started = http::Server::start(server, routing);
  if (!started) return "cannot listen on " + options.listen + ": " + started.error().message;
  running->server = std::move(started).value();

  const std::string authority = http::format_socket_address(running->server->local_endpoint());
  const std::string scheme = options.tls ? "https" : "http";
  running->outbound->set_origin(scheme, authority);
  const std::string base = scheme + "://" + authority;
  print("Serving " + base + "\nAvailable Routes:\n");
  for (const auto& route : listing)
    print("  " + route.target + ": " + base + route.display + "\n");
  return std::unique_ptr<RunningApp>(std::move(running));
}

}  // namespace gyre::trigger
