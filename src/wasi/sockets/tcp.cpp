#include "wasi/sockets/tcp.hpp"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "base/socket_wait.hpp"

namespace gyre::wasi::sockets {
namespace {

using host::Borrow;
using host::Context;
using host::Own;
using host::Unit;

constexpr const char* kTcp = "wasi:sockets/tcp@0.2.0";
constexpr const char* kTcpCreate = "wasi:sockets/tcp-create-socket@0.2.0";

// Wasmtime's (Rust's) default listen backlog.
constexpr uint32_t kDefaultBacklog = 128;
constexpr uint64_t kNanosPerSecond = 1'000'000'000;
// The most one read takes, and the most check-write offers at a time.
constexpr uint64_t kMaxChunk = 1 << 20;

// A connection's byte streams, shared by the socket and its input and output streams.
struct Connection {
  explicit Connection(std::shared_ptr<SocketFd> socket) : fd(std::move(socket)) {}
  std::shared_ptr<SocketFd> fd;
  bool read_closed = false;
  bool write_closed = false;      // no more writes (shut down, or the peer is gone)
  bool shutdown_pending = false;  // shut down sending once `pending` is out
  std::string pending;            // written, not yet taken by the OS
  std::optional<int> write_error;

  // Sends what it can of `pending` without waiting.
  void pump() {
    while (!pending.empty()) {
      const ssize_t n =
          ::send(fd->get(), pending.data(), pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        pending.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno != EPIPE) write_error = errno;
      write_closed = true;
      pending.clear();
    }
    if (shutdown_pending) {
      shutdown_pending = false;
      ::shutdown(fd->get(), SHUT_WR);
    }
  }
};

class TcpInputStream final : public InputStream {
 public:
  explicit TcpInputStream(std::shared_ptr<Connection> c) : c_(std::move(c)) {}

  StreamResult<host::ByteString> read(uint64_t max) override {
    c_->pump();
    if (c_->read_closed) return StreamResult<host::ByteString>::err(StreamError::closed());
    std::string buffer(std::min(max, kMaxChunk), '\0');
    if (buffer.empty()) return StreamResult<host::ByteString>::ok({});
    ssize_t n;
    do {
      n = ::recv(c_->fd->get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
      c_->read_closed = true;
      return StreamResult<host::ByteString>::err(StreamError::closed());
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return StreamResult<host::ByteString>::ok({});
      c_->read_closed = true;
      return StreamResult<host::ByteString>::err(StreamError::failed(std::strerror(errno), errno));
    }
    buffer.resize(static_cast<size_t>(n));
    return StreamResult<host::ByteString>::ok(host::ByteString{std::move(buffer)});
  }

  std::unique_ptr<Pollable> subscribe() override {
    auto c = c_;
    return std::make_unique<SocketPollable>(
        c->fd,
        [c]() -> std::optional<SocketPollable::Want> {
          if (c->read_closed) return std::nullopt;
          // Waiting to read also sends what is left to send: the peer may be waiting
          // for it before it answers.
          const uint8_t out = c->pending.empty() ? 0 : kSocketWritable;
          return SocketPollable::Want{kSocketReadable, static_cast<uint8_t>(kSocketReadable | out)};
        },
        [c] {
          c->pump();
          return false;
        });
  }

 private:
  std::shared_ptr<Connection> c_;
};

class TcpOutputStream final : public OutputStream {
 public:
  explicit TcpOutputStream(std::shared_ptr<Connection> c) : c_(std::move(c)) {}
  ~TcpOutputStream() override { c_->pump(); }

  StreamResult<uint64_t> check_write() override {
    c_->pump();
    if (auto failed = error()) return StreamResult<uint64_t>::err(std::move(*failed));
    if (!c_->pending.empty() || !socket_ready_now(c_->fd->get(), kSocketWritable))
      return StreamResult<uint64_t>::ok(0);
    return StreamResult<uint64_t>::ok(room());
  }

  StreamResult<Unit> write(std::span<const uint8_t> bytes) override {
    c_->pump();
    if (auto failed = error()) return StreamResult<Unit>::err(std::move(*failed));
    c_->pending.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    c_->pump();
    if (c_->write_error) return StreamResult<Unit>::err(*error());
    return StreamResult<Unit>::ok({});
  }

  StreamResult<Unit> flush() override {
    c_->pump();
    if (c_->write_closed && c_->pending.empty() && !c_->write_error)
      return StreamResult<Unit>::err(StreamError::closed());
    return StreamResult<Unit>::ok({});
  }

  bool flushed() override { return c_->pending.empty(); }

  std::unique_ptr<Pollable> subscribe() override {
    auto c = c_;
    return std::make_unique<SocketPollable>(
        c->fd,
        [c]() -> std::optional<SocketPollable::Want> {
          if (c->write_closed && c->pending.empty()) return std::nullopt;
          return SocketPollable::Want{kSocketWritable, kSocketWritable};
        },
        [c] {
          c->pump();
          return false;
        });
  }

 private:
  std::optional<StreamError> error() const {
    if (c_->write_error)
      return StreamError::failed(std::strerror(*c_->write_error), *c_->write_error);
    if (c_->write_closed) return StreamError::closed();
    return std::nullopt;
  }

  // About what the OS send buffer has free: so that a write is taken whole.
  uint64_t room() const {
    int size = 0;
    socklen_t length = sizeof size;
    int queued = 0;
    if (::getsockopt(c_->fd->get(), SOL_SOCKET, SO_SNDBUF, &size, &length) != 0 ||
        ::ioctl(c_->fd->get(), SIOCOUTQ, &queued) != 0)
      return 4096;
    const int64_t free = static_cast<int64_t>(size) / 2 - queued;
    return static_cast<uint64_t>(std::clamp<int64_t>(free, 4096, kMaxChunk));
  }

  std::shared_ptr<Connection> c_;
};

// wasi:sockets/tcp.tcp-socket
class TcpSocket {
 public:
  enum class State {
    kDefault,
    kBindStarted,
    kBound,
    kListenStarted,
    kListening,
    kConnecting,
    kConnected,  // streams handed out
    kClosed,
  };

  TcpSocket(std::shared_ptr<SocketFd> fd, IpAddressFamily family, State state)
      : fd_(std::move(fd)), family_(family), state_(state) {}

  using Streams = std::tuple<Own<InputStream>, Own<OutputStream>>;

  SocketResult<Unit> start_bind(Network& network, const IpSocketAddress& local) {
    const OsAddress address = OsAddress::from(local);
    if (!network.allows(address, AddressUse::kTcpBind)) return fail<Unit>(ErrorCode::kAccessDenied);
    if (!valid_unicast(address) || !valid_family(address, family_))
      return fail<Unit>(ErrorCode::kInvalidArgument);
    if (state_ != State::kDefault) return fail<Unit>(ErrorCode::kInvalidState);
    // Bypasses TIME_WAIT when binding a given port, as WASI asks; unset otherwise, so a
    // failed earlier try leaves nothing behind.
    const int reuse = address.port() > 0 ? 1 : 0;
    if (::setsockopt(fd_->get(), SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse) != 0)
      return errno_error<Unit>();
    if (::bind(fd_->get(), address.get(), address.length) != 0) {
      if (errno == EAFNOSUPPORT) return fail<Unit>(ErrorCode::kInvalidArgument);
      return errno_error<Unit>();
    }
    state_ = State::kBindStarted;
    return done();
  }

  SocketResult<Unit> finish_bind() {
    if (state_ != State::kBindStarted) return fail<Unit>(ErrorCode::kNotInProgress);
    state_ = State::kBound;
    return done();
  }

  SocketResult<Unit> start_connect(Network& network, const IpSocketAddress& remote) {
    const OsAddress address = OsAddress::from(remote);
    if (!network.allows(address, AddressUse::kTcpConnect))
      return fail<Unit>(ErrorCode::kAccessDenied);
    if (state_ == State::kConnecting) return fail<Unit>(ErrorCode::kConcurrencyConflict);
    if (state_ != State::kDefault && state_ != State::kBound)
      return fail<Unit>(ErrorCode::kInvalidState);
    if (!valid_unicast(address) || !valid_remote(address) || !valid_family(address, family_))
      return fail<Unit>(ErrorCode::kInvalidArgument);
    state_ = State::kConnecting;
    connect_error_.reset();
    int rc;
    do {
      rc = ::connect(fd_->get(), address.get(), address.length);
    } while (rc != 0 && errno == EINTR);
    // As in Wasmtime, the outcome (even an immediate failure) is for finish-connect.
    if (rc != 0 && errno != EINPROGRESS) connect_error_ = errno;
    return done();
  }

  SocketResult<Streams> finish_connect() {
    if (state_ != State::kConnecting) return fail<Streams>(ErrorCode::kNotInProgress);
    int error = connect_error_.value_or(0);
    if (!connect_error_) {
      if (!socket_ready_now(fd_->get(), kSocketWritable))
        return fail<Streams>(ErrorCode::kWouldBlock);
      socklen_t length = sizeof error;
      if (::getsockopt(fd_->get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    }
    if (error != 0) {
      state_ = State::kClosed;
      return fail<Streams>(error_from_errno(error));
    }
    return SocketResult<Streams>::ok(streams());
  }

  SocketResult<Unit> start_listen() {
    if (state_ != State::kBound) return fail<Unit>(ErrorCode::kInvalidState);
    state_ = State::kListenStarted;
    return done();
  }

  SocketResult<Unit> finish_listen() {
    if (state_ != State::kListenStarted) return fail<Unit>(ErrorCode::kNotInProgress);
    if (::listen(fd_->get(), static_cast<int>(backlog_)) != 0) {
      state_ = State::kClosed;
      return errno_error<Unit>();
    }
    state_ = State::kListening;
    return done();
  }

  using Accepted = std::tuple<Own<TcpSocket>, Own<InputStream>, Own<OutputStream>>;
  SocketResult<Accepted> accept() {
    if (state_ != State::kListening) return fail<Accepted>(ErrorCode::kInvalidState);
    int client;
    do {
      client = ::accept4(fd_->get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (client < 0 && errno == EINTR);
    if (client < 0) {
      switch (errno) {
        // Linux passes a connection's pending network error on from accept; as Wasmtime,
        // these read as the connection having been aborted.
        case ECONNRESET:
        case ENETRESET:
        case EHOSTUNREACH:
        case EHOSTDOWN:
        case ENETDOWN:
        case ENETUNREACH:
        case EPROTO:
        case ENOPROTOOPT:
        case ENONET:
        case EOPNOTSUPP:
          return fail<Accepted>(ErrorCode::kConnectionAborted);
        default:
          return errno_error<Accepted>();
      }
    }
    auto socket =
        std::make_unique<TcpSocket>(std::make_shared<SocketFd>(client), family_, State::kConnected);
    auto [in, out] = socket->streams();
    return SocketResult<Accepted>::ok(
        Accepted{Own<TcpSocket>{std::move(socket)}, std::move(in), std::move(out)});
  }

  SocketResult<IpSocketAddress> local() const {
    switch (state_) {
      case State::kBound:
      case State::kListenStarted:
      case State::kListening:
      case State::kConnected:
        return local_address(fd_->get());
      default:
        return fail<IpSocketAddress>(ErrorCode::kInvalidState);
    }
  }

  SocketResult<IpSocketAddress> remote() const {
    if (state_ != State::kConnected) return fail<IpSocketAddress>(ErrorCode::kInvalidState);
    return peer_address(fd_->get());
  }

  bool is_listening() const { return state_ == State::kListening; }
  IpAddressFamily family() const { return family_; }

  SocketResult<Unit> set_backlog(uint64_t value) {
    if (value == 0) return fail<Unit>(ErrorCode::kInvalidArgument);
    // Clamped silently, as the OSes do.
    const auto clamped = static_cast<uint32_t>(std::clamp<uint64_t>(value, 1, INT_MAX));
    if (state_ == State::kDefault || state_ == State::kBound) {
      backlog_ = clamped;
      return done();
    }
    if (state_ == State::kListening) {
      if (::listen(fd_->get(), static_cast<int>(clamped)) != 0)
        return fail<Unit>(ErrorCode::kNotSupported);
      backlog_ = clamped;
      return done();
    }
    return fail<Unit>(ErrorCode::kInvalidState);
  }

  // The socket for an option, in the states Wasmtime reads and sets options in.
  SocketResult<int> option_fd() const {
    if (state_ == State::kConnecting || state_ == State::kClosed)
      return fail<int>(ErrorCode::kInvalidState);
    return SocketResult<int>::ok(fd_->get());
  }

  template <class T>
  SocketResult<T> get_int(int level, int option) const {
    auto fd = option_fd();
    if (!fd.is_ok()) return fail<T>(std::get<1>(fd.value));
    int value = 0;
    socklen_t length = sizeof value;
    if (::getsockopt(std::get<0>(fd.value), level, option, &value, &length) != 0)
      return errno_error<T>();
    return SocketResult<T>::ok(static_cast<T>(value));
  }

  SocketResult<Unit> set_int(int level, int option, int value) const {
    auto fd = option_fd();
    if (!fd.is_ok()) return fail<Unit>(std::get<1>(fd.value));
    if (::setsockopt(std::get<0>(fd.value), level, option, &value, sizeof value) != 0)
      return errno_error<Unit>();
    return done();
  }

  // Keep-alive times are seconds to the OS, nanoseconds to the guest; a set time is
  // clamped to 1 s .. i16::MAX s, where Linux's limit lies.
  SocketResult<uint64_t> get_seconds(int option) const {
    auto seconds = get_int<uint64_t>(IPPROTO_TCP, option);
    if (!seconds.is_ok()) return seconds;
    return SocketResult<uint64_t>::ok(std::get<0>(seconds.value) * kNanosPerSecond);
  }
  SocketResult<Unit> set_seconds(int option, uint64_t nanoseconds) const {
    if (nanoseconds == 0) return fail<Unit>(ErrorCode::kInvalidArgument);
    const uint64_t clamped =
        std::clamp<uint64_t>(nanoseconds, kNanosPerSecond, INT16_MAX * kNanosPerSecond);
    return set_int(IPPROTO_TCP, option, static_cast<int>(clamped / kNanosPerSecond));
  }

  std::unique_ptr<Pollable> subscribe() {
    // Ready at once, except while connecting (until the connection is made or failed)
    // and while listening (until a client waits to be accepted).
    return std::make_unique<SocketPollable>(
        fd_, [this, alive = alive_]() -> std::optional<SocketPollable::Want> {
          if (!*alive) return std::nullopt;
          if (state_ == State::kConnecting && !connect_error_)
            return SocketPollable::Want{kSocketWritable, kSocketWritable};
          if (state_ == State::kListening)
            return SocketPollable::Want{kSocketReadable, kSocketReadable};
          return std::nullopt;
        });
  }

  SocketResult<Unit> shutdown(uint8_t how) {
    if (state_ != State::kConnected || !connection_) return fail<Unit>(ErrorCode::kInvalidState);
    Connection& c = *connection_;
    if (how != 1) {  // receive or both
      ::shutdown(fd_->get(), SHUT_RD);
      c.read_closed = true;
    }
    if (how != 0 && !c.write_closed) {  // send or both: after what is still to go
      c.write_closed = true;
      c.shutdown_pending = true;
      c.pump();
    }
    return done();
  }

  ~TcpSocket() { *alive_ = false; }

 private:
  Streams streams() {
    state_ = State::kConnected;
    connection_ = std::make_shared<Connection>(fd_);
    return Streams{Own<InputStream>{std::make_unique<TcpInputStream>(connection_)},
                   Own<OutputStream>{std::make_unique<TcpOutputStream>(connection_)}};
  }

  std::shared_ptr<SocketFd> fd_;
  IpAddressFamily family_;
  State state_;
  uint32_t backlog_ = kDefaultBacklog;
  std::optional<int> connect_error_;
  std::shared_ptr<Connection> connection_;
  // Pollables may outlive the socket (a guest may drop it first): they then stop
  // looking at its state.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

enum class ShutdownType : uint8_t { kReceive, kSend, kBoth };

}  // namespace
}  // namespace gyre::wasi::sockets

namespace gyre::host {
template <>
struct EnumLabels<wasi::sockets::ShutdownType> {
  static constexpr const char* labels[] = {"receive", "send", "both"};
};
}  // namespace gyre::host

namespace gyre::wasi::sockets {

void add_tcp(component::HostImports& imports) {
  using S = Borrow<TcpSocket>;
  host::define_resource<TcpSocket>(imports, kTcp, "tcp-socket");
  auto method = [&](const char* name, auto function) {
    host::define(imports, kTcp, std::string("[method]tcp-socket.") + name, function);
  };

  host::define(imports, kTcpCreate, "create-tcp-socket",
               [](Context&, IpAddressFamily family) -> SocketResult<Own<TcpSocket>> {
                 auto fd = SocketFd::open(family, SOCK_STREAM);
                 if (!fd.is_ok()) return fail<Own<TcpSocket>>(std::get<1>(fd.value));
                 return SocketResult<Own<TcpSocket>>::ok(Own<TcpSocket>{std::make_unique<TcpSocket>(
                     std::get<0>(std::move(fd.value)), family, TcpSocket::State::kDefault)});
               });

  method("start-bind", [](Context&, S self, Borrow<Network> network, IpSocketAddress local) {
    return self->start_bind(*network, local);
  });
  method("finish-bind", [](Context&, S self) { return self->finish_bind(); });
  method("start-connect", [](Context&, S self, Borrow<Network> network, IpSocketAddress remote) {
    return self->start_connect(*network, remote);
  });
  method("finish-connect", [](Context&, S self) { return self->finish_connect(); });
  method("start-listen", [](Context&, S self) { return self->start_listen(); });
  method("finish-listen", [](Context&, S self) { return self->finish_listen(); });
  method("accept", [](Context&, S self) { return self->accept(); });
  method("local-address", [](Context&, S self) { return self->local(); });
  method("remote-address", [](Context&, S self) { return self->remote(); });
  method("is-listening", [](Context&, S self) { return self->is_listening(); });
  method("address-family", [](Context&, S self) { return self->family(); });
  method("set-listen-backlog-size",
         [](Context&, S self, uint64_t value) { return self->set_backlog(value); });
  method("keep-alive-enabled", [](Context&, S self) -> SocketResult<bool> {
    auto on = self->get_int<int>(SOL_SOCKET, SO_KEEPALIVE);
    if (!on.is_ok()) return fail<bool>(std::get<1>(on.value));
    return SocketResult<bool>::ok(std::get<0>(on.value) != 0);
  });
  method("set-keep-alive-enabled", [](Context&, S self, bool value) {
    return self->set_int(SOL_SOCKET, SO_KEEPALIVE, value ? 1 : 0);
  });
  method("keep-alive-idle-time", [](Context&, S self) { return self->get_seconds(TCP_KEEPIDLE); });
  method("set-keep-alive-idle-time",
         [](Context&, S self, uint64_t value) { return self->set_seconds(TCP_KEEPIDLE, value); });
  method("keep-alive-interval", [](Context&, S self) { return self->get_seconds(TCP_KEEPINTVL); });
  method("set-keep-alive-interval",
         [](Context&, S self, uint64_t value) { return self->set_seconds(TCP_KEEPINTVL, value); });
  method("keep-alive-count",
         [](Context&, S self) { return self->get_int<uint32_t>(IPPROTO_TCP, TCP_KEEPCNT); });
  method("set-keep-alive-count", [](Context&, S self, uint32_t value) {
    if (value == 0) return fail<Unit>(ErrorCode::kInvalidArgument);
    return self->set_int(IPPROTO_TCP, TCP_KEEPCNT,
                         static_cast<int>(std::min<uint32_t>(value, 127)));
  });
  method("hop-limit", [](Context&, S self) -> SocketResult<uint8_t> {
    auto fd = self->option_fd();
    if (!fd.is_ok()) return fail<uint8_t>(std::get<1>(fd.value));
    return hop_limit(std::get<0>(fd.value), self->family());
  });
  method("set-hop-limit", [](Context&, S self, uint8_t value) -> SocketResult<Unit> {
    auto fd = self->option_fd();
    if (!fd.is_ok()) return fail<Unit>(std::get<1>(fd.value));
    return set_hop_limit(std::get<0>(fd.value), self->family(), value);
  });
  for (const auto& [get, set, option] :
       {std::tuple{"receive-buffer-size", "set-receive-buffer-size", SO_RCVBUF},
        std::tuple{"send-buffer-size", "set-send-buffer-size", SO_SNDBUF}}) {
    method(get, [option](Context&, S self) -> SocketResult<uint64_t> {
      auto fd = self->option_fd();
      if (!fd.is_ok()) return fail<uint64_t>(std::get<1>(fd.value));
      return buffer_size(std::get<0>(fd.value), option);
    });
    method(set, [option](Context&, S self, uint64_t value) -> SocketResult<Unit> {
      auto fd = self->option_fd();
      if (!fd.is_ok()) return fail<Unit>(std::get<1>(fd.value));
      return set_buffer_size(std::get<0>(fd.value), option, value);
    });
  }
  method("subscribe", [](Context&, S self) { return Own<Pollable>{self->subscribe()}; });
  method("shutdown", [](Context&, S self, ShutdownType how) {
    return self->shutdown(static_cast<uint8_t>(how));
  });
}

}  // namespace gyre::wasi::sockets
