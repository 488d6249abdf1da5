// The inbound HTTP/1.1 server (Boost.Beast over Asio), answering as Spin's hyper server
// does where a client can tell: keep-alive, streamed bodies both ways (chunked when the
// handler gives no content-length), `100 Continue` when the handler first reads a body
// that a client announced with `Expect`, a `date` header, lower-case header names.
//
// Errors answered before any handler runs, as hyper answers them (then the connection
// closes): 431 for a request head over `header_limit` bytes, with more than `max_headers`
// fields or with a field over 64 KiB, 414 for a target over 65534 bytes, 400 for what
// RFC 9112 forbids (http/request_framing.hpp) and anything else Beast or the http
// crate's URI rules reject. A response head with a field over 64 KiB is replaced by an
// empty 500. Nothing a peer sends escapes a connection as an exception. Past
// `max_concurrent_requests`, a request gets 503 with a short text body and the connection closes
// (Spin has no such limit; 0 turns it off). HTTP/2 is not served.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/log.hpp"
#include "base/result.hpp"
#include "http/handler.hpp"
#include "http/socket_address.hpp"

namespace gyre::http {

struct TlsFiles {
  std::string cert_chain_file;   // PEM
  std::string private_key_file;  // PEM
};

struct ServerConfig {
  // `127.0.0.1:3000` or `[::1]:3000`, as Spin's --listen; port 0 picks a free one.
  std::string listen = "127.0.0.1:3000";
  unsigned threads = 1;  // threads running the io_context
  std::optional<TlsFiles> tls;
  // hyper's defaults: its read buffer limit for a request head, and its header count.
  size_t header_limit = 8192 + 4096 * 100;
  size_t max_headers = 100;
  size_t max_concurrent_requests = 0;  // 0: no limit
  // Connections past this many are closed as soon as they are accepted (a line in the
  // log says so); 0: no limit. nginx's worker_connections is of this order.
  size_t max_connections = 10000;
  // A request head must arrive whole within this time of its first byte (of the
  // connection's start, for its first request), else the connection closes: slowloris.
  // hyper's default. Zero: no limit.
  std::chrono::milliseconds header_read_timeout{30'000};
  // A keep-alive connection with no request for this long closes (nginx's default).
  std::chrono::milliseconds keep_alive_timeout{75'000};
  size_t read_chunk_size = 64 * 1024;  // most bytes a request body chunk carries
  // After a response, a request body the handler did not read is drained up to this many
  // bytes to keep the connection; past it the connection closes.
  size_t drain_limit = 1024 * 1024;
  // Where connection-level errors and the server's warnings go; nowhere by default.
  Logger log = null_logger();
};

struct ServerError {
  std::string message;
};

class Server {
 public:
  // Binds and starts serving on `config.threads` threads.
  static Result<std::unique_ptr<Server>, ServerError> start(ServerConfig config,
                                                            std::shared_ptr<Handler> handler);

  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Graceful shutdown: stops accepting (called from a thread other than the server's, the
  // listening socket is closed when this returns; from a handler, shortly after),
  // closes idle connections, and lets in-flight requests finish; their responses carry
  // `connection: close`. Any thread, any number of times.
  void shutdown();
  // Blocks until no connection is left, or the timeout passes (false then).
  bool wait_idle(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Aborts every remaining connection; the requests still running see Request::cancelled.
  void close_all();

  // Requests whose response is not finished yet.
  size_t in_flight() const;

  // Shuts down, aborts what is left, and joins the threads.
  ~Server();

  struct State;

 private:
  explicit Server(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace gyre::http
