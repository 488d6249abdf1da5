#include "wasi/sockets/network.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "base/socket_wait.hpp"

namespace gyre::wasi::sockets {
namespace {

using host::Unit;

constexpr const char* kNetwork = "wasi:sockets/network@0.2.0";
constexpr const char* kInstanceNetwork = "wasi:sockets/instance-network@0.2.0";

std::array<uint16_t, 8> segments(const in6_addr& a) {
  std::array<uint16_t, 8> out{};
  for (size_t i = 0; i < 8; ++i)
    out[i] = static_cast<uint16_t>((a.s6_addr[2 * i] << 8) | a.s6_addr[2 * i + 1]);
  return out;
}

const sockaddr_in6* v6(const OsAddress& a) {
  return reinterpret_cast<const sockaddr_in6*>(&a.storage);
}
const sockaddr_in* v4(const OsAddress& a) {
  return reinterpret_cast<const sockaddr_in*>(&a.storage);
}

// IPv4 address of an IPv4-mapped IPv6 one (::ffff:a.b.c.d), as Rust's to_canonical.
std::optional<in_addr> mapped_v4(const in6_addr& a) {
  if (!IN6_IS_ADDR_V4MAPPED(&a)) return std::nullopt;
  in_addr out{};
  std::memcpy(&out, a.s6_addr + 12, 4);
  return out;
}

}  // namespace

ErrorCode error_from_errno(int error) {
  switch (error) {
    case EWOULDBLOCK:
    case EINTR:
      return ErrorCode::kWouldBlock;
    case EPERM:
    case EACCES:
      return ErrorCode::kAccessDenied;
    case EADDRINUSE:
      return ErrorCode::kAddressInUse;
    case EADDRNOTAVAIL:
      return ErrorCode::kAddressNotBindable;
    case EALREADY:
      return ErrorCode::kConcurrencyConflict;
    case ETIMEDOUT:
      return ErrorCode::kTimeout;
    case ECONNREFUSED:
      return ErrorCode::kConnectionRefused;
    case ECONNRESET:
      return ErrorCode::kConnectionReset;
    case ECONNABORTED:
      return ErrorCode::kConnectionAborted;
    case EINVAL:
      return ErrorCode::kInvalidArgument;
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case ENETUNREACH:
    case ENONET:
      return ErrorCode::kRemoteUnreachable;
    case EISCONN:
    case ENOTCONN:
    case EDESTADDRREQ:
      return ErrorCode::kInvalidState;
    case ENFILE:
    case EMFILE:
      return ErrorCode::kNewSocketLimit;
    case EMSGSIZE:
      return ErrorCode::kDatagramTooLarge;
    case ENOMEM:
    case ENOBUFS:
      return ErrorCode::kOutOfMemory;
    case EOPNOTSUPP:
    case ENOPROTOOPT:
    case EPFNOSUPPORT:
    case EPROTONOSUPPORT:
    case EPROTOTYPE:
    case ESOCKTNOSUPPORT:
    case EAFNOSUPPORT:
      return ErrorCode::kNotSupported;
    default:
      return ErrorCode::kUnknown;
  }
}

OsAddress OsAddress::from(const IpSocketAddress& address) {
  OsAddress out;
  if (const auto* a = std::get_if<Ipv4SocketAddress>(&address.value)) {
    auto* s = reinterpret_cast<sockaddr_in*>(&out.storage);
    s->sin_family = AF_INET;
    s->sin_port = htons(a->port);
    const auto [b0, b1, b2, b3] = a->address;
    const uint8_t bytes[4] = {b0, b1, b2, b3};
    std::memcpy(&s->sin_addr, bytes, 4);
    out.length = sizeof(sockaddr_in);
  } else {
    const auto& b = std::get<Ipv6SocketAddress>(address.value);
    auto* s = reinterpret_cast<sockaddr_in6*>(&out.storage);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(b.port);
    s->sin6_flowinfo = htonl(b.flow_info);
    s->sin6_scope_id = b.scope_id;
    const auto words = std::apply(
        [](auto... w) { return std::array<uint16_t, 8>{static_cast<uint16_t>(w)...}; }, b.address);
    for (size_t i = 0; i < 8; ++i) {
      s->sin6_addr.s6_addr[2 * i] = static_cast<uint8_t>(words[i] >> 8);
      s->sin6_addr.s6_addr[2 * i + 1] = static_cast<uint8_t>(words[i] & 0xff);
    }
    out.length = sizeof(sockaddr_in6);
  }
  return out;
}

OsAddress OsAddress::unspecified(IpAddressFamily family) {
  if (family == IpAddressFamily::kIpv4) return from({Ipv4SocketAddress{}});
  return from({Ipv6SocketAddress{}});
}

IpAddressFamily OsAddress::family() const {
  return storage.ss_family == AF_INET ? IpAddressFamily::kIpv4 : IpAddressFamily::kIpv6;
}

uint16_t OsAddress::port() const {
  return ntohs(family() == IpAddressFamily::kIpv4 ? v4(*this)->sin_port : v6(*this)->sin6_port);
}

IpAddress ip_address_of(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(address);
    const auto* b = reinterpret_cast<const uint8_t*>(&s->sin_addr);
    return {Ipv4Address{b[0], b[1], b[2], b[3]}};
  }
  const auto w = segments(reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
  return {Ipv6Address{w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]}};
}

IpSocketAddress OsAddress::to_wit() const {
  const IpAddress ip = ip_address_of(get());
  if (family() == IpAddressFamily::kIpv4) {
    return {Ipv4SocketAddress{port(), std::get<Ipv4Address>(ip.value)}};
  }
  return {Ipv6SocketAddress{port(), ntohl(v6(*this)->sin6_flowinfo),
                            std::get<Ipv6Address>(ip.value), v6(*this)->sin6_scope_id}};
}

std::string OsAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == IpAddressFamily::kIpv4) {
    inet_ntop(AF_INET, &v4(*this)->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(port());
  }
  inet_ntop(AF_INET6, &v6(*this)->sin6_addr, text, sizeof text);
  return "[" + std::string(text) + "]:" + std::to_string(port());
}

bool OsAddress::operator==(const OsAddress& other) const {
  if (family() != other.family() || port() != other.port()) return false;
  if (family() == IpAddressFamily::kIpv4) {
    return v4(*this)->sin_addr.s_addr == v4(other)->sin_addr.s_addr;
  }
  return std::memcmp(&v6(*this)->sin6_addr, &v6(other)->sin6_addr, sizeof(in6_addr)) == 0;
}

bool valid_family(const OsAddress& address, IpAddressFamily family) {
  if (address.family() != family) return false;
  if (family == IpAddressFamily::kIpv4) return true;
  const in6_addr& a = v6(address)->sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&a)) return false;
  // IPv4-compatible (::a.b.c.d), deprecated since 2006: all but the last 32 bits zero,
  // other than :: and ::1.
  const auto w = segments(a);
  const bool compatible = std::all_of(w.begin(), w.begin() + 6, [](uint16_t x) { return x == 0; });
  return !compatible || IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LOOPBACK(&a);
}

bool valid_unicast(const OsAddress& address) {
  std::optional<in_addr> ip4;
  if (address.family() == IpAddressFamily::kIpv4) {
    ip4 = v4(address)->sin_addr;
  } else {
    ip4 = mapped_v4(v6(address)->sin6_addr);
    if (!ip4) return !IN6_IS_ADDR_MULTICAST(&v6(address)->sin6_addr);
  }
  const uint32_t host = ntohl(ip4->s_addr);
  return !IN_MULTICAST(host) && host != INADDR_BROADCAST;
}

bool valid_remote(const OsAddress& address) {
  if (address.port() == 0) return false;
  if (address.family() == IpAddressFamily::kIpv4) return v4(address)->sin_addr.s_addr != 0;
  const in6_addr& a = v6(address)->sin6_addr;
  if (auto ip4 = mapped_v4(a)) return ip4->s_addr != 0;
  return !IN6_IS_ADDR_UNSPECIFIED(&a);
}

SocketFd::~SocketFd() {
  if (fd_ >= 0) ::close(fd_);
}

SocketResult<std::shared_ptr<SocketFd>> SocketFd::open(IpAddressFamily family, int type) {
  const int domain = family == IpAddressFamily::kIpv4 ? AF_INET : AF_INET6;
  const int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error<std::shared_ptr<SocketFd>>();
  auto out = std::make_shared<SocketFd>(fd);
  if (family == IpAddressFamily::kIpv6) {
    const int on = 1;
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)
      return errno_error<std::shared_ptr<SocketFd>>();
  }
  return SocketResult<std::shared_ptr<SocketFd>>::ok(std::move(out));
}

bool SocketPollable::ready() {
  if (before_ && before_()) return true;
  const auto want = interest_();
  return !want || socket_ready_now(fd_->get(), want->ready);
}

std::optional<SocketInterest> SocketPollable::socket() {
  const auto want = interest_();
  if (!want) return std::nullopt;
  return SocketInterest{fd_->get(), want->watch};
}

void SocketPollable::wait_for(std::chrono::steady_clock::duration max) {
  const auto want = interest_();
  if (!want) return;
  wait_socket(nullptr, fd_->get(), want->watch, std::chrono::steady_clock::now() + max);
}

SocketResult<uint8_t> hop_limit(int fd, IpAddressFamily family) {
  int value = 0;
  socklen_t length = sizeof value;
  const int level = family == IpAddressFamily::kIpv4 ? IPPROTO_IP : IPPROTO_IPV6;
  const int option = family == IpAddressFamily::kIpv4 ? IP_TTL : IPV6_UNICAST_HOPS;
  if (::getsockopt(fd, level, option, &value, &length) != 0) return errno_error<uint8_t>();
  if (value < 0 || value > 255) return SocketResult<uint8_t>::err(ErrorCode::kNotSupported);
  return SocketResult<uint8_t>::ok(static_cast<uint8_t>(value));
}

SocketResult<Unit> set_hop_limit(int fd, IpAddressFamily family, uint8_t value) {
  // WIT: 0 is invalid-argument; the OSes do not agree on it, so it is checked here.
  if (value == 0) return SocketResult<Unit>::err(ErrorCode::kInvalidArgument);
  const int v = value;
  const int level = family == IpAddressFamily::kIpv4 ? IPPROTO_IP : IPPROTO_IPV6;
  const int option = family == IpAddressFamily::kIpv4 ? IP_TTL : IPV6_UNICAST_HOPS;
  if (::setsockopt(fd, level, option, &v, sizeof v) != 0) return errno_error<Unit>();
  return done();
}

SocketResult<uint64_t> buffer_size(int fd, int option) {
  int value = 0;
  socklen_t length = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) return errno_error<uint64_t>();
  // Linux doubles what was set, for its bookkeeping; halved, it is near what was asked.
  return SocketResult<uint64_t>::ok(static_cast<uint64_t>(std::max(value, 0)) / 2);
}

SocketResult<Unit> set_buffer_size(int fd, int option, uint64_t value) {
  if (value == 0) return SocketResult<Unit>::err(ErrorCode::kInvalidArgument);
  const int v = static_cast<int>(std::min<uint64_t>(value, INT_MAX));
  // A size is a hint the OS clamps: ENOBUFS (the BSDs' "too large") is no error either.
  if (::setsockopt(fd, SOL_SOCKET, option, &v, sizeof v) != 0 && errno != ENOBUFS)
    return errno_error<Unit>();
  return done();
}

namespace {
SocketResult<IpSocketAddress> name_of(int fd, bool peer) {
  OsAddress out;
  out.length = sizeof out.storage;
  sockaddr* where = reinterpret_cast<sockaddr*>(&out.storage);
  const int rc =
      peer ? ::getpeername(fd, where, &out.length) : ::getsockname(fd, where, &out.length);
  if (rc != 0) return errno_error<IpSocketAddress>();
  return SocketResult<IpSocketAddress>::ok(out.to_wit());
}
}  // namespace

SocketResult<IpSocketAddress> local_address(int fd) {
  return name_of(fd, false);
}

SocketResult<IpSocketAddress> peer_address(int fd) {
  return name_of(fd, true);
}

void add_network(component::HostImports& imports, std::shared_ptr<const SocketsConfig> config) {
  using host::Borrow;
  using host::Context;
  host::define_resource<Network>(imports, kNetwork, "network");
  host::define(imports, kNetwork, "network-error-code",
               [](Context&, Borrow<IoError> error) -> std::optional<ErrorCode> {
                 if (auto os = error->os_error()) return error_from_errno(*os);
                 return std::nullopt;
               });
  host::define(imports, kInstanceNetwork, "instance-network", [config](Context&) {
    return host::Own<Network>{std::make_unique<Network>(config)};
  });
}

}  // namespace gyre::wasi::sockets
