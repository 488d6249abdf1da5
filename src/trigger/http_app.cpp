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
#include "component/core_tables.hpp"
#include "component/instance.hpp"
#include "host/waiting.hpp"
#include "http/handler.hpp"
#include "http/incoming.hpp"
#include "http/outbound_p3.hpp"
#include "http/server.hpp"
#include "http/wagi.hpp"
#include "http/wasi_types.hpp"
#include "http/wasi_types_p3.hpp"
#include "spin/factors.hpp"
#include "spin/variables/providers.hpp"
#include "trigger/component_handler.hpp"
#include "trigger/outbound.hpp"
#include "trigger/socket_policy.hpp"
#include "wasi/wasi.hpp"

namespace gyre::trigger {
namespace {

// Instance slots each lane's engine has at least (EngineConfig::pool_instances).
constexpr uint32_t kMinPoolPerLane = 128;
// Slots of the whole process, shared out among the lanes' engines. A guest that waits
// holds its slots while it waits, so these bound the requests in flight: a JS SDK guest
// takes about five core instances, two memories and one fiber stack. Memories reserve
// the most address space (pool_max_memory_bytes each), so there are fewer of them.
constexpr uint32_t kPoolInstances = 10000;
constexpr uint32_t kPoolMemories = 4000;
constexpr uint32_t kPoolStacks = 4000;

// Whether the host calls of a Spin capability interface block in their client, and so run
// on the worker threads while the guest's fiber waits: only SQLite's, whose database is a
// local file (its calls block on the disk and on other processes' locks, never on the
// network). Every other capability's client waits on its sockets through the guest's fiber
// (base/socket_wait.hpp): Redis, PostgreSQL, MySQL, MQTT, and the LLM and Vault over HTTP
// (spin/curl_transfer.hpp). The key-value interfaces serve SQLite and Redis stores alike,
// so there each store decides (spin/key_value/store.hpp): the SQLite store offloads its
// own calls.
bool client_blocks(std::string_view interface) {
  return interface.starts_with("fermyon:spin/sqlite") || interface.starts_with("spin:sqlite/");
}

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
  void stop_accepting() override {
    if (server) server->shutdown();
  }
  bool wait_idle(std::chrono::milliseconds timeout) override {
    return !server || server->wait_idle(timeout);
  }
  void cancel_requests() override {
    if (server) server->close_all();
  }
  void shutdown() override {
    if (!server) return;
    server->shutdown();
    server->wait_idle();
  }
  ~App() override { shutdown(); }

  // Destroyed bottom-up: the workers join (finishing their guests) while the server, the
  // handlers it owns, the imports, the logs and the engines they use still exist.
  std::vector<std::unique_ptr<wasm::Engine>> engines;  // one per server lane
  std::vector<std::unique_ptr<LaneGate>> gates;        // one per server lane
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

// The source of each component an HTTP trigger runs, read once before the engine exists
// (whose table settings depend on them); loading takes each from here, and a failed read
// is reported then.
using Sources = std::map<std::string, Result<std::vector<uint8_t>, std::string>, std::less<>>;

Sources read_sources(const app::Manifest& manifest, const std::filesystem::path& dir) {
  Sources out;
  for (const app::HttpTrigger& trigger : manifest.http_triggers) {
    if (!trigger.component || out.count(*trigger.component)) continue;
    const std::string& id = *trigger.component;
    out.emplace(id, read_source(manifest, dir, id, *manifest.components.find(id)));
  }
  return out;
}

// Whether every table of every component starts within one page (funcref elements are
// 8 bytes), so the engine can zero tables without asking the kernel about their pages. A
// source that cannot be read or parsed says no.
bool tables_fit_one_page(const Sources& sources) {
  for (const auto& [id, bytes] : sources) {
    auto largest = bytes.ok() ? component::largest_table(bytes.value()) : std::nullopt;
    if (!largest || *largest * 8 > 4096) return false;
  }
  return true;
}

// Prepares each component an HTTP trigger names: its logs, files, imports and handler.
struct Loader {
  const UpOptions& options;
  const app::Manifest& manifest;
  const std::filesystem::path& dir;
  const app::ResolvedVariables& variables;
  App& running;
  const std::function<void(std::string_view)>& print;
  Sources& sources;

  Result<std::vector<uint8_t>, std::string> take_source(const std::string& id) {
    return std::move(sources.find(id)->second);
  }

  // The component's stdout and stderr logs.
  std::pair<OutputLog*, OutputLog*> logs(const std::string& id) {
    auto file = [&](const char* stream) {
      return options.log_dir.empty() ? std::filesystem::path()
                                     : options.log_dir / (id + "_" + stream + ".txt");
    };
    const bool follow = !options.quiet && (options.follow.empty() ||
                                           std::find(options.follow.begin(), options.follow.end(),
                                                     id) != options.follow.end());
    running.logs.push_back(std::make_unique<OutputLog>(file("stdout"), follow, stdout));
    OutputLog* out = running.logs.back().get();
    running.logs.push_back(std::make_unique<OutputLog>(file("stderr"), follow, stderr));
    return {out, running.logs.back().get()};
  }

  Result<std::vector<wasi::MountedFile>, std::string> mounts(const std::string& id) {
    auto files = app::resolve_files(manifest, id, dir.empty() ? "." : dir);
    if (!files) return files.error().describe();
    for (const auto& warning : files->warnings)
      print("Warning: " + warning + "\n");
    std::vector<wasi::MountedFile> out;
    for (auto& f : files->files)
      out.push_back({std::move(f.guest_path), std::move(f.host_path), std::move(f.confine_to)});
    return out;
  }

  std::vector<std::pair<std::string, std::string>> environment(const app::Component& component) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [k, v] : component.environment)
      out.emplace_back(k, v);
    out.insert(out.end(), options.env.begin(), options.env.end());
    return out;
  }

  std::optional<std::chrono::nanoseconds> deadline() const {
    if (!options.deadline) return std::nullopt;
    return std::chrono::nanoseconds(*options.deadline);
  }

  // A wasi:http component run by the default (`spin`) executor.
  Result<std::shared_ptr<http::Handler>, std::string> component_handler(const std::string& id) {
    const app::Component& component = *manifest.components.find(id);
    auto bytes = take_source(id);
    if (!bytes) return std::move(bytes).error();
    auto files = mounts(id);
    if (!files) return std::move(files).error();

    auto imports = std::make_unique<component::HostImports>();
    wasi::CliConfig cli;
    cli.environment = environment(component);
    auto [out, err] = logs(id);
    cli.stdout_sink = [out](std::string_view s) { out->write(s); };
    cli.stderr_sink = [err](std::string_view s) { err->write(s); };
    auto parsed_hosts = app::AllowedHosts::parse(manifest, id, variables.application);
    if (!parsed_hosts && parsed_hosts.error().rejects_app) {
      return manifest.file + ": component `" + id + "`: " + parsed_hosts.error().describe();
    }
    app::AllowedHosts allowed;  // as Spin: a list only found wrong at run time denies all
    if (!parsed_hosts) {
      print("Error: component `" + id + "`: " + parsed_hosts.error().describe() + "\n");
    } else {
      allowed = std::move(parsed_hosts).value();
      if (!allowed.deprecation_warning().empty())
        print("Warning: " + allowed.deprecation_warning() + "\n");
    }
    wasi::add_wasi(*imports, std::move(cli), std::make_shared<wasi::SystemClock>(),
                   std::move(files).value(), spin_sockets_config(allowed, print));
    http::add_wasi_http_types(*imports);
    http::add_wasi_http_types_p3(*imports);
    const http::OutboundSend send = running.outbound->sender(id, allowed, print);
    http::add_wasi_http_outgoing(*imports, send);
    http::add_wasi_http_client_p3(*imports, send);
    const spin::ComponentContext context{id, component, allowed, print};
    for (auto& factor : running.factors) {
      if (auto added = factor->add_component(*imports, context); !added)
        return manifest.file + ": component `" + id + "`: " + added.error();
    }

    host::offload_interfaces(*imports, client_blocks);
    // Strict, as Spin and Wasmtime link: an import the host lacks fails the start-up,
    // before anything listens, naming every one.
    const component::LinkOptions link;
    std::vector<ComponentHandler::Prepared> prepared;
    for (size_t lane = 0; lane < running.engines.size(); ++lane) {
      const auto& engine = running.engines[lane];
      // Each lane's engine links the same bytes (the compiled code comes from the compile
      // cache after the first); none keeps them.
      auto pre = component::ComponentPre::create(*engine, *bytes, *imports, link);
      if (!pre) return manifest.file + ": component `" + id + "`: " + pre.error();
      auto handler = http::IncomingHandler::create(std::move(pre).value());
      if (!handler) return manifest.file + ": component `" + id + "`: " + handler.error();
      prepared.push_back({engine.get(), std::move(handler).value(), running.gates[lane].get()});
    }
    running.imports.push_back(std::move(imports));
    return std::shared_ptr<http::Handler>(
        std::make_shared<ComponentHandler>(id, std::move(prepared), *running.workers, options.log,
                                           deadline(), options.max_instance_memory));
  }

  // A WASI command module spoken to over CGI (`executor = { type = "wagi" }`).
  Result<std::shared_ptr<http::Handler>, std::string> wagi_handler(
      const std::string& id, const app::HttpExecutor& executor) {
    const app::Component& component = *manifest.components.find(id);
    auto bytes = take_source(id);
    if (!bytes) return std::move(bytes).error();
    auto files = mounts(id);
    if (!files) return std::move(files).error();
    http::WagiOptions wagi;
    wagi.argv = executor.argv;
    wagi.entrypoint = executor.entrypoint;
    wagi.environment = environment(component);
    wagi.files = std::move(files).value();
    // Its stdout is the response; only stderr goes to the log.
    OutputLog* err = logs(id).second;
    wagi.stderr_sink = [err](std::string_view s) { err->write(s); };
    wagi.deadline = deadline();
    auto module = http::WagiModule::create(*running.engines.front(), id, *bytes, std::move(wagi));
    if (!module) return manifest.file + ": component `" + id + "`: " + module.error().message;
    return std::shared_ptr<http::Handler>(std::make_shared<http::WagiHandler>(
        id, std::move(module).value(), *running.workers, options.log));
  }
};

}  // namespace

Result<std::unique_ptr<RunningApp>, std::string> up(UpOptions options) {
  auto print = options.print ? options.print : [](std::string_view) {};
  auto loaded = app::load_manifest(options.manifest);
  if (!loaded) return loaded.error().describe();
  const app::Manifest& manifest = *loaded;
  const std::filesystem::path dir = options.manifest.parent_path();

  auto running = std::make_unique<App>();
  spin::RuntimeConfig runtime_config;
  if (!options.runtime_config_file.empty()) {
    auto loaded_config = spin::RuntimeConfig::load(options.runtime_config_file);
    if (!loaded_config) return loaded_config.error();
    runtime_config = std::move(loaded_config).value();
  }
  app::Environment environment(options.process_environment.begin(),
                               options.process_environment.end());
  auto flags = spin::variables::read_variable_flags(options.variable_flags);
  if (!flags) return flags.error();
  auto variables = spin::variables::resolve_variables(manifest, runtime_config, environment, print,
                                                      std::move(flags).value());
  if (!variables) return variables.error();
  running->factors = spin::make_factors({options.key_values, options.sqlite_statements});
  spin::AppContext app_context{manifest, *variables, runtime_config, dir, options.state_dir, print};
  for (auto& factor : running->factors) {
    if (auto configured = factor->configure_app(app_context); !configured)
      return configured.error();
  }
  if (auto unused = runtime_config.unused_keys_error()) return *unused;
  wasm::EngineConfig engine_config;
  engine_config.cache_dir = options.compile_cache;
  Sources sources = read_sources(manifest, dir);
  if (tables_fit_one_page(sources)) engine_config.pool_table_keep_resident_bytes = 4096;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const unsigned lanes = options.network_threads ? options.network_threads : cores;
  // The instance slots are shared out among the engines, so that the address space they
  // reserve does not grow with the number of cores.
  engine_config.pool_instances = std::max(kMinPoolPerLane, kPoolInstances / lanes);
  engine_config.pool_memories = std::max(kMinPoolPerLane, kPoolMemories / lanes);
  engine_config.pool_stacks = std::max(kMinPoolPerLane, kPoolStacks / lanes);
  for (unsigned i = 0; i < lanes; ++i) {
    auto engine = wasm::Engine::create(engine_config);
    if (!engine) return "cannot start the engine: " + engine.error().describe();
    running->engines.push_back(std::move(engine).value());
    running->gates.push_back(std::make_unique<LaneGate>(LaneGate::kLimit));
  }
  const unsigned workers = options.workers ? options.workers : 2 * cores;
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

  Loader loader{options, manifest, dir, *variables, *running, print, sources};
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
    if (trigger.executor.type == app::HttpExecutor::Type::kWasip3Unstable) {
      // Spin 3.5's opt-in; the handler is found by the component's export either way.
      print("Warning: trigger `" + trigger.id +
            "`: the wasip3-unstable executor is experimental (WASI 0.3 handlers)\n");
    }
    auto handler = trigger.executor.type == app::HttpExecutor::Type::kWagi
                       ? loader.wagi_handler(target, trigger.executor)
                       : loader.component_handler(target);
    if (!handler) return std::move(handler).error();
    handlers[target] = std::move(handler).value();
    targets.push_back({target, handlers[target]});
    running->outbound->add_chaining_target(target, handlers[target]);
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
  server.threads = lanes;
  server.log = options.log;
  server.header_read_timeout = options.header_read_timeout;
  server.keep_alive_timeout = options.keep_alive_timeout;
  server.max_connections = options.max_connections;
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
