// Socket addresses as text, both ways: what `--listen` takes, and what Spin shows a
// component of its client.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace gyre::http {

// Parses `host:port` with a numeric IPv4 or bracketed IPv6 host.
std::optional<boost::asio::ip::tcp::endpoint> parse_listen_address(std::string_view text);

// Rust's SocketAddr display (`1.2.3.4:80`, `[::1]:80`, `[fe80::1%2]:80`): what Spin puts
// in `spin-client-addr`.
std::string format_socket_address(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace gyre::http
