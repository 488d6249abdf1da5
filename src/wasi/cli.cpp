#include "wasi/cli.hpp"

#include "component/concurrency/concurrency.hpp"
#include "component/instance.hpp"
#include "host/define.hpp"
#include "wasi/io.hpp"
#include "wasi/versions.hpp"

namespace gyre::wasi {
namespace {

// The terminal resources carry nothing: no component runs on a terminal here.
struct TerminalInput {};
struct TerminalOutput {};

// The guests' stdout and stderr streams (0.3's write-via-stream), read into their sinks as
// the guests write them: owned by the instance, so their reads never outlive it.
constexpr uint32_t kStdioChunk = 16 * 1024;

struct StreamSinks {
  std::vector<std::unique_ptr<component::HostEnd>> ends;
};

// wasi:cli at one version. 0.3 differs in names (get-initial-cwd) and in how stdio moves:
// streams instead of wasi:io resources.
void add_version(component::HostImports& imports, const std::shared_ptr<const CliConfig>& shared,
                 const std::string& version) {
  using host::Context;
  using host::Own;
  const bool p3 = version.starts_with("0.3");
  const auto interface = [&](const char* name) {
    return "wasi:cli/" + std::string(name) + "@" + version;
  };

  host::define(imports, interface("environment"), "get-environment", [shared](Context&) {
    std::vector<std::tuple<std::string, std::string>> out;
    for (const auto& [k, v] : shared->environment)
      out.emplace_back(k, v);
    return out;
  });
  host::define(imports, interface("environment"), "get-arguments",
               [shared](Context&) { return shared->arguments; });
  host::define(imports, interface("environment"), p3 ? "get-initial-cwd" : "initial-cwd",
               [](Context&) { return std::optional<std::string>{}; });

  host::define(imports, interface("exit"), "exit",
               [](Context&, host::Result<host::Unit, host::Unit> status) -> host::Trapping<void> {
                 return std::string(kExitPrefix) + (status.is_ok() ? "ok" : "error");
               });

  if (p3) {
    // Spin gives a component no stdin: a stream that has ended, and a future of ok.
    imports.interface(interface("stdin")).functions["read-via-stream"] =
        [](component::HostCall&,
           std::span<const component::Val>) -> Result<std::optional<component::Val>, std::string> {
      using component::Val;
      return std::optional<Val>(Val::tuple({Val::stream({}), Val::future(Val::ok())}));
    };
    for (const char* which : {"stdout", "stderr"}) {
      auto sink = std::string(which) == "stdout" ? shared->stdout_sink : shared->stderr_sink;
      // write-via-stream(data) -> future<result<_, error-code>>: the future resolves to ok at
      // once, not when the stream ends.
      imports.interface(interface(which)).functions["write-via-stream"] =
          [sink](component::HostCall& call, std::span<const component::Val> args)
          -> Result<std::optional<component::Val>, std::string> {
        auto end = call.instance.concurrency().take(args[0]);
        if (!end) return std::string("write-via-stream: a stream the host does not hold");
        component::HostEnd& read =
            *call.instance.host_state<StreamSinks>().ends.emplace_back(std::move(end));
        read.read_all(
            kStdioChunk,
            [sink](std::string_view bytes) {
              if (sink) sink(bytes);
            },
            [] {});
        return std::optional<component::Val>(component::Val::future(component::Val::ok()));
      };
    }
  } else {
    host::define(imports, interface("stdin"), "get-stdin",
                 [](Context&) { return Own<InputStream>{std::make_unique<ClosedInputStream>()}; });
    host::define(imports, interface("stdout"), "get-stdout", [shared](Context&) {
      return Own<OutputStream>{std::make_unique<SinkOutputStream>(shared->stdout_sink)};
    });
    host::define(imports, interface("stderr"), "get-stderr", [shared](Context&) {
      return Own<OutputStream>{std::make_unique<SinkOutputStream>(shared->stderr_sink)};
    });
  }

  host::define_resource<TerminalInput>(imports, interface("terminal-input"), "terminal-input");
  host::define_resource<TerminalOutput>(imports, interface("terminal-output"), "terminal-output");
  host::define(imports, interface("terminal-stdin"), "get-terminal-stdin",
               [](Context&) { return std::optional<Own<TerminalInput>>{}; });
  for (const char* which : {"stdout", "stderr"}) {
    host::define(imports, interface((std::string("terminal-") + which).c_str()),
                 std::string("get-terminal-") + which,
                 [](Context&) { return std::optional<Own<TerminalOutput>>{}; });
  }
}

}  // namespace

void add_cli(component::HostImports& imports, CliConfig config) {
  auto shared = std::make_shared<const CliConfig>(std::move(config));
  add_version(imports, shared, "0.2.0");
  for (const char* version : kWasi3Versions)
    add_version(imports, shared, version);
}

}  // namespace gyre::wasi
