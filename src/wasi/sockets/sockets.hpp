// All of wasi:sockets 0.2 that Gyre serves (network, instance-network, tcp,
// tcp-create-socket, udp, udp-create-socket, ip-name-lookup), registered at once for a
// component with what its sockets may do.
#pragma once

#include "component/host_imports.hpp"
#include "wasi/sockets/network.hpp"

namespace gyre::wasi::sockets {

// Adds the seven wasi:sockets 0.2.x interfaces; `config` decides which addresses the
// component may bind, connect and send to, and whether names resolve.
void add_sockets(component::HostImports& imports, SocketsConfig config);

}  // namespace gyre::wasi::sockets
