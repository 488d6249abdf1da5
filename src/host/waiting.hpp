// How a component instance's host calls wait: the Suspender of the fiber its guest runs
// on, if any, which whoever runs the guest gives its Scheduler
// (component/concurrency/scheduler.hpp); every host function that waits asks it there.
#pragma once

#include <functional>
#include <string_view>

#include "base/suspender.hpp"
#include "component/host_imports.hpp"

namespace gyre::component {
class ComponentInstance;
}

namespace gyre::host {

// The Suspender of the fiber `instance`'s guest runs on, or null when it runs on none: what
// a host function hands to wait_socket() (base/socket_wait.hpp) and the clients that use it.
Suspender* suspender_of(component::ComponentInstance& instance);

// Makes every function of the interfaces `blocks` picks (by name) run through the
// instance's Suspender::offload when it has one: for host calls that block (their clients
// have no asynchronous interface here yet), so that they hold a worker thread and not the
// guest's event loop.
void offload_interfaces(component::HostImports& imports,
                        const std::function<bool(std::string_view interface)>& blocks);

}  // namespace gyre::host
