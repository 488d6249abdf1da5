#include "wasi/cli.hpp"

#include "host/define.hpp"
#include "wasi/io.hpp"

namespace gyre::wasi {
namespace {

// The terminal resources carry nothing: no component runs on a terminal here.
struct TerminalInput {};
struct TerminalOutput {};

}  // namespace

void add_cli(component::HostImports& imports, CliConfig config) {
  using host::Context;
  using host::Own;
  auto shared = std::make_shared<const CliConfig>(std::move(config));

  host::define(imports, "wasi:cli/environment@0.2.0", "get-environment", [shared](Context&) {
    std::vector<std::tuple<std::string, std::string>> out;
    for (const auto& [k, v] : shared->environment)
      out.emplace_back(k, v);
    return out;
  });
  host::define(imports, "wasi:cli/environment@0.2.0", "get-arguments",
               [shared](Context&) { return shared->arguments; });
  host::define(imports, "wasi:cli/environment@0.2.0", "initial-cwd",
               [](Context&) { return std::optional<std::string>{}; });

  host::define(imports, "wasi:cli/exit@0.2.0", "exit",
               [](Context&, host::Result<host::Unit, host::Unit> status) -> host::Trapping<void> {
                 return std::string(kExitPrefix) + (status.is_ok() ? "ok" : "error");
               });

  host::define(imports, "wasi:cli/stdin@0.2.0", "get-stdin",
               [](Context&) { return Own<InputStream>{std::make_unique<ClosedInputStream>()}; });
  host::define(imports, "wasi:cli/stdout@0.2.0", "get-stdout", [shared](Context&) {
    return Own<OutputStream>{std::make_unique<SinkOutputStream>(shared->stdout_sink)};
  });
  host::define(imports, "wasi:cli/stderr@0.2.0", "get-stderr", [shared](Context&) {
    return Own<OutputStream>{std::make_unique<SinkOutputStream>(shared->stderr_sink)};
  });

  host::define_resource<TerminalInput>(imports, "wasi:cli/terminal-input@0.2.0", "terminal-input");
  host::define_resource<TerminalOutput>(imports, "wasi:cli/terminal-output@0.2.0",
                                        "terminal-output");
  host::define(imports, "wasi:cli/terminal-stdin@0.2.0", "get-terminal-stdin",
               [](Context&) { return std::optional<Own<TerminalInput>>{}; });
  for (const char* which : {"stdout", "stderr"}) {
    host::define(imports, std::string("wasi:cli/terminal-") + which + "@0.2.0",
                 std::string("get-terminal-") + which,
                 [](Context&) { return std::optional<Own<TerminalOutput>>{}; });
  }
}

}  // namespace gyre::wasi
