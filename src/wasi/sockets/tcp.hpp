// wasi:sockets 0.2 tcp and tcp-create-socket: TCP sockets as Wasmtime's WASI 0.2 host
// runs them (its start-/finish- state machine, error codes and option handling), on
// non-blocking OS sockets. A connection's input and output are wasi:io streams whose
// waits go through the guest's fiber; nothing here blocks a thread.
//
// Output that the OS does not take at once is kept and sent whenever the guest next
// touches the connection or waits on it (on any of its pollables), which stands for the
// background write Wasmtime runs; a blocking flush waits until it has gone.
#pragma once

#include <memory>

#include "component/host_imports.hpp"
#include "wasi/sockets/network.hpp"

namespace gyre::wasi::sockets {

// Adds wasi:sockets/tcp and wasi:sockets/tcp-create-socket 0.2.x.
void add_tcp(component::HostImports& imports);

}  // namespace gyre::wasi::sockets
