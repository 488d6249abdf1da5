#include "http/socket_address.hpp"

#include <charconv>
#include <cstdio>

namespace gyre::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

std::optional<tcp::endpoint> parse_listen_address(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  uint16_t port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.empty()) {
    return std::nullopt;
  }
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  error_code parse_error;
  if (bracketed) {
    const auto address = net::ip::make_address_v6(std::string(host), parse_error);
    if (parse_error) return std::nullopt;
    return tcp::endpoint(address, port);
  }
  const auto address = net::ip::make_address_v4(std::string(host), parse_error);
  if (parse_error) return std::nullopt;
  return tcp::endpoint(address, port);
}

std::string format_socket_address(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string port = std::to_string(endpoint.port());
  if (address.is_v4()) return address.to_v4().to_string() + ":" + port;

  // Rust's Ipv6Addr display: `::ffff:a.b.c.d` for IPv4-mapped addresses, else RFC 5952
  // (lower-case hex, the longest run of two or more zero groups, the first on a tie, as
  // `::`). glibc's inet_ntop differs for IPv4-compatible addresses, hence our own.
  const auto v6 = address.to_v6();
  const auto bytes = v6.to_bytes();
  uint16_t groups[8];
  for (int i = 0; i < 8; ++i)
    groups[i] = static_cast<uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
  std::string text;
  if (v6.is_v4_mapped()) {
    text = "::ffff:" + net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
  } else {
    int best_start = -1, best_len = 0;
    for (int i = 0; i < 8;) {
      if (groups[i] != 0) {
        ++i;
        continue;
      }
      int j = i;
      while (j < 8 && groups[j] == 0)
        ++j;
      if (j - i > best_len) best_start = i, best_len = j - i;
      i = j;
    }
    if (best_len < 2) best_start = -1;
    auto hex = [](uint16_t g) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%x", g);
      return std::string(buf);
    };
    for (int i = 0; i < 8; ++i) {
      if (i == best_start) {
        text += "::";
        i += best_len - 1;
        continue;
      }
      if (!text.empty() && text.back() != ':') text += ':';
      text += hex(groups[i]);
    }
  }
  std::string out = "[" + text;
  if (v6.scope_id() != 0) out += "%" + std::to_string(v6.scope_id());
  return out + "]:" + port;
}

}  // namespace gyre::http
