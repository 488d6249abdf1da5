// wasi:cli 0.2 and 0.3 (every version of wasi/versions.hpp) — environment, exit,
// stdin/stdout/stderr (0.3: as streams), terminal-*. What a component
// sees of its process is exactly what its configuration grants: its `environment`, no
// arguments, an empty stdin, and stdout/stderr into the embedder's sinks (the log).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "component/host_imports.hpp"

namespace gyre::wasi {

struct CliConfig {
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<std::string> arguments;
  std::function<void(std::string_view)> stdout_sink;
  std::function<void(std::string_view)> stderr_sink;
};

// The trap message of wasi:cli/exit, so an embedder can tell a guest that exited from
// one that crashed: "exit: ok" or "exit: error".
constexpr std::string_view kExitPrefix = "wasi:cli/exit: ";

void add_cli(component::HostImports& imports, CliConfig config);

}  // namespace gyre::wasi
