#include "trigger/socket_policy.hpp"

#include <memory>

namespace gyre::trigger {

wasi::sockets::SocketsConfig spin_sockets_config(app::AllowedHosts allowed,
                                                 std::function<void(std::string_view)> log) {
  using wasi::sockets::AddressUse;
  auto hosts = std::make_shared<const app::AllowedHosts>(std::move(allowed));
  wasi::sockets::SocketsConfig config;
  config.check = [hosts, log = std::move(log)](const wasi::sockets::OsAddress& address,
                                               AddressUse use) {
    if (use == AddressUse::kTcpBind) return false;
    const char* scheme = use == AddressUse::kTcpConnect ? "tcp" : "udp";
    // Spin checks the address as Rust prints it ("127.0.0.1:80", "[::1]:80"), read as a
    // URL of the socket's scheme.
    auto url = app::parse_outbound_url(address.to_string(), scheme);
    if (!url) return false;
    if (hosts->allows(*url)) return true;
    if (log) log(app::denied_message(*url));
    return false;
  };
  config.allow_ip_name_lookup = false;
  return config;
}

}  // namespace gyre::trigger
