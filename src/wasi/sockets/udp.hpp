// wasi:sockets 0.2 udp and udp-create-socket: UDP sockets as Wasmtime's WASI 0.2 host
// runs them (bind, then `stream` with or without a remote address; datagrams through an
// incoming and an outgoing datagram stream, the latter paced by check-send), on
// non-blocking OS sockets whose waits go through the guest's fiber.
#pragma once

#include "component/host_imports.hpp"
#include "wasi/sockets/network.hpp"

namespace gyre::wasi::sockets {

// Adds wasi:sockets/udp and wasi:sockets/udp-create-socket 0.2.x.
void add_udp(component::HostImports& imports);

}  // namespace gyre::wasi::sockets
