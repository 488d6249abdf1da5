#include "http/server.hpp"

#include <sys/socket.h>

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "base/ascii.hpp"
#include "base/thread_name.hpp"
#include "http/protocol_text.hpp"
#include "http/request_framing.hpp"
#include "http/server_exchange.hpp"

namespace gyre::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using beast::error_code;

namespace {

constexpr size_t kMaxTargetLength = 65534;  // the http crate's URI limit; hyper answers 414

void report(const ServerConfig& config, std::string_view what, const error_code& ec) {
  config.log->error("{}: {}", what, ec.message());
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Connections and exchanges.

namespace {

// Runs a lane's loop (or a turn of it). An exception that escapes a completion handler
// (none should: connections catch their own) is logged and false returned, so that the
// caller goes on serving: one connection's fault never ends the process.
template <class Fn>
bool run_guarded(const ServerConfig& config, Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    config.log->error("a connection failed: {}", e.what());
  } catch (...) {
    config.log->error("a connection failed with an unknown exception");
  }
  return false;
}

// One io_context and the one thread running it. Nothing on it blocks: handlers return at
// once, and guests run on fibers that suspend when they wait and yield when they compute
// (trigger/fiber_task.hpp), so the lane needs no second thread.
struct Lane {
  explicit Lane(unsigned i) : index(i) {}
  const unsigned index;  // Request::lane
  std::shared_ptr<net::io_context> io = std::make_shared<net::io_context>();
};

}  // namespace

struct Server::State {
  // First: they outlive every socket below. Connections are spread over the lanes.
  std::vector<std::unique_ptr<Lane>> lanes;
  std::atomic<size_t> next_lane{0};
  ServerConfig config;
  std::shared_ptr<Handler> handler;
  std::optional<net::ssl::context> ssl;
  std::optional<tcp::acceptor> acceptor;  // runs on its own strand
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;  // one per lane

  bool on_server_thread() {
    const auto me = std::this_thread::get_id();
    for (const auto& t : threads) {
      if (t.get_id() == me) return true;
    }
    return false;
  }

  std::atomic<bool> shutting_down{false};
  std::atomic<size_t> in_flight{0};

  std::mutex mutex;  // guards connections
  std::condition_variable idle;
  std::map<uint64_t, std::weak_ptr<server_detail::Connection>> connections;
  uint64_t next_connection = 0;

  // The accept loop's back-off while the process is out of file descriptors.
  std::optional<net::steady_timer> accept_timer;  // on the acceptor's strand
  std::chrono::milliseconds accept_delay{0};
  std::atomic<bool> limit_reported{false};  // said once per time the limit is reached

  bool at_connection_limit() {
    if (config.max_connections == 0) return false;
    std::lock_guard lock(mutex);
    return connections.size() >= config.max_connections;
  }

  // Counts a request in, unless the limit is reached.
  bool admit() {
    const size_t limit = config.max_concurrent_requests;
    size_t current = in_flight.load();
    do {
      if (limit != 0 && current >= limit) return false;
    } while (!in_flight.compare_exchange_weak(current, current + 1));
    return true;
  }
};

namespace {

using State = Server::State;
using namespace server_detail;

template <class Stream>
class Session final : public Connection {
 public:
  Session(std::shared_ptr<State> state, Lane& lane, uint64_t id, Stream stream, std::string client)
      : state_(std::move(state)),
        lane_(lane),
        id_(id),
        stream_(std::move(stream)),
        client_address_(std::move(client)) {}

  // Starts the connection on its strand.
  void start() {
    net::dispatch(strand(), [self = self()] { self->run(); });
  }

  void run() {
    arm_timeout(config().header_read_timeout);
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      phase_ = Phase::handshake;
      stream_.async_handshake(net::ssl::stream_base::server, [self = self()](error_code ec) {
        if (ec) {
          report(self->state_->config, "TLS handshake", ec);
          return self->close();
        }
        self->read_head();
      });
    } else {
      read_head();
    }
  }

  void body_read(uint64_t exchange, std::function<void(BodyChunk)> done) override {
    if (closed_ || exchange != exchange_id_ || !exchange_active_) {
      return done(failed_chunk("the request is over"));
    }
    if (reading_) return done(failed_chunk("a body read is already in progress"));
    if (body_error_) return done(failed_chunk(*body_error_));
    if (parser_->is_done()) return done(BodyChunk{{}, true, {}});
    if (expect_continue_ && !continue_sent_ && queued_ == Queued::none) {
      continue_sent_ = true;
      queue_.push_front(Op{Op::Kind::continue100, {}, {}, {}});
      pump();
    }
    reading_ = true;
    read_chunk(std::move(done));
  }

  void response_op(uint64_t exchange, Op op) override {
    if (closed_ || exchange != exchange_id_ || !exchange_active_) return complete(op.done, false);
    // The order the handler asked for: start, chunks, finish.
    const bool opens = op.kind == Op::Kind::start || op.kind == Op::Kind::whole;
    const bool in_order = opens ? queued_ == Queued::none : queued_ == Queued::started;
    if (!in_order) {
      complete(op.done, false);
      return close();
    }
    if (op.kind == Op::Kind::start) queued_ = Queued::started;
    if (op.kind == Op::Kind::finish || op.kind == Op::Kind::whole) queued_ = Queued::finished;
    queue_.push_back(std::move(op));
    pump();
  }

  void abort_exchange(uint64_t exchange) override {
    if (exchange == exchange_id_ && exchange_active_) close();
  }

  void abandon(uint64_t exchange) override {
    if (closed_ || exchange != exchange_id_ || !exchange_active_) return;
    if (queued_ == Queued::none) {
      // Spin answers a failed component with an empty 500.
      queued_ = Queued::finished;
      queue_.push_back(Op{Op::Kind::start, ResponseHead{500, {{"content-length", "0"}}}, {}, {}});
      queue_.push_back(Op{Op::Kind::finish, {}, {}, {}});
      pump();
    } else if (queued_ == Queued::started) {
      close();
    }
  }

  void on_shutdown() override {
    keep_alive_ = false;
    // A connection between requests closes; one whose next head is arriving finishes it.
    if (phase_ == Phase::reading_head && !head_started_) close();
  }

  void force_close() override { close(); }

 protected:
  // The socket's executor is the strand it was accepted on.
  net::any_io_executor strand() override { return beast::get_lowest_layer(stream_).get_executor(); }

 private:
  enum class Phase { handshake, reading_head, exchange, draining, closed };
  enum class Queued { none, started, finished };

  std::shared_ptr<Session> self() { return std::static_pointer_cast<Session>(shared_from_this()); }

  const ServerConfig& config() const { return state_->config; }

  // Reads the next request head. Until its first byte the connection is idle (the
  // keep-alive timeout, or the header timeout for a connection's first request); from the
  // first byte the whole head must arrive within the header timeout (slowloris).
  void read_head() {
    if (closed_) return;
    if (state_->shutting_down) return close();
    phase_ = Phase::reading_head;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(config().header_limit, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(boost::none);
    fold_.reset();
    head_started_ = false;
    if (served_ > 0) arm_timeout(config().keep_alive_timeout);
    parse_head();
  }

  // Parses what is buffered; reads more while the head is incomplete.
  void parse_head() {
    if (buffer_.size() > 0) {
      if (!head_started_ && served_ > 0) arm_timeout(config().header_read_timeout);
      head_started_ = true;
      const auto bytes = buffer_.data();
      const std::string_view view(static_cast<const char*>(bytes.data()), bytes.size());
      fold_.feed(view.substr(fold_.scanned()));
      if (fold_.found()) return reject(400);
      error_code ec;
      const size_t used = parser_->put(bytes, ec);
      buffer_.consume(used);
      fold_.consumed(used);
      if (ec != bhttp::error::need_more) return on_head(ec);
    }
    const size_t room =
        std::max<size_t>(4096, std::min<size_t>(config().read_chunk_size, config().header_limit));
    stream_.async_read_some(buffer_.prepare(room), [self = self()](error_code ec, size_t n) {
      if (ec) return self->on_head(ec);
      self->buffer_.commit(n);
      self->parse_head();
    });
  }

  // The connection's reads and writes fail with a timeout after `after`; zero: never.
  void arm_timeout(std::chrono::milliseconds after) {
    auto& lowest = beast::get_lowest_layer(stream_);
    if (after.count() > 0) {
      lowest.expires_after(after);
    } else {
      lowest.expires_never();
    }
  }

  void on_head(error_code ec) {
    if (closed_) return;
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
          ec == net::error::eof || ec == net::error::connection_reset ||
          ec == bhttp::error::partial_message || ec == beast::error::timeout) {
        return close();
      }
      if (ec == bhttp::error::header_limit) return reject(431);
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
        return reject(400);
      }
      report(config(), "reading a request head", ec);
      return close();
    }
    if (breaks_framing_rules(*parser_)) return reject(400);
    auto& message = parser_->get();
    RequestHead head;
    head.method = std::string(message.method_string());
    head.target = std::string(message.target());
    head.version = message.version();
    head.tls = std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>;
    for (const auto& field : message) {
      head.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    }
    if (head.headers.size() > config().max_headers) return reject(431);
    if (head.target.size() > kMaxTargetLength) return reject(414);
    auto target = parse_request_target(head.target);
    if (!target) return reject(400);
    if (!state_->admit()) return reject(503, "Too many requests in flight\n");

    phase_ = Phase::exchange;
    arm_timeout(std::chrono::milliseconds(0));  // a handler takes as long as it takes
    ++exchange_id_;
    ++served_;
    exchange_active_ = true;
    cancelled_ = std::make_shared<std::atomic<bool>>(false);
    set_cancel_flag(cancelled_);
    queued_ = Queued::none;
    written_ = 0;
    replaced_ = false;
    expected_length_.reset();
    reading_ = false;
    end_pending_ = false;
    body_error_.reset();
    keep_alive_ = message.keep_alive() && !state_->shutting_down;
    request_version_ = head.version;
    request_is_head_ = head.method == "HEAD";
    const auto expect = find_header(head.headers, "expect");
    expect_continue_ = head.version == 11 && expect && iequals(*expect, "100-continue");
    continue_sent_ = false;

    auto exchange = std::make_shared<Exchange>(shared_from_this(), exchange_id_);
    Request request;
    request.head = std::move(head);
    request.client_address = client_address_;
    request.body = std::shared_ptr<BodyReader>(exchange, exchange.get());
    request.target = std::move(target);
    request.body_empty = parser_->is_done();
    request.lane = lane_.index;
    request.executor = lane_.io->get_executor();
    request.cancelled = cancelled_;
    std::shared_ptr<ResponseWriter> writer(exchange, exchange.get());
    exchange.reset();
    if (request.body_empty) watch_client_soon();
    try {
      state_->handler->handle(std::move(request), std::move(writer));
    } catch (const std::exception& e) {
      // The exchange is abandoned when the handler's references go: a 500, or an abort.
      config().log->error("a handler threw: {}", e.what());
    } catch (...) {
      config().log->error("a handler threw an unknown exception");
    }
  }

  // Arms watch_client() for a request still running once the lane has turned: most
  // requests are answered by then, and arming the watch costs two system calls (the
  // epoll registration, then the peek when the next request arrives), about a twentieth
  // of a small request's work. The check goes through the lane and then the strand, so
  // that it runs after the response writes the handler queued and their completion.
  void watch_client_soon() {
    net::post(lane_.io->get_executor(), [self = self(), flag = cancelled_] {
      self->try_post([self, flag] {
        if (flag == self->cancelled_ && self->exchange_active_ && !flag->load())
          self->watch_client();
      });
    });
  }

  // Once a request is read whole, the socket turning readable means the client sent its
  // next request, or left: a client that closes or resets its connection while its
  // request runs has nobody left to answer (hyper's default, half-close off), so the
  // exchange is cancelled and the connection closed. Looked at off the strand, which a
  // guest run in place may hold, with a peek that consumes nothing.
  void watch_client() {
    auto& socket = beast::get_lowest_layer(stream_).socket();
    auto flag = cancelled_;
    const int fd = socket.native_handle();
    socket.async_wait(
        tcp::socket::wait_read,
        net::bind_executor(lane_.io->get_executor(), [self = self(), flag, fd](error_code ec) {
          if (ec || flag->load()) return;
          char byte;
          const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n > 0) return;  // the next request: the client is still there
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
          flag->store(true);
          self->try_post([self, flag] {
            if (flag == self->cancelled_ && self->exchange_active_) self->close();
          });
        }));
  }

  // An answer the server gives on its own, after which the connection closes.
  void reject(unsigned status, std::string body = {}) {
    phase_ = Phase::closed;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->result(status);
    res->reason(reason_phrase(status));
    res->version(11);
    if (!body.empty()) res->insert("content-type", "text/plain");
    res->insert("content-length", std::to_string(body.size()));
    res->insert("connection", "close");
    res->insert("date", http_date());
    res->body() = std::move(body);
    bhttp::async_write(stream_, *res, [self = self(), res](error_code ec, size_t) {
      if (ec) return self->close();
      self->linger_close();
    });
  }

  // Closes after a final response without losing it: closing a socket with unread input
  // makes the kernel send a reset, which can destroy the response before the client reads
  // it. So stop sending, read and drop what the client still sends (a little, briefly),
  // then close.
  void linger_close() {
    if (closed_) return;
    phase_ = Phase::closed;
    auto& lowest = beast::get_lowest_layer(stream_);
    error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest.expires_after(std::chrono::seconds(2));
    discard(std::make_shared<std::array<char, 4096>>(), 0);
  }

  void discard(std::shared_ptr<std::array<char, 4096>> scratch, size_t total) {
    auto& lowest = beast::get_lowest_layer(stream_);
    lowest.async_read_some(net::buffer(*scratch),
                           [self = self(), scratch, total](error_code ec, size_t n) {
                             if (ec || self->closed_ || total + n > 1024 * 1024)
                               return self->close();
                             self->discard(scratch, total + n);
                           });
  }

  void read_chunk(std::function<void(BodyChunk)> done) {
    read_buffer_.resize(config().read_chunk_size);
    auto& body = parser_->get().body();
    body.data = read_buffer_.data();
    body.size = read_buffer_.size();
    bhttp::async_read_some(stream_, buffer_, *parser_,
                           [self = self(), done = std::move(done)](error_code ec, size_t) mutable {
                             self->on_chunk(ec, std::move(done));
                           });
  }

  void on_chunk(error_code ec, std::function<void(BodyChunk)> done) {
    if (ec == bhttp::error::need_buffer) ec = {};
    const size_t got = read_buffer_.size() - parser_->get().body().size;
    if (!ec && got == 0 && !parser_->is_done() && !closed_) return read_chunk(std::move(done));
    reading_ = false;
    BodyChunk chunk{std::string(read_buffer_.data(), got), false, {}};
    if (ec) {
      body_error_ = closed_ ? std::string("the connection is closed") : ec.message();
      keep_alive_ = false;
      chunk.end = true;
      chunk.error = *body_error_;
    } else {
      chunk.end = parser_->is_done();
      if (chunk.end && exchange_active_) watch_client();
    }
    done(std::move(chunk));
    if (end_pending_) {
      end_pending_ = false;
      after_exchange();
    }
  }

  void pump() {
    if (writing_ || queue_.empty() || closed_) return;
    writing_ = true;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    switch (current_.kind) {
      case Op::Kind::continue100: {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                         [self = self()](error_code ec, size_t) { self->on_written(ec); });
        return;
      }
      case Op::Kind::start:
        return write_head();
      case Op::Kind::chunk:
        return write_chunk();
      case Op::Kind::finish:
        return write_finish();
      case Op::Kind::whole:
        return write_whole();
    }
  }

  void on_written(error_code ec) {
    writing_ = false;
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      complete(current_.done, false);
      return close();
    }
    const bool finished = current_.kind == Op::Kind::finish || current_.kind == Op::Kind::whole;
    complete(current_.done, true);
    current_ = Op{};
    if (finished) return end_exchange();
    pump();
  }

  void write_head() {
    prepare_head(std::nullopt);
    serializer_.emplace(*response_);
    bhttp::async_write_header(stream_, *serializer_,
                              [self = self()](error_code ec, size_t) { self->on_written(ec); });
  }

  // The head and the whole body in one write: the body's length is known, so it goes out
  // with a content-length (unless the head gave one, which must then agree).
  void write_whole() {
    prepare_head(current_.data.size());
    if (body_allowed_ && expected_length_ && *expected_length_ != current_.data.size()) {
      complete(current_.done, false);
      return close();  // the body disagrees with the content-length the head promised
    }
    auto& body = response_->body();
    if (body_allowed_ && !current_.data.empty()) {
      body.data = const_cast<char*>(current_.data.data());
      body.size = current_.data.size();
      written_ = current_.data.size();
    }
    body.more = false;
    serializer_.emplace(*response_);
    bhttp::async_write(stream_, *serializer_,
                       [self = self()](error_code ec, size_t) { self->on_written(ec); });
  }

  // The response head from current_.head; `whole_length` is the body's length when the
  // whole body comes with it (a content-length instead of chunked framing).
  void prepare_head(std::optional<size_t> whole_length) {
    ResponseHead& head = current_.head;
    if (!fits_a_field(head.headers)) {
      // Beast cannot carry it, and a peer would refuse it: the handler's answer is lost.
      config().log->error("a response header is over {} bytes; answering 500 instead",
                          kMaxFieldBytes);
      head = ResponseHead{500, {}};
      whole_length = 0;
      replaced_ = true;
    }
    const unsigned status = head.status;
    body_allowed_ =
        !(replaced_ || request_is_head_ || status / 100 == 1 || status == 204 || status == 304);
    response_.emplace();
    auto& res = *response_;
    res.version(request_version_);
    res.result(status);
    res.reason(reason_phrase(status));
    bool has_date = false;
    for (Header& h : head.headers) {
      // Framing and connection management are the server's.
      if (iequals(h.name, "transfer-encoding") || iequals(h.name, "connection")) continue;
      if (iequals(h.name, "content-length")) {
        const auto length = parse_length(h.value);
        if (!length || expected_length_) continue;
        expected_length_ = *length;
      }
      if (iequals(h.name, "date")) has_date = true;
      res.insert(h.name, h.value);
    }
    if (!expected_length_ && whole_length) {
      res.insert("content-length", std::to_string(*whole_length));
      expected_length_ = *whole_length;
    }
    if (!expected_length_ && body_allowed_) {
      if (request_version_ == 11) {
        res.insert("transfer-encoding", "chunked");
      } else {
        keep_alive_ = false;  // HTTP/1.0: the body ends when the connection does
      }
    }
    if (!keep_alive_) {
      res.insert("connection", "close");
    } else if (request_version_ == 10) {
      res.insert("connection", "keep-alive");
    }
    if (!has_date) res.insert("date", http_date());
    res.body().data = nullptr;
    res.body().size = 0;
    res.body().more = true;
  }

  void write_chunk() {
    const std::string& data = current_.data;
    if (!body_allowed_ || data.empty()) {
      writing_ = false;
      complete(current_.done, true);
      return pump();
    }
    if (expected_length_ && written_ + data.size() > *expected_length_) {
      complete(current_.done, false);
      return close();  // more than the content-length promised
    }
    written_ += data.size();
    auto& body = response_->body();
    body.data = const_cast<char*>(data.data());
    body.size = data.size();
    body.more = true;
    bhttp::async_write(stream_, *serializer_,
                       [self = self()](error_code ec, size_t) { self->on_written(ec); });
  }

  void write_finish() {
    if (body_allowed_ && expected_length_ && written_ != *expected_length_) {
      complete(current_.done, false);
      return close();  // fewer bytes than the content-length promised
    }
    auto& body = response_->body();
    body.data = nullptr;
    body.size = 0;
    body.more = false;
    bhttp::async_write(stream_, *serializer_,
                       [self = self()](error_code ec, size_t) { self->on_written(ec); });
  }

  void release_request() {
    if (!exchange_active_) return;
    exchange_active_ = false;
    set_cancel_flag(nullptr);
    state_->in_flight.fetch_sub(1);
  }

  void end_exchange() {
    release_request();
    serializer_.reset();
    response_.reset();
    if (reading_) {
      end_pending_ = true;  // the handler's last read is still out; continue after it
      return;
    }
    after_exchange();
  }

  void after_exchange() {
    if (closed_) return;
    if (body_error_) return close();
    if (!keep_alive_ || state_->shutting_down) return linger_close();
    if (parser_->is_done()) return read_head();
    // A client waiting for `100 Continue` that never came may never send the body.
    if (expect_continue_ && !continue_sent_) return linger_close();
    phase_ = Phase::draining;
    drained_ = 0;
    drain();
  }

  // Reads and drops what is left of a request body the handler did not want.
  void drain() {
    read_buffer_.resize(config().read_chunk_size);
    auto& body = parser_->get().body();
    body.data = read_buffer_.data();
    body.size = read_buffer_.size();
    bhttp::async_read_some(stream_, buffer_, *parser_, [self = self()](error_code ec, size_t) {
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec || self->closed_) return self->close();
      self->drained_ += self->read_buffer_.size() - self->parser_->get().body().size;
      if (self->parser_->is_done()) return self->read_head();
      if (self->drained_ > self->config().drain_limit || !self->keep_alive_) {
        return self->linger_close();
      }
      self->drain();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    phase_ = Phase::closed;
    // A request still being answered has nobody to answer now.
    if (exchange_active_ && cancelled_) cancelled_->store(true);
    mark_gone();
    error_code ignored;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    release_request();
    complete(current_.done, false);
    for (Op& op : queue_)
      complete(op.done, false);
    queue_.clear();
    {
      std::lock_guard lock(state_->mutex);
      state_->connections.erase(id_);
    }
    state_->idle.notify_all();
  }

  std::shared_ptr<State> state_;
  Lane& lane_;
  uint64_t id_;
  Stream stream_;
  std::string client_address_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  ObsFoldScanner fold_;
  bool head_started_ = false;                     // a byte of the next head has arrived
  uint64_t served_ = 0;                           // requests read on this connection
  std::shared_ptr<std::atomic<bool>> cancelled_;  // the current exchange's
  std::vector<char> read_buffer_;
  std::optional<bhttp::response<bhttp::buffer_body>> response_;
  std::optional<bhttp::response_serializer<bhttp::buffer_body>> serializer_;
  std::deque<Op> queue_;
  Op current_{};

  Phase phase_ = Phase::reading_head;
  bool closed_ = false;
  uint64_t exchange_id_ = 0;
  bool exchange_active_ = false;
  Queued queued_ = Queued::none;
  bool writing_ = false;
  bool reading_ = false;
  bool end_pending_ = false;
  std::optional<std::string> body_error_;
  bool keep_alive_ = true;
  unsigned request_version_ = 11;
  bool request_is_head_ = false;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  bool body_allowed_ = true;
  std::optional<uint64_t> expected_length_;
  bool replaced_ = false;  // the handler's head could not be sent: a 500 went instead
  uint64_t written_ = 0;
  size_t drained_ = 0;
};

template <class Stream>
void launch(const std::shared_ptr<State>& state, Lane& lane, Stream stream, std::string client) {
  std::shared_ptr<Session<Stream>> session;
  {
    std::lock_guard lock(state->mutex);
    const uint64_t id = state->next_connection++;
    session =
        std::make_shared<Session<Stream>>(state, lane, id, std::move(stream), std::move(client));
    state->connections[id] = session;
  }
  session->start();
}

void accept_next(const std::shared_ptr<State>& state);

// Out of file descriptors (or kernel memory): the pending connection stays in the backlog,
// so accepting again at once would spin. Wait, longer each time (5 ms up to 1 s, as Go's
// net/http), until a connection closes and frees one; say so once per episode.
void back_off(const std::shared_ptr<State>& state, const error_code& ec) {
  if (state->accept_delay.count() == 0) {
    report(state->config, "accepting connections (waiting for one to close)", ec);
    state->accept_delay = std::chrono::milliseconds(5);
  } else {
    state->accept_delay =
        std::min<std::chrono::milliseconds>(2 * state->accept_delay, std::chrono::seconds(1));
  }
  state->accept_timer->expires_after(state->accept_delay);
  state->accept_timer->async_wait([state](error_code wait_error) {
    if (wait_error || !state->acceptor->is_open()) return;
    accept_next(state);
  });
}

bool out_of_descriptors(const error_code& ec) {
  return ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
         ec == net::error::no_memory || ec.value() == ENFILE;
}

// Serves an accepted connection on `lane`, or refuses it at the connection limit.
void take(const std::shared_ptr<State>& state, Lane& lane, const error_code& ec,
          tcp::socket socket) {
  state->accept_delay = std::chrono::milliseconds(0);
  if (ec) {
    report(state->config, "accepting a connection", ec);
  } else if (state->at_connection_limit()) {
    error_code ignored;
    socket.close(ignored);
    if (!state->limit_reported.exchange(true)) {
      state->config.log->warn("refusing connections: {} are open (the connection limit)",
                              state->config.max_connections);
    }
  } else if (!state->shutting_down) {
    state->limit_reported = false;
    error_code endpoint_error;
    const auto remote = socket.remote_endpoint(endpoint_error);
    if (!endpoint_error) {
      socket.set_option(tcp::no_delay(true), endpoint_error);
      std::string client = format_socket_address(remote);
      if (state->ssl) {
        launch(
            state, lane,
            beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *state->ssl),
            std::move(client));
      } else {
        launch(state, lane, beast::tcp_stream(std::move(socket)), std::move(client));
      }
    }
  }
}

// Connections accepted at once after one accept completes, from the backlog, without
// waiting: an accept's completion takes a turn of a lane's loop, and on lanes busy with
// guests a burst of connections (wrk opening 1000) was accepted one per turn, some of
// them tens of seconds late.
constexpr int kAcceptBurst = 64;

Lane& next_lane(const std::shared_ptr<State>& state) {
  return *state->lanes[state->next_lane++ % state->lanes.size()];
}

void accept_next(const std::shared_ptr<State>& state) {
  Lane* lane = &next_lane(state);
  state->acceptor->async_accept(
      net::make_strand(*lane->io), [state, lane](error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !state->acceptor->is_open()) return;
        if (ec && out_of_descriptors(ec)) return back_off(state, ec);
        take(state, *lane, ec, std::move(socket));
        for (int i = 0; i < kAcceptBurst; ++i) {
          Lane& to = next_lane(state);
          error_code accept_error;
          tcp::socket more = state->acceptor->accept(net::make_strand(*to.io), accept_error);
          if (accept_error == net::error::would_block || accept_error == net::error::try_again)
            break;
          if (accept_error && out_of_descriptors(accept_error))
            return back_off(state, accept_error);
          take(state, to, accept_error, std::move(more));
        }
        accept_next(state);
      });
}

// Runs `fn` on `executor` and waits for it, unless this is already a server thread
// (waiting there could deadlock a one-thread server); then it only queues it.
template <class Executor>
void run_and_wait(const std::shared_ptr<State>& state, Executor executor,
                  std::function<void()> fn) {
  if (state->on_server_thread()) return net::post(executor, std::move(fn));
  std::promise<void> done;
  net::post(executor, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace

Result<std::unique_ptr<Server>, ServerError> Server::start(ServerConfig config,
                                                           std::shared_ptr<Handler> handler) {
  const auto endpoint = parse_listen_address(config.listen);
  if (!endpoint) return ServerError{"invalid listen address '" + config.listen + "'"};
  if (!handler) return ServerError{"no handler"};

  auto state = std::make_shared<State>();
  for (unsigned i = 0; i < std::max(1u, config.threads); ++i)
    state->lanes.push_back(std::make_unique<Lane>(i));
  state->config = std::move(config);
  state->handler = std::move(handler);

  if (state->config.tls) {
    state->ssl.emplace(net::ssl::context::tls_server);
    error_code ec;
    state->ssl->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                                net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                                net::ssl::context::no_tlsv1_1,
                            ec);
    state->ssl->use_certificate_chain_file(state->config.tls->cert_chain_file, ec);
    if (ec) {
      return ServerError{"cannot load TLS certificate '" + state->config.tls->cert_chain_file +
                         "': " + ec.message()};
    }
    state->ssl->use_private_key_file(state->config.tls->private_key_file, net::ssl::context::pem,
                                     ec);
    if (ec) {
      return ServerError{"cannot load TLS private key '" + state->config.tls->private_key_file +
                         "': " + ec.message()};
    }
  }

  state->acceptor.emplace(net::make_strand(*state->lanes.front()->io));
  state->accept_timer.emplace(state->acceptor->get_executor());
  error_code ec;
  state->acceptor->open(endpoint->protocol(), ec);
  if (!ec) state->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor->bind(*endpoint, ec);
  if (!ec) state->acceptor->listen(net::socket_base::max_listen_connections, ec);
  // Non-blocking: accept_next drains the backlog with accept() until it would block.
  if (!ec) state->acceptor->non_blocking(true, ec);
  if (ec) {
    if (ec == net::error::address_in_use) {
      return ServerError{state->config.listen + " is already in use"};
    }
    return ServerError{"Unable to listen on " + state->config.listen + ": " + ec.message()};
  }

  for (const auto& lane : state->lanes)
    state->work.push_back(net::make_work_guard(*lane->io));
  accept_next(state);
  for (const auto& lane : state->lanes) {
    state->threads.emplace_back([s = state.get(), l = lane.get()] {
      name_this_thread("gyre-lane");
      while (!run_guarded(s->config, [l] { l->io->run(); })) {
      }
    });
  }
  return std::unique_ptr<Server>(new Server(std::move(state)));
}

Server::Server(std::shared_ptr<State> state) : state_(std::move(state)) {}

tcp::endpoint Server::local_endpoint() const {
  error_code ec;
  return state_->acceptor->local_endpoint(ec);
}

size_t Server::in_flight() const {
  return state_->in_flight.load();
}

void Server::shutdown() {
  if (state_->shutting_down.exchange(true)) return;
  run_and_wait(state_, state_->acceptor->get_executor(), [state = state_] {
    error_code ignored;
    state->acceptor->close(ignored);
    state->accept_timer->cancel();
  });
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& [id, weak] : state_->connections) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live)
    c->try_post([c] { c->on_shutdown(); });
}

bool Server::wait_idle(std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(state_->mutex);
  auto idle = [&] { return state_->connections.empty(); };
  if (!timeout) {
    state_->idle.wait(lock, idle);
    return true;
  }
  return state_->idle.wait_for(lock, *timeout, idle);
}

void Server::close_all() {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& [id, weak] : state_->connections) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) {
    c->cancel_exchange();  // reaches a guest even while it holds the connection's strand
    c->try_post([c] { c->force_close(); });
  }
}

Server::~Server() {
  shutdown();
  close_all();
  wait_idle();
  state_->work.clear();
  for (auto& t : state_->threads)
    t.join();
  state_->threads.clear();
}

}  // namespace gyre::http
