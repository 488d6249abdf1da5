// wasi:sockets 0.2 ip-name-lookup: resolve-addresses and the stream of addresses it
// gives, as Wasmtime answers them (an IP literal is its own answer, a name is resolved
// with getaddrinfo, IPv4-mapped answers are given as IPv4). getaddrinfo blocks, so it
// runs through the guest's Suspender::offload, on the worker pool: the guest waits on
// its fiber and its lane serves others meanwhile.
#pragma once

#include <memory>

#include "component/host_imports.hpp"
#include "wasi/sockets/network.hpp"

namespace gyre::wasi::sockets {

// Adds wasi:sockets/ip-name-lookup 0.2.x. Whether names resolve is the network's
// SocketsConfig::allow_ip_name_lookup.
void add_ip_name_lookup(component::HostImports& imports);

}  // namespace gyre::wasi::sockets
