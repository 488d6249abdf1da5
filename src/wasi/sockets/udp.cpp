#include "wasi/sockets/udp.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <vector>

#include "base/socket_wait.hpp"

namespace gyre::wasi::sockets {
namespace {

using host::Borrow;
using host::Context;
using host::Own;
using host::Unit;

constexpr const char* kUdp = "wasi:sockets/udp@0.2.0";
constexpr const char* kUdpCreate = "wasi:sockets/udp-create-socket@0.2.0";

constexpr size_t kMaxDatagram = 65535;
// How many datagrams check-send allows at a time, as Wasmtime.
constexpr uint64_t kSendPermit = 16;

}  // namespace

struct IncomingDatagram {
  std::vector<uint8_t> data;
  IpSocketAddress remote_address;
};

struct OutgoingDatagram {
  std::vector<uint8_t> data;
  std::optional<IpSocketAddress> remote_address;
};

}  // namespace gyre::wasi::sockets

namespace gyre::host {
template <>
struct RecordFields<wasi::sockets::IncomingDatagram> {
  static constexpr auto fields = std::make_tuple(
      std::pair{"data", &wasi::sockets::IncomingDatagram::data},
      std::pair{"remote-address", &wasi::sockets::IncomingDatagram::remote_address});
};
template <>
struct RecordFields<wasi::sockets::OutgoingDatagram> {
  static constexpr auto fields = std::make_tuple(
      std::pair{"data", &wasi::sockets::OutgoingDatagram::data},
      std::pair{"remote-address", &wasi::sockets::OutgoingDatagram::remote_address});
};
}  // namespace gyre::host

namespace gyre::wasi::sockets {
namespace {

// What a socket's datagram streams share with it, and each other.
struct Streaming {
  std::shared_ptr<SocketFd> fd;
  std::optional<OsAddress> remote;  // "connected" to it
  IpAddressFamily family;
  std::shared_ptr<const SocketsConfig> config;
};

class IncomingDatagramStream {
 public:
  explicit IncomingDatagramStream(std::shared_ptr<Streaming> s) : s_(std::move(s)) {}

  SocketResult<std::vector<IncomingDatagram>> receive(uint64_t max) {
    std::vector<IncomingDatagram> out;
    std::vector<uint8_t> buffer(kMaxDatagram);
    while (out.size() < max) {
      OsAddress from;
      from.length = sizeof from.storage;
      const ssize_t n = ::recvfrom(s_->fd->get(), buffer.data(), buffer.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from.storage), &from.length);
      if (n < 0) {
        // Once one datagram arrived, an error waits for the next call.
        if (!out.empty() || errno == EAGAIN || errno == EWOULDBLOCK) break;
        return errno_error<std::vector<IncomingDatagram>>();
      }
      // The OS filters for a connected socket already; a stray one is dropped.
      if (s_->remote && !(*s_->remote == from)) continue;
      out.push_back({std::vector<uint8_t>(buffer.begin(), buffer.begin() + n), from.to_wit()});
    }
    return SocketResult<std::vector<IncomingDatagram>>::ok(std::move(out));
  }

  std::unique_ptr<Pollable> subscribe() {
    return std::make_unique<SocketPollable>(s_->fd, []() -> std::optional<SocketPollable::Want> {
      return SocketPollable::Want{kSocketReadable, kSocketReadable};
    });
  }

 private:
  std::shared_ptr<Streaming> s_;
};

class OutgoingDatagramStream {
 public:
  explicit OutgoingDatagramStream(std::shared_ptr<Streaming> s) : s_(std::move(s)) {}

  uint64_t check_send() {
    switch (state_->kind) {
      case SendState::kIdle:
        *state_ = {SendState::kPermitted, kSendPermit};
        return kSendPermit;
      case SendState::kPermitted:
        return state_->permitted;
      case SendState::kWaiting:
        return 0;
    }
    return 0;
  }

  host::Trapping<SocketResult<uint64_t>> send(const std::vector<OutgoingDatagram>& datagrams) {
    if (state_->kind != SendState::kPermitted)
      return std::string("unpermitted: must call check-send first");
    if (state_->permitted < datagrams.size())
      return std::string("unpermitted: argument exceeds permitted size");
    *state_ = {SendState::kIdle, 0};
    uint64_t count = 0;
    for (const OutgoingDatagram& datagram : datagrams) {
      const auto sent = send_one(datagram);
      if (sent.is_ok()) {
        ++count;
        continue;
      }
      // WIT: once one datagram went, send reports no error.
      if (count > 0) break;
      if (std::get<1>(sent.value) == ErrorCode::kWouldBlock) {
        *state_ = {SendState::kWaiting, 0};
        break;
      }
      return SocketResult<uint64_t>::err(std::get<1>(sent.value));
    }
    return SocketResult<uint64_t>::ok(count);
  }

  std::unique_ptr<Pollable> subscribe() {
    auto state = state_;
    auto fd = s_->fd;
    return std::make_unique<SocketPollable>(
        fd,
        [state]() -> std::optional<SocketPollable::Want> {
          if (state->kind != SendState::kWaiting) return std::nullopt;
          return SocketPollable::Want{kSocketWritable, kSocketWritable};
        },
        [state, fd] {
          // Writable again: check-send gives a new permit.
          if (state->kind == SendState::kWaiting && socket_ready_now(fd->get(), kSocketWritable))
            *state = {SendState::kIdle, 0};
          return state->kind != SendState::kWaiting;
        });
  }

 private:
  SocketResult<Unit> send_one(const OutgoingDatagram& datagram) {
    if (datagram.data.size() > kMaxDatagram) return fail<Unit>(ErrorCode::kDatagramTooLarge);
    std::optional<OsAddress> to;
    if (datagram.remote_address) to = OsAddress::from(*datagram.remote_address);
    OsAddress address;
    if (!s_->remote && to) {
      if (!Network(s_->config).allows(*to, AddressUse::kUdpOutgoingDatagram))
        return fail<Unit>(ErrorCode::kAccessDenied);
      address = *to;
    } else if (s_->remote && (!to || *to == *s_->remote)) {
      address = *s_->remote;
    } else {
      return fail<Unit>(ErrorCode::kInvalidArgument);
    }
    if (!valid_remote(address) || !valid_family(address, s_->family))
      return fail<Unit>(ErrorCode::kInvalidArgument);
    ssize_t n;
    do {
      n = s_->remote ? ::send(s_->fd->get(), datagram.data.data(), datagram.data.size(),
                              MSG_DONTWAIT | MSG_NOSIGNAL)
                     : ::sendto(s_->fd->get(), datagram.data.data(), datagram.data.size(),
                                MSG_DONTWAIT | MSG_NOSIGNAL, address.get(), address.length);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno_error<Unit>();
    return done();
  }

  struct SendState {
    enum Kind { kIdle, kPermitted, kWaiting } kind = kIdle;
    uint64_t permitted = 0;
  };
  std::shared_ptr<Streaming> s_;
  std::shared_ptr<SendState> state_ = std::make_shared<SendState>();
};

// wasi:sockets/udp.udp-socket
class UdpSocket {
 public:
  UdpSocket(std::shared_ptr<SocketFd> fd, IpAddressFamily family)
      : fd_(std::move(fd)), family_(family) {}

  SocketResult<Unit> start_bind(Network& network, const IpSocketAddress& local) {
    const OsAddress address = OsAddress::from(local);
    if (!network.allows(address, AddressUse::kUdpBind)) return fail<Unit>(ErrorCode::kAccessDenied);
    if (state_ != State::kDefault) return fail<Unit>(ErrorCode::kInvalidState);
    if (!valid_family(address, family_)) return fail<Unit>(ErrorCode::kInvalidArgument);
    if (::bind(fd_->get(), address.get(), address.length) != 0) {
      if (errno == EAFNOSUPPORT) return fail<Unit>(ErrorCode::kInvalidArgument);
      return errno_error<Unit>();
    }
    config_ = network.shared_config();
    state_ = State::kBindStarted;
    return done();
  }

  SocketResult<Unit> finish_bind() {
    if (state_ != State::kBindStarted) return fail<Unit>(ErrorCode::kNotInProgress);
    state_ = State::kBound;
    return done();
  }

  using Streams = std::tuple<Own<IncomingDatagramStream>, Own<OutgoingDatagramStream>>;
  host::Trapping<SocketResult<Streams>> stream(const std::optional<IpSocketAddress>& remote) {
    if (!streams_.expired()) return std::string("UDP streams not dropped yet");
    if (state_ != State::kBound && state_ != State::kConnected)
      return fail<Streams>(ErrorCode::kInvalidState);
    // Disconnects first, then connects anew, so a failed connect leaves a bound socket.
    if (state_ == State::kConnected) {
      sockaddr unspecified{};
      unspecified.sa_family = AF_UNSPEC;
      if (::connect(fd_->get(), &unspecified, sizeof unspecified) != 0)
        return errno_error<Streams>();
      state_ = State::kBound;
      remote_.reset();
    }
    if (remote) {
      const OsAddress address = OsAddress::from(*remote);
      if (!Network(config_).allows(address, AddressUse::kUdpConnect))
        return fail<Streams>(ErrorCode::kAccessDenied);
      if (!valid_family(address, family_) || !valid_remote(address))
        return fail<Streams>(ErrorCode::kInvalidArgument);
      if (::connect(fd_->get(), address.get(), address.length) != 0) {
        if (errno == EAFNOSUPPORT) return fail<Streams>(ErrorCode::kInvalidArgument);
        return errno_error<Streams>();
      }
      state_ = State::kConnected;
      remote_ = address;
    }
    auto shared = std::make_shared<Streaming>(Streaming{fd_, remote_, family_, config_});
    streams_ = shared;
    return SocketResult<Streams>::ok(
        Streams{Own<IncomingDatagramStream>{std::make_unique<IncomingDatagramStream>(shared)},
                Own<OutgoingDatagramStream>{std::make_unique<OutgoingDatagramStream>(shared)}});
  }

  SocketResult<IpSocketAddress> local() const {
    if (state_ == State::kDefault || state_ == State::kBindStarted)
      return fail<IpSocketAddress>(ErrorCode::kInvalidState);
    return local_address(fd_->get());
  }

  SocketResult<IpSocketAddress> remote() const {
    if (state_ != State::kConnected) return fail<IpSocketAddress>(ErrorCode::kInvalidState);
    return peer_address(fd_->get());
  }

  int fd() const { return fd_->get(); }
  IpAddressFamily family() const { return family_; }

 private:
  enum class State { kDefault, kBindStarted, kBound, kConnected };

  std::shared_ptr<SocketFd> fd_;
  IpAddressFamily family_;
  State state_ = State::kDefault;
  std::optional<OsAddress> remote_;
  // The checks of the network the socket was bound through, as Wasmtime keeps them.
  std::shared_ptr<const SocketsConfig> config_ = std::make_shared<const SocketsConfig>();
  // Alive while a pair of streams `stream` gave is: only one pair at a time.
  std::weak_ptr<Streaming> streams_;
};

}  // namespace

void add_udp(component::HostImports& imports) {
  using S = Borrow<UdpSocket>;
  host::define_resource<UdpSocket>(imports, kUdp, "udp-socket");
  host::define_resource<IncomingDatagramStream>(imports, kUdp, "incoming-datagram-stream");
  host::define_resource<OutgoingDatagramStream>(imports, kUdp, "outgoing-datagram-stream");
  auto method = [&](const char* name, auto function) {
    host::define(imports, kUdp, std::string("[method]udp-socket.") + name, function);
  };

  host::define(imports, kUdpCreate, "create-udp-socket",
               [](Context&, IpAddressFamily family) -> SocketResult<Own<UdpSocket>> {
                 auto fd = SocketFd::open(family, SOCK_DGRAM);
                 if (!fd.is_ok()) return fail<Own<UdpSocket>>(std::get<1>(fd.value));
                 return SocketResult<Own<UdpSocket>>::ok(Own<UdpSocket>{
                     std::make_unique<UdpSocket>(std::get<0>(std::move(fd.value)), family)});
               });
  method("start-bind", [](Context&, S self, Borrow<Network> network, IpSocketAddress local) {
    return self->start_bind(*network, local);
  });
  method("finish-bind", [](Context&, S self) { return self->finish_bind(); });
  method("stream", [](Context&, S self, std::optional<IpSocketAddress> remote) {
    return self->stream(remote);
  });
  method("local-address", [](Context&, S self) { return self->local(); });
  method("remote-address", [](Context&, S self) { return self->remote(); });
  method("address-family", [](Context&, S self) { return self->family(); });
  method("unicast-hop-limit",
         [](Context&, S self) { return hop_limit(self->fd(), self->family()); });
  method("set-unicast-hop-limit", [](Context&, S self, uint8_t value) {
    return set_hop_limit(self->fd(), self->family(), value);
  });
  method("receive-buffer-size",
         [](Context&, S self) { return buffer_size(self->fd(), SO_RCVBUF); });
  method("set-receive-buffer-size", [](Context&, S self, uint64_t value) {
    return set_buffer_size(self->fd(), SO_RCVBUF, value);
  });
  method("send-buffer-size", [](Context&, S self) { return buffer_size(self->fd(), SO_SNDBUF); });
  method("set-send-buffer-size", [](Context&, S self, uint64_t value) {
    return set_buffer_size(self->fd(), SO_SNDBUF, value);
  });
  // No operation on the socket itself waits.
  method("subscribe", [](Context&, S) { return Own<Pollable>{std::make_unique<ReadyPollable>()}; });

  host::define(imports, kUdp, "[method]incoming-datagram-stream.receive",
               [](Context&, Borrow<IncomingDatagramStream> self, uint64_t max) {
                 return self->receive(max);
               });
  host::define(imports, kUdp, "[method]incoming-datagram-stream.subscribe",
               [](Context&, Borrow<IncomingDatagramStream> self) {
                 return Own<Pollable>{self->subscribe()};
               });
  host::define(imports, kUdp, "[method]outgoing-datagram-stream.check-send",
               [](Context&, Borrow<OutgoingDatagramStream> self) {
                 return SocketResult<uint64_t>::ok(self->check_send());
               });
  host::define(imports, kUdp, "[method]outgoing-datagram-stream.send",
               [](Context&, Borrow<OutgoingDatagramStream> self,
                  std::vector<OutgoingDatagram> datagrams) { return self->send(datagrams); });
  host::define(imports, kUdp, "[method]outgoing-datagram-stream.subscribe",
               [](Context&, Borrow<OutgoingDatagramStream> self) {
                 return Own<Pollable>{self->subscribe()};
               });
}

}  // namespace gyre::wasi::sockets
