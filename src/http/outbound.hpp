// Outgoing HTTP from a component: wasi:http/outgoing-handler and the outgoing half of
// wasi:http/types (outgoing-request, request-options, future-incoming-response,
// incoming-response). What the guest builds becomes an OutboundRequest and an Exchange;
// whoever carries it (the network through HttpClient, or a component of the same app for
// service chaining and self requests) answers through the same Exchange, so bodies stream
// both ways whatever the carrier.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "component/host_imports.hpp"
#include "http/handler.hpp"
#include "http/wasi_types.hpp"

namespace gyre::http {

// request-options: each timeout, when the guest set one.
struct RequestTimeouts {
  std::optional<std::chrono::nanoseconds> connect;
  std::optional<std::chrono::nanoseconds> first_byte;
  std::optional<std::chrono::nanoseconds> between_bytes;
};

// wasi:http/types.request-options: a request's timeouts, as the guest sets them. Those
// of a request (0.3's request.get-options) are immutable.
struct RequestOptions {
  RequestTimeouts timeouts;
  bool immutable = false;
};

// request-options-error (0.3): its cases without a payload, not-supported and immutable.
struct RequestOptionsError {
  uint32_t which = 0;
};

// Adds request-options to `interface` (wasi:http/types at some version), with 0.2's
// method names or 0.3's (`p3`).
void add_request_options(component::HostImports& imports, std::string_view interface, bool p3);

struct OutboundRequest {
  std::string method = "GET";
  std::optional<std::string> scheme;     // none: https, as Wasmtime sends it
  std::optional<std::string> authority;  // none: a request to this application (self)
  std::optional<std::string> path_with_query;
  Headers headers;  // lower-case names; never host (the guest cannot set it)
  RequestTimeouts timeouts;
  bool has_body = false;  // the guest took the body (it may still be writing it)
  // The loop the sending guest runs on (empty when it runs on a thread of its own): a
  // component of this app that serves the request runs on it too.
  boost::asio::any_io_executor loop;

  // "https://example.com:8443/path?q": the scheme as sent, the authority, the path.
  std::string url() const;
};

// One request/response exchange between a guest and a carrier, each on its own thread.
// The request body flows guest → carrier, the response carrier → guest; each direction
// buffers a bounded amount, so a slow reader slows the writer instead of filling memory.
class Exchange {
 public:
  // How much either side may buffer before the writer must wait.
  static constexpr size_t kBufferLimit = 1 << 20;

  // Called (without the lock held) when the guest side changed something the carrier may
  // be waiting for: request bytes written or finished, response bytes read, a cancel.
  void set_carrier_wake(std::function<void()> wake);

  // ---- the request body, written by the guest
  uint64_t request_room();
  void write_request(std::string_view bytes);
  void finish_request();
  void abandon_request();
  bool request_finished();
  size_t pending_request_bytes();  // written and not yet taken by the carrier
  // The carrier takes what was written so far (at most `max` bytes).
  struct Pulled {
    std::string data;
    bool end = false;        // the whole body has been taken
    bool abandoned = false;  // the guest dropped the body unfinished
  };
  Pulled pull_request(size_t max);

  // ---- the response, from the carrier
  void respond(uint16_t status, Headers headers);
  void push_response(std::string_view bytes);
  void end_response();
  void fail(ErrorCode error);

  // ---- the guest's side of the response
  // The head once (status, headers), or the error; nothing while neither has come.
  struct Head {
    uint16_t status = 0;
    Headers headers;
  };
  std::optional<std::variant<Head, ErrorCode>> take_head();
  struct Read {
    std::string data;
    bool end = false;  // the body is complete and all of it has been read
    std::optional<ErrorCode> error;
  };
  Read read_response(size_t max);

  // The guest no longer wants the response; the carrier stops when it notices.
  void cancel();
  bool cancelled();

  // What either side may wait for.
  enum class Event {
    kHead,          // the response head, or an error, arrived
    kResponseData,  // response bytes to read, its end, or an error
    kResponseRoom,  // the guest read enough that the carrier may push more (or cancelled)
    kRequestData,   // request bytes to pull, the body's end, or its abandonment
    kRequestRoom,   // the carrier took enough that the guest may write more (or cancelled)
  };
  bool ready(Event event);
  // Calls `wake` once, at the carrier's next change (for a guest on a fiber, which checks
  // ready() again when woken). A later call replaces an earlier wake not yet called.
  void notify_guest(std::function<void()> wake);
  // The same, in a slot of its own, for whoever writes the request body while the guest
  // waits for the response (WASIp3's host pumps the guest's body stream in).
  void notify_request_room(std::function<void()> wake);
  // Waits until the event or until `max` passes.
  void wait_for(Event event, std::chrono::steady_clock::duration max);

 private:
  bool ready_locked(Event event) const;
  void wake_carrier();
  void wake_guest();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> carrier_wake_;
  std::function<void()> guest_wake_;
  std::function<void()> room_wake_;
  // request body
  std::string request_;
  bool request_done_ = false;
  bool request_abandoned_ = false;
  // response
  std::optional<Head> head_;
  bool head_taken_ = false;
  std::optional<ErrorCode> error_;
  std::string response_;
  bool response_done_ = false;
  bool cancelled_ = false;
};

// Per component instance: the loop its guest runs on, set by whoever runs it on a fiber
// (IncomingCall::call); outgoing requests carry it.
struct GuestLoop {
  boost::asio::any_io_executor executor;
};

// How a component's outgoing requests are carried: decides whether a request may go
// (returns the error-code if not) and starts carrying it through the exchange.
using OutboundSend =
    std::function<std::optional<ErrorCode>(OutboundRequest&, std::shared_ptr<Exchange>)>;

// The response body an exchange delivers, as an input stream (closed at its end).
std::unique_ptr<wasi::InputStream> response_body_stream(std::shared_ptr<Exchange> exchange);

// Adds wasi:http/outgoing-handler 0.2.x and the outgoing-request side of wasi:http/types
// (add_wasi_http_types adds the rest; both are needed).
void add_wasi_http_outgoing(component::HostImports& imports, OutboundSend send);

// Carries a request to a handler of this process (a component of the same app): `request`
// comes with its head (and route and target, if the handler needs them, and the loop to
// run on); its body is the exchange's request body, and the handler's response goes back
// through the exchange. Neither direction waits on a thread: each side is woken by the
// other's progress.
void serve_in_process(Handler& handler, Request request, std::shared_ptr<Exchange> exchange);

}  // namespace gyre::http

namespace gyre::host {
template <>
struct WitType<http::RequestOptionsError> {
  static bool matches(const ValueType& t) {
    return t.kind == ValueKind::kVariant && t.labels.size() >= 2 &&
           t.labels[0] == "not-supported" && t.labels[1] == "immutable";
  }
  static http::RequestOptionsError from(const Val& v, Context&) {
    return http::RequestOptionsError{static_cast<uint32_t>(v.bits)};
  }
  static Val to(http::RequestOptionsError e, Context&) { return Val::variant(e.which); }
};
}  // namespace gyre::host
