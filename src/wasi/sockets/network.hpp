// wasi:sockets 0.2 network and instance-network: the WIT types every socket interface
// shares (addresses, error codes), the network resource that carries a component's
// permission to use addresses, and what TCP and UDP share (an owned non-blocking OS
// socket, its options, a pollable on its readiness).
//
// Which addresses a component may use is the embedder's decision, handed in as an
// AddressCheck (for `gyre up`: the component's allowed_outbound_hosts, as Spin reads them).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <variant>

#include "component/host_imports.hpp"
#include "host/define.hpp"
#include "wasi/io.hpp"

namespace gyre::wasi::sockets {

// wasi:sockets/network.error-code, in WIT order.
enum class ErrorCode : uint8_t {
  kUnknown,
  kAccessDenied,
  kNotSupported,
  kInvalidArgument,
  kOutOfMemory,
  kTimeout,
  kConcurrencyConflict,
  kNotInProgress,
  kWouldBlock,
  kInvalidState,
  kNewSocketLimit,
  kAddressNotBindable,
  kAddressInUse,
  kRemoteUnreachable,
  kConnectionRefused,
  kConnectionReset,
  kConnectionAborted,
  kDatagramTooLarge,
  kNameUnresolvable,
  kTemporaryResolverFailure,
  kPermanentResolverFailure,
};

// The error code an errno stands for, as Wasmtime maps them.
ErrorCode error_from_errno(int error);

template <class T>
using SocketResult = host::Result<T, ErrorCode>;

// A failed SocketResult: with `code`, or with what the last OS call's errno stands for.
template <class T>
SocketResult<T> fail(ErrorCode code) {
  return SocketResult<T>::err(code);
}
template <class T>
SocketResult<T> errno_error() {
  return SocketResult<T>::err(error_from_errno(errno));
}
// A function whose WIT result is `result<_, error-code>` succeeded.
inline SocketResult<host::Unit> done() {
  return SocketResult<host::Unit>::ok({});
}

enum class IpAddressFamily : uint8_t { kIpv4, kIpv6 };

using Ipv4Address = std::tuple<uint8_t, uint8_t, uint8_t, uint8_t>;
using Ipv6Address =
    std::tuple<uint16_t, uint16_t, uint16_t, uint16_t, uint16_t, uint16_t, uint16_t, uint16_t>;

struct IpAddress {
  std::variant<Ipv4Address, Ipv6Address> value;
};

struct Ipv4SocketAddress {
  uint16_t port = 0;
  Ipv4Address address{};
};

struct Ipv6SocketAddress {
  uint16_t port = 0;
  uint32_t flow_info = 0;
  Ipv6Address address{};
  uint32_t scope_id = 0;
};

struct IpSocketAddress {
  std::variant<Ipv4SocketAddress, Ipv6SocketAddress> value;
};

// A socket address as the OS takes it.
struct OsAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  static OsAddress from(const IpSocketAddress& address);
  static OsAddress unspecified(IpAddressFamily family);
  IpSocketAddress to_wit() const;
  IpAddressFamily family() const;
  uint16_t port() const;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  // "127.0.0.1:80" or "[::1]:80", as Rust prints a SocketAddr (what Spin checks).
  std::string to_string() const;
  bool operator==(const OsAddress& other) const;
};

IpAddress ip_address_of(const sockaddr* address);

// Wasmtime's address checks: whether `address` is valid for a socket of `family` (no
// IPv4-mapped or deprecated IPv4-compatible IPv6 addresses), a unicast address, or a
// remote address (not unspecified, port not 0).
bool valid_family(const OsAddress& address, IpAddressFamily family);
bool valid_unicast(const OsAddress& address);
bool valid_remote(const OsAddress& address);

// What a socket is about to do with an address the check is asked about.
enum class AddressUse : uint8_t {
  kTcpBind,
  kTcpConnect,
  kUdpBind,
  kUdpConnect,
  kUdpOutgoingDatagram,
};

// Whether the component may use `address` for `use`.
using AddressCheck = std::function<bool(const OsAddress& address, AddressUse use)>;

// What a component's sockets may do: the capability add_sockets hands its network.
struct SocketsConfig {
  AddressCheck check;  // none allows nothing
  // Whether ip-name-lookup resolves names; when not, it answers
  // permanent-resolver-failure, as Wasmtime does when lookups are not allowed.
  bool allow_ip_name_lookup = false;
};

// wasi:sockets/network.network
class Network {
 public:
  explicit Network(std::shared_ptr<const SocketsConfig> config) : config_(std::move(config)) {}
  bool allows(const OsAddress& address, AddressUse use) const {
    return config_->check && config_->check(address, use);
  }
  const SocketsConfig& config() const { return *config_; }
  const std::shared_ptr<const SocketsConfig>& shared_config() const { return config_; }

 private:
  std::shared_ptr<const SocketsConfig> config_;
};

// An OS socket, non-blocking, closed when the last of its holders (the socket resource,
// its streams, its pollables) is gone.
class SocketFd {
 public:
  explicit SocketFd(int fd) : fd_(fd) {}
  ~SocketFd();
  SocketFd(const SocketFd&) = delete;
  SocketFd& operator=(const SocketFd&) = delete;
  int get() const { return fd_; }

  // Opens a non-blocking socket of `type` (SOCK_STREAM, SOCK_DGRAM); IPv6 ones are
  // IPv6-only, as WASI asks.
  static SocketResult<std::shared_ptr<SocketFd>> open(IpAddressFamily family, int type);

 private:
  int fd_;
};

// A pollable on an OS socket. `interest` runs at every look and says what readiness
// makes the pollable ready and what its wait watches (nullopt: ready now, no wait);
// `before` runs first, lets the owner do the work readiness allows (send what it
// buffered), and may say "ready anyway".
class SocketPollable final : public Pollable {
 public:
  struct Want {
    uint8_t ready = 0;  // SocketReady bits that make the pollable ready
    uint8_t watch = 0;  // bits a wait watches: `ready`, and any the owner needs to pump
  };
  using Interest = std::function<std::optional<Want>()>;
  using Before = std::function<bool()>;
  SocketPollable(std::shared_ptr<SocketFd> fd, Interest interest, Before before = nullptr)
      : fd_(std::move(fd)), interest_(std::move(interest)), before_(std::move(before)) {}
  bool ready() override;
  std::optional<SocketInterest> socket() override;
  void wait_for(std::chrono::steady_clock::duration max) override;

 private:
  std::shared_ptr<SocketFd> fd_;
  Interest interest_;
  Before before_;
};

// Socket options both TCP and UDP have, as Wasmtime sets and reads them.
SocketResult<uint8_t> hop_limit(int fd, IpAddressFamily family);
SocketResult<host::Unit> set_hop_limit(int fd, IpAddressFamily family, uint8_t value);
SocketResult<uint64_t> buffer_size(int fd, int option);  // SO_RCVBUF, SO_SNDBUF
SocketResult<host::Unit> set_buffer_size(int fd, int option, uint64_t value);
// The address of the socket (getsockname) or its peer (getpeername).
SocketResult<IpSocketAddress> local_address(int fd);
SocketResult<IpSocketAddress> peer_address(int fd);

// Adds wasi:sockets/network and wasi:sockets/instance-network 0.2.x.
void add_network(component::HostImports& imports, std::shared_ptr<const SocketsConfig> config);

}  // namespace gyre::wasi::sockets

namespace gyre::host {
template <>
struct EnumLabels<wasi::sockets::ErrorCode> {
  static constexpr const char* labels[] = {"unknown",
                                           "access-denied",
                                           "not-supported",
                                           "invalid-argument",
                                           "out-of-memory",
                                           "timeout",
                                           "concurrency-conflict",
                                           "not-in-progress",
                                           "would-block",
                                           "invalid-state",
                                           "new-socket-limit",
                                           "address-not-bindable",
                                           "address-in-use",
                                           "remote-unreachable",
                                           "connection-refused",
                                           "connection-reset",
                                           "connection-aborted",
                                           "datagram-too-large",
                                           "name-unresolvable",
                                           "temporary-resolver-failure",
                                           "permanent-resolver-failure"};
};
template <>
struct EnumLabels<wasi::sockets::IpAddressFamily> {
  static constexpr const char* labels[] = {"ipv4", "ipv6"};
};
template <>
struct VariantLabels<wasi::sockets::IpAddress> {
  static constexpr const char* labels[] = {"ipv4", "ipv6"};
};
template <>
struct VariantLabels<wasi::sockets::IpSocketAddress> {
  static constexpr const char* labels[] = {"ipv4", "ipv6"};
};
template <>
struct RecordFields<wasi::sockets::Ipv4SocketAddress> {
  static constexpr auto fields =
      std::make_tuple(std::pair{"port", &wasi::sockets::Ipv4SocketAddress::port},
                      std::pair{"address", &wasi::sockets::Ipv4SocketAddress::address});
};
template <>
struct RecordFields<wasi::sockets::Ipv6SocketAddress> {
  static constexpr auto fields =
      std::make_tuple(std::pair{"port", &wasi::sockets::Ipv6SocketAddress::port},
                      std::pair{"flow-info", &wasi::sockets::Ipv6SocketAddress::flow_info},
                      std::pair{"address", &wasi::sockets::Ipv6SocketAddress::address},
                      std::pair{"scope-id", &wasi::sockets::Ipv6SocketAddress::scope_id});
};
}  // namespace gyre::host
