// All of WASI 0.2 that Gyre serves, registered at once: what a component gets.
#pragma once

#include <memory>

#include "component/host_imports.hpp"
#include "wasi/cli.hpp"
#include "wasi/clocks.hpp"

namespace gyre::wasi {

void add_wasi(component::HostImports& imports, CliConfig cli,
              std::shared_ptr<const Clock> clock = std::make_shared<SystemClock>());

}  // namespace gyre::wasi
