// All of WASI 0.2 that Gyre serves, registered at once: what a component gets.
#pragma once

#include <memory>
#include <vector>

#include "component/host_imports.hpp"
#include "wasi/cli.hpp"
#include "wasi/clocks.hpp"
#include "wasi/filesystem.hpp"
#include "wasi/sockets/network.hpp"

namespace gyre::wasi {

// `files` are the component's mounted files (wasi:filesystem); none means no preopens.
// `sockets` says what wasi:sockets may do; by default, nothing.
void add_wasi(component::HostImports& imports, CliConfig cli,
              std::shared_ptr<const Clock> clock = std::make_shared<SystemClock>(),
              std::vector<MountedFile> files = {}, sockets::SocketsConfig sockets = {});

}  // namespace gyre::wasi
