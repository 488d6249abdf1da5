#include "http/server.hpp"

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "base/ascii.hpp"
#include "base/task_threads.hpp"

namespace gyre::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using beast::error_code;

namespace {

constexpr size_t kMaxTargetLength = 65534;  // the http crate's URI limit; hyper answers 414

// hyper writes the http crate's canonical reason phrase, "<none>" for codes it lacks.
std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 102:
      return "Processing";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 207:
      return "Multi-Status";
    case 208:
      return "Already Reported";
    case 226:
      return "IM Used";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 305:
      return "Use Proxy";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 418:
      return "I'm a teapot";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Entity";
    case 423:
      return "Locked";
    case 424:
      return "Failed Dependency";
    case 425:
      return "Too Early";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    case 506:
      return "Variant Also Negotiates";
    case 507:
      return "Insufficient Storage";
    case 508:
      return "Loop Detected";
    case 510:
      return "Not Extended";
    case 511:
      return "Network Authentication Required";
    default:
      return "<none>";
  }
}

// IMF-fixdate, as hyper's `date` header. Built from the clock by arithmetic: no locale
// can change it, and no gmtime_r, which takes glibc's time-zone lock on every response.
std::string http_date() {
  static constexpr char kDays[] = "ThuFriSatSunMonTueWed";  // 1970-01-01 was a Thursday
  static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const int64_t now = std::time(nullptr);
  int64_t days = now / 86400;
  int64_t second_of_day = now % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --days;
  }
  const int64_t weekday = ((days % 7) + 7) % 7;
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  std::string out = "Thu, 01 Jan 1970 00:00:00 GMT";
  auto two = [&](size_t at, int64_t value) {
    out[at] = static_cast<char>('0' + value / 10);
    out[at + 1] = static_cast<char>('0' + value % 10);
  };
  out.replace(0, 3, kDays + 3 * weekday, 3);
  two(5, day);
  out.replace(8, 3, kMonths + 3 * (month - 1), 3);
  two(12, year / 100 % 100);
  two(14, year % 100);
  two(17, second_of_day / 3600);
  two(20, second_of_day / 60 % 60);
  two(23, second_of_day % 60);
  return out;
}

std::optional<uint64_t> parse_length(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

void report(const ServerConfig& config, std::string_view what, const error_code& ec) {
  if (config.log) config.log(std::string(what) + ": " + ec.message());
}

}  // namespace

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

// ---------------------------------------------------------------------------------------
// Connections and exchanges.

namespace {

class Connection;

// One io_context and the threads running it: normally one thread. Handlers may run a short
// task on it (a component's guest, see Handler); when every thread of the lane has been
// inside one handler call for a while, the watchdog adds a thread so the lane's other
// connections go on being served, and that thread leaves once the lane has a free one.
struct Lane {
  explicit Lane(unsigned i) : index(i) {}
  const unsigned index;  // Request::lane
  std::shared_ptr<net::io_context> io = std::make_shared<net::io_context>();
  std::atomic<unsigned> running{0};     // threads in the lane's run loop
  std::atomic<unsigned> in_handler{0};  // of those, inside Handler::handle
  std::atomic<uint64_t> handler_calls{0};
  uint64_t calls_seen = 0;  // by the watchdog, at its last look

  // Runs handlers until the lane has another free thread (or stops).
  void help() {
    for (;;) {
      io->run_one_for(std::chrono::milliseconds(20));
      std::lock_guard lock(leave_mutex);  // so two helpers do not both leave on one look
      if (io->stopped() || running.load() - in_handler.load() >= 2) {
        --running;
        return;
      }
    }
  }
  std::mutex leave_mutex;
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
  std::vector<std::thread> threads;  // one per lane, and the watchdog

  // The watchdog's helper threads.
  std::mutex helpers_mutex;
  std::condition_variable watchdog_wake;
  bool watchdog_stop = false;  // under helpers_mutex
  TaskThreads helpers;         // under helpers_mutex

  bool on_server_thread() {
    const auto me = std::this_thread::get_id();
    for (const auto& t : threads) {
      if (t.get_id() == me) return true;
    }
    std::lock_guard lock(helpers_mutex);
    return helpers.runs_on(me);
  }

  void watchdog() {
    std::unique_lock lock(helpers_mutex);
    while (!watchdog_wake.wait_for(lock, std::chrono::milliseconds(2),
                                   [this] { return watchdog_stop; })) {
      helpers.reap();
      for (auto& lane : lanes) {
        const uint64_t calls = lane->handler_calls.load();
        const unsigned in_handler = lane->in_handler.load();
        const bool stuck =
            in_handler > 0 && in_handler >= lane->running.load() && calls == lane->calls_seen;
        lane->calls_seen = calls;
        if (!stuck) continue;
        ++lane->running;
        helpers.start([l = lane.get()] { l->help(); });
      }
    }
  }

  std::atomic<bool> shutting_down{false};
  std::atomic<size_t> in_flight{0};

  std::mutex mutex;  // guards connections
  std::condition_variable idle;
  std::map<uint64_t, std::weak_ptr<Connection>> connections;
  uint64_t next_connection = 0;

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
using Done = ResponseWriter::Done;

struct Op {
  // whole: a head and the entire body, written at once (one write for both).
  enum class Kind { continue100, start, chunk, finish, whole };
  Kind kind;
  ResponseHead head;
  std::string data;
  Done done;
};

void complete(Done& done, bool ok) {
  if (done) std::exchange(done, {})(ok);
}

// What an exchange needs from its connection; implemented once per stream type.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  virtual ~Connection() = default;

  // Runs `fn` on the connection's strand unless the connection is gone (false then).
  bool try_post(std::function<void()> fn) {
    std::lock_guard lock(post_mutex_);
    if (gone_) return false;
    net::post(strand(), std::move(fn));
    return true;
  }

  virtual void body_read(uint64_t exchange, std::function<void(BodyChunk)> done) = 0;
  virtual void response_op(uint64_t exchange, Op op) = 0;
  virtual void abort_exchange(uint64_t exchange) = 0;
  virtual void abandon(uint64_t exchange) = 0;
  virtual void on_shutdown() = 0;
  virtual void force_close() = 0;

 protected:
  virtual net::any_io_executor strand() = 0;
  void mark_gone() {
    std::lock_guard lock(post_mutex_);
    gone_ = true;
  }

 private:
  std::mutex post_mutex_;
  bool gone_ = false;
};

BodyChunk failed_chunk(std::string why) {
  return BodyChunk{{}, true, std::move(why)};
}

// The handler's view of one request: its body and its response.
class Exchange final : public BodyReader, public ResponseWriter {
 public:
  Exchange(std::shared_ptr<Connection> connection, uint64_t id)
      : connection_(std::move(connection)), id_(id) {}

  ~Exchange() override {
    // A response the handler finished needs nothing more (abandon would do nothing).
    if (!finished_) connection_->try_post([c = connection_, id = id_] { c->abandon(id); });
  }

  void read(std::function<void(BodyChunk)> done) override {
    auto shared = std::make_shared<std::function<void(BodyChunk)>>(std::move(done));
    if (!connection_->try_post(
            [c = connection_, id = id_, shared] { c->body_read(id, std::move(*shared)); })) {
      (*shared)(failed_chunk("the connection is closed"));
    }
  }

  void start(ResponseHead head, Done done) override {
    submit(Op{Op::Kind::start, std::move(head), {}, std::move(done)});
  }
  void write(std::string chunk, Done done) override {
    submit(Op{Op::Kind::chunk, {}, std::move(chunk), std::move(done)});
  }
  void finish(Done done) override {
    finished_ = submit(Op{Op::Kind::finish, {}, {}, std::move(done)});
  }
  void respond(ResponseHead head, std::string body, Done done) override {
    finished_ = submit(Op{Op::Kind::whole, std::move(head), std::move(body), std::move(done)});
  }
  void abort() override {
    connection_->try_post([c = connection_, id = id_] { c->abort_exchange(id); });
  }

 private:
  // False if the connection is gone (the op's done callback is then told so).
  bool submit(Op op) {
    auto shared = std::make_shared<Op>(std::move(op));
    if (!connection_->try_post(
            [c = connection_, id = id_, shared] { c->response_op(id, std::move(*shared)); })) {
      complete(shared->done, false);
      return false;
    }
    return true;
  }

  std::shared_ptr<Connection> connection_;
  uint64_t id_;
  bool finished_ = false;  // a finish or whole response was handed to the connection
};

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
    if (phase_ == Phase::reading_head) close();
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

  void read_head() {
    if (closed_) return;
    if (state_->shutting_down) return close();
    phase_ = Phase::reading_head;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(config().header_limit, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(boost::none);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = self()](error_code ec, size_t) { self->on_head(ec); });
  }

  void on_head(error_code ec) {
    if (closed_) return;
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
          ec == net::error::eof || ec == net::error::connection_reset ||
          ec == bhttp::error::partial_message) {
        return close();
      }
      if (ec == bhttp::error::header_limit) return reject(431);
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
        return reject(400);
      }
      report(config(), "reading a request head", ec);
      return close();
    }
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
    ++exchange_id_;
    exchange_active_ = true;
    queued_ = Queued::none;
    written_ = 0;
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
    std::shared_ptr<ResponseWriter> writer(exchange, exchange.get());
    exchange.reset();
    ++lane_.in_handler;
    ++lane_.handler_calls;
    try {
      state_->handler->handle(std::move(request), std::move(writer));
    } catch (const std::exception& e) {
      // The exchange is abandoned when the handler's references go: a 500, or an abort.
      if (config().log) config().log(std::string("handler threw: ") + e.what());
    }
    --lane_.in_handler;
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
    const unsigned status = head.status;
    body_allowed_ = !(request_is_head_ || status / 100 == 1 || status == 204 || status == 304);
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
  std::optional<bhttp::request_parser<bhttp::buffer_body>> parser_;
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

void accept_next(const std::shared_ptr<State>& state) {
  Lane* lane = state->lanes[state->next_lane++ % state->lanes.size()].get();
  state->acceptor->async_accept(
      net::make_strand(*lane->io), [state, lane](error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !state->acceptor->is_open()) return;
        if (ec) {
          report(state->config, "accepting a connection", ec);
        } else if (!state->shutting_down) {
          error_code endpoint_error;
          const auto remote = socket.remote_endpoint(endpoint_error);
          if (!endpoint_error) {
            socket.set_option(tcp::no_delay(true), endpoint_error);
            std::string client = format_socket_address(remote);
            if (state->ssl) {
              launch(state, *lane,
                     beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)),
                                                          *state->ssl),
                     std::move(client));
            } else {
              launch(state, *lane, beast::tcp_stream(std::move(socket)), std::move(client));
            }
          }
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
  error_code ec;
  state->acceptor->open(endpoint->protocol(), ec);
  if (!ec) state->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor->bind(*endpoint, ec);
  if (!ec) state->acceptor->listen(net::socket_base::max_listen_connections, ec);
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
    lane->running = 1;
    state->threads.emplace_back([l = lane.get()] {
      l->io->run();
      --l->running;
    });
  }
  state->threads.emplace_back([s = state.get()] { s->watchdog(); });
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
  for (auto& c : live)
    c->try_post([c] { c->force_close(); });
}

Server::~Server() {
  shutdown();
  close_all();
  wait_idle();
  state_->work.clear();
  {
    std::lock_guard lock(state_->helpers_mutex);
    state_->watchdog_stop = true;
  }
  state_->watchdog_wake.notify_all();
  for (auto& t : state_->threads)
    t.join();
  state_->threads.clear();
  state_->helpers.join_all();
}

}  // namespace gyre::http
