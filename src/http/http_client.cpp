#include "http/http_client.hpp"

#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "base/ascii.hpp"
#include "base/thread_name.hpp"
#include "http/request_framing.hpp"

namespace gyre::http {
namespace {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

// Wasmtime's defaults when the guest's request-options leave a timeout unset.
constexpr std::chrono::seconds kDefaultTimeout{600};
// How often the guests' first-byte and between-bytes timeouts are checked.
constexpr std::chrono::milliseconds kDeadlineCheck{100};

struct Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::shared_ptr<Exchange> exchange;
  RequestTimeouts timeouts;
  char error[CURL_ERROR_SIZE] = {};
  // The response head as its lines arrive; a 1xx head is replaced by the next one.
  uint16_t status = 0;
  Headers head;
  bool head_done = false;
  bool read_paused = false;
  bool write_paused = false;
  Clock::time_point started = Clock::now();
  Clock::time_point last_byte = Clock::now();
  std::optional<ErrorCode> failure;  // ended by us (a timeout, a head too large), not by curl
  size_t head_bytes = 0;

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  return s;
}

// A response head the guest could not pass on as it came (a field Beast cannot carry), or
// larger than hyper's client reads (its buffer limit), ends the exchange with the error
// wasi:http names for it. Returning 0 makes curl abort the transfer.
size_t refuse_head(Transfer* t, ErrorCode error) {
  t->failure = std::move(error);
  return 0;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line = trim({data, size * count});
  if (t->head_done) return size * count;  // trailers: not passed on
  constexpr size_t kMaxHeadBytes = 8192 + 4096 * 100;
  t->head_bytes += size * count;
  if (t->head_bytes > kMaxHeadBytes) {
    return refuse_head(
        t, ErrorCode::of(ErrorCode::kHttpResponseHeaderSectionSize,
                         "the response head is over " + std::to_string(kMaxHeadBytes) + " bytes"));
  }
  if (line.size() > kMaxFieldBytes) {
    ErrorCode error =
        ErrorCode::of(ErrorCode::kHttpResponseHeaderSize,
                      "a response header is over " + std::to_string(kMaxFieldBytes) + " bytes");
    using component::Val;
    const std::string_view name = line.substr(0, std::min(line.find(':'), line.size()));
    error.payload = Val::record({Val::some(Val::string(ascii_lower(trim(name)))),
                                 Val::some(Val::u32(static_cast<uint32_t>(line.size())))});
    return refuse_head(t, std::move(error));
  }
  if (line.rfind("HTTP/", 0) == 0) {
    t->head.clear();
    const size_t space = line.find(' ');
    unsigned status = 0;
    if (space != std::string_view::npos)
      std::from_chars(line.data() + space + 1, line.data() + line.size(), status);
    t->status = static_cast<uint16_t>(status);
  } else if (line.empty()) {
    if (t->status >= 200) {
      t->head_done = true;
      t->last_byte = Clock::now();
      t->exchange->respond(t->status, std::move(t->head));
    }
  } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    t->head.emplace_back(ascii_lower(trim(line.substr(0, colon))),
                         std::string(trim(line.substr(colon + 1))));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->exchange->ready(Exchange::Event::kResponseRoom)) {
    t->write_paused = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  t->exchange->push_response({data, size * count});
  t->last_byte = Clock::now();
  return size * count;
}

size_t on_request_body(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  auto pulled = t->exchange->pull_request(size * count);
  if (pulled.abandoned) return CURL_READFUNC_ABORT;
  if (!pulled.data.empty()) {
    std::memcpy(buffer, pulled.data.data(), pulled.data.size());
    return pulled.data.size();
  }
  if (pulled.end) return 0;
  t->read_paused = true;
  return CURL_READFUNC_PAUSE;
}

// As Spin's client (hyper) reports failures: any connect error but a timeout is a refused
// connection, and every TLS failure a protocol error.
ErrorCode error_of(CURLcode code, const Transfer& t) {
  const std::string detail = t.error[0] ? std::string(t.error) : curl_easy_strerror(code);
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST: {
      ErrorCode dns = ErrorCode::of(ErrorCode::kDnsError, detail);
      using component::Val;
      dns.payload =
          Val::record({Val::some(Val::string("address not available")), Val::some(Val::u16(0))});
      return dns;
    }
    case CURLE_COULDNT_CONNECT:
      return ErrorCode::of(ErrorCode::kConnectionRefused, detail);
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorCode::of(
          t.status == 0 ? ErrorCode::kConnectionTimeout : ErrorCode::kConnectionReadTimeout,
          detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      return ErrorCode::of(ErrorCode::kTlsProtocolError, detail);
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      return ErrorCode::of(ErrorCode::kConnectionTerminated, detail);
    case CURLE_PARTIAL_FILE:
      return ErrorCode::of(ErrorCode::kHttpResponseIncomplete, detail);
    case CURLE_URL_MALFORMAT:
      return ErrorCode::of(ErrorCode::kHttpRequestUriInvalid, detail);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
      return ErrorCode::of(ErrorCode::kHttpProtocolError, detail);
    default:
      return ErrorCode::of(ErrorCode::kInternalError, detail);
  }
}

long milliseconds(std::optional<std::chrono::nanoseconds> d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      d.value_or(std::chrono::nanoseconds(kDefaultTimeout)));
  return static_cast<long>(std::max<int64_t>(1, std::min<int64_t>(ms.count(), INT32_MAX)));
}

}  // namespace

// The transfers run on curl's socket interface: the driver thread's Asio loop watches only
// the sockets curl asks for and runs curl's timer, so a wake costs in proportion to what
// happened, not to the transfers in flight (curl_multi_poll looked at every socket, and
// the loop at every transfer, on each of the thousands of wakes a second a busy lane
// makes). A transfer's own wake (its guest paused, resumed or cancelled) tends that
// transfer alone; the deadlines of all are checked on a coarse timer.
class HttpClient::Driver {
 public:
  Driver() : multi_(curl_multi_init()) {
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    thread_ = std::thread([this] {
      name_this_thread("gyre-http-out");
      run();
    });
  }
  ~Driver() {
    work_.reset();
    net::post(io_, [this] { io_.stop(); });
    thread_.join();
    for (auto& [easy, t] : active_) {
      curl_multi_remove_handle(multi_, easy);
      t->exchange->set_carrier_wake(nullptr);
      t->exchange->fail(ErrorCode::of(ErrorCode::kConnectionTerminated, "the server is stopping"));
    }
    active_.clear();
    sockets_.clear();
    curl_multi_cleanup(multi_);
  }

  void send(const OutboundRequest& request, std::shared_ptr<Exchange> exchange) {
    auto t = std::make_unique<Transfer>();
    t->exchange = std::move(exchange);
    t->timeouts = request.timeouts;
    CURL* easy = t->easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, request.url().c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request.timeouts.connect));
    if (request.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (request.method != "GET") {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    // Only what the guest set goes out (curl's own Accept and Expect are switched off).
    bool accept = false;
    std::optional<curl_off_t> length;
    for (const auto& [name, value] : request.headers) {
      const std::string line = value.empty() ? name + ";" : name + ": " + value;
      t->headers = curl_slist_append(t->headers, line.c_str());
      if (name == "accept") accept = true;
      if (name == "content-length") {
        curl_off_t n = 0;
        if (std::from_chars(value.data(), value.data() + value.size(), n).ec == std::errc())
          length = n;
      }
    }
    if (!accept) t->headers = curl_slist_append(t->headers, "Accept:");
    t->headers = curl_slist_append(t->headers, "Expect:");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);

    // A body goes out with its content-length when the guest gave one or had written it
    // all before sending; chunked while it is still being written. An empty finished body
    // of a GET or HEAD is no body at all.
    const bool bodiless_method = request.method == "GET" || request.method == "HEAD";
    if (!length && t->exchange->request_finished()) length = t->exchange->pending_request_bytes();
    if (request.has_body && !(bodiless_method && length == curl_off_t{0})) {
      curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_request_body);
      curl_easy_setopt(easy, CURLOPT_READDATA, t.get());
      if (length) curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, *length);
    }
    t->exchange->set_carrier_wake([this, easy] { net::post(io_, [this, easy] { tend(easy); }); });
    net::post(io_, [this, t = std::move(t)]() mutable {
      CURL* added = t->easy;
      active_.emplace(added, std::move(t));
      curl_multi_add_handle(multi_, added);
      if (!deadlines_armed_) check_deadlines();
    });
  }

 private:
  // A socket curl watches: what it waits for, and which waits are armed.
  struct Watch {
    Watch(net::io_context& io, curl_socket_t s) : socket(io, s) {}
    ~Watch() { socket.release(); }  // curl closes it, not Asio
    net::posix::stream_descriptor socket;
    int what = CURL_POLL_NONE;
    bool reading = false;
    bool writing = false;
  };

  static int on_socket(CURL*, curl_socket_t s, int what, void* self, void*) {
    auto& d = *static_cast<Driver*>(self);
    if (what == CURL_POLL_REMOVE) {
      d.sockets_.erase(s);
      return 0;
    }
    auto& watch = d.sockets_[s];
    if (!watch) watch = std::make_unique<Watch>(d.io_, s);
    watch->what = what;
    d.arm(s, *watch);
    return 0;
  }

  // curl's timer is not an Asio timer: curl moves it several times a transfer, and each
  // move of an armed Asio timer is a timerfd_settime(2) (7% of this thread at 1000
  // transfers in flight). The loop instead runs until the timer is due (the wait is
  // epoll_wait's own timeout) and then acts, never from inside curl's callback.
  static int on_timer(CURLM*, long timeout_ms, void* self) {
    auto& d = *static_cast<Driver*>(self);
    if (timeout_ms < 0) {
      d.timer_due_.reset();
    } else {
      d.timer_due_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    }
    return 0;
  }

  void run() {
    while (!io_.stopped()) {
      if (timer_due_ && *timer_due_ <= std::chrono::steady_clock::now()) {
        timer_due_.reset();
        act(CURL_SOCKET_TIMEOUT, 0);
      } else if (timer_due_) {
        io_.run_one_until(*timer_due_);
      } else {
        io_.run_one();
      }
    }
  }

  void arm(curl_socket_t s, Watch& watch) {
    auto ready = [this, s](int flag) {
      return [this, s, flag](boost::system::error_code ec) {
        if (ec) return;  // released: curl let go of the socket
        auto it = sockets_.find(s);
        if (it != sockets_.end())
          (flag == CURL_CSELECT_IN ? it->second->reading : it->second->writing) = false;
        on_ready(s, flag);
      };
    };
    if ((watch.what & CURL_POLL_IN) && !watch.reading) {
      watch.reading = true;
      watch.socket.async_wait(net::posix::descriptor_base::wait_read, ready(CURL_CSELECT_IN));
    }
    if ((watch.what & CURL_POLL_OUT) && !watch.writing) {
      watch.writing = true;
      watch.socket.async_wait(net::posix::descriptor_base::wait_write, ready(CURL_CSELECT_OUT));
    }
  }

  void on_ready(curl_socket_t s, int flags) {
    act(s, flags);
    auto it = sockets_.find(s);
    if (it == sockets_.end()) return;
    // The loop's watch is edge-triggered: what curl left unread (a large body, read a
    // buffer at a time) would not wake it again, so the socket is asked once more.
    const int what = it->second->what;
    pollfd p{s,
             static_cast<short>(((what & CURL_POLL_IN) ? POLLIN : 0) |
                                ((what & CURL_POLL_OUT) ? POLLOUT : 0)),
             0};
    if (::poll(&p, 1, 0) == 1 && p.revents != 0) {
      const int again = ((p.revents & (POLLIN | POLLHUP | POLLERR)) ? CURL_CSELECT_IN : 0) |
                        ((p.revents & POLLOUT) ? CURL_CSELECT_OUT : 0);
      net::post(io_, [this, s, again] { on_ready(s, again); });
      return;
    }
    arm(s, *it->second);
  }

  // Tells curl what happened on a socket (or that its timer ran out), then finishes the
  // transfers that are done.
  void act(curl_socket_t s, int flags) {
    int running = 0;
    curl_multi_socket_action(multi_, s, flags, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg == CURLMSG_DONE) complete(message->easy_handle, message->data.result);
    }
  }

  // Drops a transfer its guest cancelled, and unpauses one whose exchange can move again.
  void tend(CURL* easy) {
    auto it = active_.find(easy);
    if (it == active_.end()) return;  // finished already: a late wake
    Transfer& t = *it->second;
    Exchange& exchange = *t.exchange;
    if (exchange.cancelled()) return remove(easy);
    const bool resume_read = t.read_paused && exchange.ready(Exchange::Event::kRequestData);
    const bool resume_write = t.write_paused && exchange.ready(Exchange::Event::kResponseRoom);
    if (resume_read || resume_write) {
      t.read_paused = t.write_paused = false;
      curl_easy_pause(easy, CURLPAUSE_CONT);  // may run callbacks and finish the transfer
      act(CURL_SOCKET_TIMEOUT, 0);
    }
  }

  // Ends the transfers past the guest's first-byte or between-bytes timeout; runs every
  // kDeadlineCheck while any is in flight.
  void check_deadlines() {
    const auto now = Clock::now();
    std::vector<CURL*> ended;
    for (auto& [easy, t] : active_) {
      if (!t->head_done && now - t->started > t->timeouts.first_byte.value_or(kDefaultTimeout)) {
        // Spin reports a first-byte timeout as a read timeout, as between bytes.
        t->failure = ErrorCode::of(ErrorCode::kConnectionReadTimeout, "no response in time");
      } else if (t->head_done && !t->write_paused &&
                 now - t->last_byte > t->timeouts.between_bytes.value_or(kDefaultTimeout)) {
        t->failure = ErrorCode::of(ErrorCode::kConnectionReadTimeout, "the body stalled");
      }
      if (t->failure) {
        t->exchange->fail(*t->failure);
        ended.push_back(easy);
      }
    }
    for (CURL* easy : ended)
      remove(easy);
    deadlines_armed_ = !active_.empty();
    if (!deadlines_armed_) return;
    deadline_timer_.expires_after(kDeadlineCheck);
    deadline_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) check_deadlines();
    });
  }

  void complete(CURL* easy, CURLcode code) {
    auto it = active_.find(easy);
    if (it == active_.end()) return;
    Transfer& t = *it->second;
    if (code == CURLE_OK && t.head_done) {
      t.exchange->end_response();
    } else if (code == CURLE_OK) {
      t.exchange->fail(ErrorCode::of(ErrorCode::kHttpProtocolError, "no response head"));
    } else if (t.failure) {
      t.exchange->fail(*t.failure);  // a callback of ours refused the transfer
    } else if (code == CURLE_ABORTED_BY_CALLBACK) {
      t.exchange->fail(ErrorCode::of(ErrorCode::kInternalError, "the request body was abandoned"));
    } else {
      t.exchange->fail(error_of(code, t));
    }
    remove(easy);
  }

  void remove(CURL* easy) {
    auto it = active_.find(easy);
    if (it == active_.end()) return;
    curl_multi_remove_handle(multi_, easy);
    it->second->exchange->set_carrier_wake(nullptr);
    active_.erase(it);
  }

  CURLM* multi_;
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(io_);
  std::optional<std::chrono::steady_clock::time_point> timer_due_;  // curl's timer
  net::steady_timer deadline_timer_{io_};                           // check_deadlines()
  bool deadlines_armed_ = false;
  // Only the driver thread touches these.
  std::map<CURL*, std::unique_ptr<Transfer>> active_;
  std::map<curl_socket_t, std::unique_ptr<Watch>> sockets_;
  std::thread thread_;
};

HttpClient::HttpClient() {
  // Thread-safe since curl 7.84; repeated calls only count references.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  driver_ = std::make_unique<Driver>();
}

HttpClient::~HttpClient() {
  driver_.reset();
  curl_global_cleanup();
}

void HttpClient::send(const OutboundRequest& request, std::shared_ptr<Exchange> exchange) {
  driver_->send(request, std::move(exchange));
}

}  // namespace gyre::http
