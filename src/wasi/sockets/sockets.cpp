#include "wasi/sockets/sockets.hpp"

#include "wasi/sockets/name_lookup.hpp"
#include "wasi/sockets/tcp.hpp"
#include "wasi/sockets/udp.hpp"

namespace gyre::wasi::sockets {

void add_sockets(component::HostImports& imports, SocketsConfig config) {
  add_network(imports, std::make_shared<const SocketsConfig>(std::move(config)));
  add_tcp(imports);
  add_udp(imports);
  add_ip_name_lookup(imports);
}

}  // namespace gyre::wasi::sockets
