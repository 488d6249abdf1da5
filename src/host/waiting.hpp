// How a component instance's host calls wait: the Suspender of the fiber its guest runs
// on, if any. Set per instance (ComponentInstance::host_state<host::Waiting>) by whoever
// runs the guest; read by every host function that waits.
#pragma once

#include <string_view>

#include "base/suspender.hpp"
#include "component/host_imports.hpp"

namespace gyre::host {

struct Waiting {
  Suspender* suspender = nullptr;  // none: waiting holds the calling thread
};

// Makes every function of the interfaces whose name starts with `prefix` run through the
// instance's Suspender::offload when it has one: for host calls that block (their clients
// have no asynchronous interface here yet), so that they hold a worker thread and not the
// guest's event loop.
void offload_interfaces(component::HostImports& imports, std::string_view prefix);

}  // namespace gyre::host
