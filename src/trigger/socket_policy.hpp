// What a component's wasi:sockets may do under `gyre up`, decided as Spin 3.6 decides it
// (factor-outbound-networking's socket address check, factor-wasi's WASI context):
// - TCP bind is always denied (and so listen, which needs a bound socket); a TCP connect
//   is allowed by a `tcp://` (or `*://`) entry of allowed_outbound_hosts naming the
//   address and port.
// - UDP bind, connect (`stream` with a remote address) and sending to an address are
//   allowed by a `udp://` (or `*://`) entry naming that address and port: the local
//   address for a bind (`udp://0.0.0.0:0` allows binding any interface, any port).
// - a denied address fails with access-denied and logs Spin's warning naming the entry
//   that would allow it.
// - ip-name-lookup resolves nothing (permanent-resolver-failure): Spin leaves Wasmtime's
//   name lookups disabled.
#pragma once

#include <functional>
#include <string_view>

#include "app/outbound_hosts.hpp"
#include "wasi/sockets/network.hpp"

namespace gyre::trigger {

wasi::sockets::SocketsConfig spin_sockets_config(app::AllowedHosts allowed,
                                                 std::function<void(std::string_view)> log);

}  // namespace gyre::trigger
