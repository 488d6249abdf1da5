#include "http/outbound.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

#include "base/byte_copy.hpp"
#include "host/define.hpp"
#include "http/wasi_fields.hpp"

namespace gyre::http {

// ---- Exchange ---------------------------------------------------------------------------

void Exchange::set_carrier_wake(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  carrier_wake_ = std::move(wake);
}

void Exchange::wake_carrier() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mutex_);
    wake = carrier_wake_;
  }
  changed_.notify_all();
  if (wake) wake();
}

void Exchange::notify_guest(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  guest_wake_ = std::move(wake);  // one guest per exchange: its latest wait replaces the last
}

void Exchange::notify_request_room(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  room_wake_ = std::move(wake);
}

void Exchange::wake_guest() {
  std::function<void()> wake, room;
  {
    std::lock_guard lock(mutex_);
    wake.swap(guest_wake_);
    room.swap(room_wake_);
  }
  changed_.notify_all();
  if (wake) wake();
  if (room) room();
}

uint64_t Exchange::request_room() {
  std::lock_guard lock(mutex_);
  return request_.size() >= kBufferLimit ? 0 : kBufferLimit - request_.size();
}

void Exchange::write_request(std::string_view bytes) {
  {
    std::lock_guard lock(mutex_);
    request_.append(bytes);
  }
  wake_carrier();
}

void Exchange::finish_request() {
  {
    std::lock_guard lock(mutex_);
    request_done_ = true;
  }
  wake_carrier();
}

void Exchange::abandon_request() {
  {
    std::lock_guard lock(mutex_);
    if (request_done_) return;
    request_abandoned_ = true;
  }
  wake_carrier();
}

bool Exchange::request_finished() {
  std::lock_guard lock(mutex_);
  return request_done_;
}

size_t Exchange::pending_request_bytes() {
  std::lock_guard lock(mutex_);
  return request_.size();
}

Exchange::Pulled Exchange::pull_request(size_t max) {
  Pulled out;
  {
    std::lock_guard lock(mutex_);
    const size_t n = std::min(max, request_.size());
    out.data = request_.substr(0, n);
    request_.erase(0, n);
    out.end = request_done_ && request_.empty();
    out.abandoned = request_abandoned_;
  }
  wake_guest();  // room for the guest to write more
  return out;
}

void Exchange::respond(uint16_t status, Headers headers) {
  {
    std::lock_guard lock(mutex_);
    if (head_ || error_) return;
    head_ = Head{status, std::move(headers)};
  }
  wake_guest();
}

void Exchange::push_response(std::string_view bytes) {
  {
    std::lock_guard lock(mutex_);
    response_.append(bytes);
  }
  wake_guest();
}

void Exchange::end_response() {
  {
    std::lock_guard lock(mutex_);
    response_done_ = true;
  }
  wake_guest();
}

void Exchange::fail(ErrorCode error) {
  {
    std::lock_guard lock(mutex_);
    if (response_done_ || error_) return;
    error_ = std::move(error);
  }
  wake_guest();
}

std::optional<std::variant<Exchange::Head, ErrorCode>> Exchange::take_head() {
  std::lock_guard lock(mutex_);
  if (head_ && !head_taken_) {
    head_taken_ = true;
    return std::variant<Head, ErrorCode>(std::in_place_index<0>, std::move(*head_));
  }
  if (error_) return std::variant<Head, ErrorCode>(std::in_place_index<1>, *error_);
  return std::nullopt;
}

Exchange::Read Exchange::read_response(size_t max) {
  Read out;
  {
    std::lock_guard lock(mutex_);
    const size_t n = std::min(max, response_.size());
    out.data = response_.substr(0, n);
    response_.erase(0, n);
    if (response_.empty()) {
      out.end = response_done_;
      out.error = error_;
    }
  }
  if (!out.data.empty()) wake_carrier();  // room for the carrier to push more
  return out;
}

void Exchange::cancel() {
  {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
  }
  wake_carrier();
}

bool Exchange::cancelled() {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

bool Exchange::ready_locked(Event event) const {
  switch (event) {
    case Event::kHead:
      return head_.has_value() || error_.has_value();
    case Event::kResponseData:
      return !response_.empty() || response_done_ || error_.has_value();
    case Event::kResponseRoom:
      return response_.size() < kBufferLimit || cancelled_;
    case Event::kRequestData:
      return !request_.empty() || request_done_ || request_abandoned_;
    case Event::kRequestRoom:
      return request_.size() < kBufferLimit || cancelled_;
  }
  return true;
}

bool Exchange::ready(Event event) {
  std::lock_guard lock(mutex_);
  return ready_locked(event);
}

void Exchange::wait_for(Event event, std::chrono::steady_clock::duration max) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, max, [&] { return ready_locked(event); });
}

std::string OutboundRequest::url() const {
  return scheme.value_or("https") + "://" + authority.value_or("") + path_with_query.value_or("/");
}

namespace {

using host::Borrow;
using host::Context;
using host::Own;
using host::Unit;

constexpr const char* kTypes = "wasi:http/types@0.2.0";
constexpr const char* kOutgoingHandler = "wasi:http/outgoing-handler@0.2.0";

// The guest's request while it builds it; handle() hands it over.
struct OutgoingRequest {
  OutboundRequest data;
  Fields headers;
  std::shared_ptr<Exchange> exchange = std::make_shared<Exchange>();
  bool body_taken = false;
};

// Dropping the future (or the response and its body) tells the carrier to stop.
struct FutureIncomingResponse {
  std::shared_ptr<Exchange> exchange;
  bool taken = false;
  ~FutureIncomingResponse() {
    if (!taken) exchange->cancel();
  }
};

struct IncomingResponse {
  uint16_t status = 0;
  Fields headers;
  std::shared_ptr<Exchange> exchange;
  bool consumed = false;
  ~IncomingResponse() {
    if (!consumed) exchange->cancel();
  }
};

// Readiness of one side of an exchange, slept on with the exchange's own condition.
class ExchangePollable final : public wasi::Pollable {
 public:
  ExchangePollable(std::shared_ptr<Exchange> exchange, Exchange::Event event)
      : exchange_(std::move(exchange)), event_(event) {}
  bool ready() override { return exchange_->ready(event_); }
  bool notify(const std::function<void()>& wake) override {
    exchange_->notify_guest(wake);
    return true;
  }
  void wait_for(std::chrono::steady_clock::duration max) override {
    exchange_->wait_for(event_, max);
  }

 private:
  std::shared_ptr<Exchange> exchange_;
  Exchange::Event event_;
};

// The request body the guest writes, into the exchange.
class RequestBodySink final : public BodySink {
 public:
  explicit RequestBodySink(std::shared_ptr<Exchange> exchange) : exchange_(std::move(exchange)) {}
  uint64_t room() override { return exchange_->request_room(); }
  void write(std::string_view chunk) override { exchange_->write_request(chunk); }
  void finish() override { exchange_->finish_request(); }
  bool finished() const override { return exchange_->request_finished(); }
  void abandon() override { exchange_->abandon_request(); }
  std::unique_ptr<wasi::Pollable> writable() override {
    return std::make_unique<ExchangePollable>(exchange_, Exchange::Event::kRequestRoom);
  }

 private:
  std::shared_ptr<Exchange> exchange_;
};

// The response body the carrier delivers, as the guest's input-stream.
class ResponseBodyStream final : public wasi::InputStream {
 public:
  explicit ResponseBodyStream(std::shared_ptr<Exchange> exchange)
      : exchange_(std::move(exchange)) {}
  ~ResponseBodyStream() override { exchange_->cancel(); }
  wasi::StreamResult<host::ByteString> read(uint64_t max) override {
    using R = wasi::StreamResult<host::ByteString>;
    auto got = exchange_->read_response(static_cast<size_t>(std::min<uint64_t>(max, 1 << 20)));
    if (!got.data.empty()) return R::ok(host::ByteString{std::move(got.data)});
    if (got.error) return R::err(wasi::StreamError::failed(got.error->describe()));
    if (got.end) return R::err(wasi::StreamError::closed());
    return R::ok({});
  }
  std::unique_ptr<wasi::Pollable> subscribe() override {
    return std::make_unique<ExchangePollable>(exchange_, Exchange::Event::kResponseData);
  }

 private:
  std::shared_ptr<Exchange> exchange_;
};

Own<Fields> immutable_copy(const Fields& fields) {
  auto out = std::make_unique<Fields>(fields);
  out->immutable = true;
  return Own<Fields>{std::move(out)};
}

std::optional<std::chrono::nanoseconds> to_duration(std::optional<uint64_t> ns) {
  if (!ns) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<int64_t>(std::min<uint64_t>(*ns, INT64_MAX)));
}
std::optional<uint64_t> from_duration(std::optional<std::chrono::nanoseconds> d) {
  if (!d) return std::nullopt;
  return static_cast<uint64_t>(d->count());
}

}  // namespace

// request-options.*-timeout, its getters and setters. 0.2 names the getters plainly and
// its setters answer `result`; 0.3 prefixes them with get-, and refuses to change the
// options of a request (request.get-options), with request-options-error.immutable.
void add_request_options(component::HostImports& imports, std::string_view interface, bool p3) {
  using host::define;
  using Timeout = std::optional<std::chrono::nanoseconds> RequestTimeouts::*;
  const std::pair<const char*, Timeout> timeouts[] = {
      {"connect-timeout", &RequestTimeouts::connect},
      {"first-byte-timeout", &RequestTimeouts::first_byte},
      {"between-bytes-timeout", &RequestTimeouts::between_bytes}};
  host::define_resource<RequestOptions>(imports, interface, "request-options");
  define(imports, interface, "[constructor]request-options",
         [](Context&) { return Own<RequestOptions>{std::make_unique<RequestOptions>()}; });
  for (const auto& [name, member] : timeouts) {
    const std::string method = std::string("[method]request-options.");
    define(imports, interface, method + (p3 ? "get-" : "") + name,
           [member](Context&, Borrow<RequestOptions> self) {
             return from_duration(self->timeouts.*member);
           });
    if (!p3) {
      define(imports, interface, method + "set-" + name,
             [member](Context&, Borrow<RequestOptions> self, std::optional<uint64_t> ns) {
               self->timeouts.*member = to_duration(ns);
               return host::Result<Unit, Unit>::ok({});
             });
      continue;
    }
    using Set = host::Result<Unit, RequestOptionsError>;
    define(imports, interface, method + "set-" + name,
           [member](Context&, Borrow<RequestOptions> self, std::optional<uint64_t> ns) {
             if (self->immutable) return Set::err(RequestOptionsError{1});
             self->timeouts.*member = to_duration(ns);
             return Set::ok({});
           });
  }
  if (p3) {
    define(imports, interface, "[method]request-options.clone",
           [](Context&, Borrow<RequestOptions> self) {
             return Own<RequestOptions>{
                 std::make_unique<RequestOptions>(RequestOptions{self->timeouts, false})};
           });
  }
}

// The method and scheme variants are the ones wasi_types.cpp declares; they cross here as
// the generic values they are, so this file needs no second copy of their C++ shape.
void add_wasi_http_outgoing(component::HostImports& imports, OutboundSend send) {
  using component::HostCall;
  using component::Val;
  using host::define;
  using Fn = Result<std::optional<Val>, std::string>;
  host::define_resource<OutgoingRequest>(imports, kTypes, "outgoing-request");
  host::define_resource<FutureIncomingResponse>(imports, kTypes, "future-incoming-response");
  host::define_resource<IncomingResponse>(imports, kTypes, "incoming-response");
  add_request_options(imports, kTypes, false);
  auto& types = imports.interface(kTypes);

  define(imports, kTypes, "[constructor]outgoing-request", [](Context&, Own<Fields> headers) {
    auto request = std::make_unique<OutgoingRequest>();
    request->headers = std::move(*headers.object);
    request->headers.immutable = true;
    return Own<OutgoingRequest>{std::move(request)};
  });
  define(imports, kTypes, "[method]outgoing-request.headers",
         [](Context&, Borrow<OutgoingRequest> self) { return immutable_copy(self->headers); });
  define(imports, kTypes, "[method]outgoing-request.body",
         [](Context&, Borrow<OutgoingRequest> self) {
           using R = host::Result<Own<OutgoingBody>, Unit>;
           if (self->body_taken) return R::err({});
           self->body_taken = true;
           self->data.has_body = true;
           auto body = std::make_unique<OutgoingBody>();
           body->sink = std::make_shared<RequestBodySink>(self->exchange);
           return R::ok(Own<OutgoingBody>{std::move(body)});
         });
  define(imports, kTypes, "[method]outgoing-request.path-with-query",
         [](Context&, Borrow<OutgoingRequest> self) { return self->data.path_with_query; });
  define(imports, kTypes, "[method]outgoing-request.set-path-with-query",
         [](Context&, Borrow<OutgoingRequest> self, std::optional<std::string> path) {
           using R = host::Result<Unit, Unit>;
           if (!valid_path_with_query(path)) return R::err({});
           self->data.path_with_query = std::move(path);
           return R::ok({});
         });
  define(imports, kTypes, "[method]outgoing-request.authority",
         [](Context&, Borrow<OutgoingRequest> self) { return self->data.authority; });
  define(imports, kTypes, "[method]outgoing-request.set-authority",
         [](Context&, Borrow<OutgoingRequest> self, std::optional<std::string> authority) {
           using R = host::Result<Unit, Unit>;
           if (!valid_authority(authority)) return R::err({});
           self->data.authority = std::move(authority);
           return R::ok({});
         });
  // method and scheme: variant values on the generic path (their C++ shapes live with the
  // incoming side in wasi_types.cpp).
  static constexpr const char* kMethods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                             "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  types.functions["[method]outgoing-request.method"] = [](HostCall& call,
                                                          std::span<const Val> args) -> Fn {
    auto* self = table_of<OutgoingRequest>(call).get(static_cast<uint32_t>(args[0].bits));
    if (self == nullptr) return std::string("outgoing-request.method: unknown request");
    for (uint32_t i = 0; i < std::size(kMethods); ++i) {
      if (self->data.method == kMethods[i]) return std::optional<Val>(Val::variant(i));
    }
    return std::optional<Val>(Val::variant(9, Val::string(self->data.method)));
  };
  types.functions["[method]outgoing-request.set-method"] = [](HostCall& call,
                                                              std::span<const Val> args) -> Fn {
    auto* self = table_of<OutgoingRequest>(call).get(static_cast<uint32_t>(args[0].bits));
    if (self == nullptr) return std::string("outgoing-request.set-method: unknown request");
    const Val& method = args[1];
    if (method.bits < std::size(kMethods)) {
      self->data.method = kMethods[method.bits];
    } else {
      const std::string& other = method.items.empty() ? std::string() : method.items[0].bytes;
      if (!valid_token(other)) return std::optional<Val>(Val::err());
      self->data.method = other;
    }
    return std::optional<Val>(Val::ok());
  };
  types.functions["[method]outgoing-request.scheme"] = [](HostCall& call,
                                                          std::span<const Val> args) -> Fn {
    auto* self = table_of<OutgoingRequest>(call).get(static_cast<uint32_t>(args[0].bits));
    if (self == nullptr) return std::string("outgoing-request.scheme: unknown request");
    if (!self->data.scheme) return std::optional<Val>(Val::none());
    if (*self->data.scheme == "http") return std::optional<Val>(Val::some(Val::variant(0)));
    if (*self->data.scheme == "https") return std::optional<Val>(Val::some(Val::variant(1)));
    return std::optional<Val>(Val::some(Val::variant(2, Val::string(*self->data.scheme))));
  };
  types.functions["[method]outgoing-request.set-scheme"] = [](HostCall& call,
                                                              std::span<const Val> args) -> Fn {
    auto* self = table_of<OutgoingRequest>(call).get(static_cast<uint32_t>(args[0].bits));
    if (self == nullptr) return std::string("outgoing-request.set-scheme: unknown request");
    const Val& scheme = args[1];
    if (scheme.bits == 0) {
      self->data.scheme.reset();
    } else {
      const Val& which = scheme.items[0];
      if (which.bits == 0) self->data.scheme = "http";
      if (which.bits == 1) self->data.scheme = "https";
      if (which.bits == 2) {
        const std::string& other = which.items.empty() ? std::string() : which.items[0].bytes;
        if (other.empty() || other.find_first_of(":/ ") != std::string::npos)
          return std::optional<Val>(Val::err());
        self->data.scheme = other;
      }
    }
    return std::optional<Val>(Val::ok());
  };

  // handle(request, options) -> result<future-incoming-response, error-code>
  using Handled = host::Result<Own<FutureIncomingResponse>, ErrorCode>;
  define(imports, kOutgoingHandler, "handle",
         [send](Context& cx, Own<OutgoingRequest> request,
                std::optional<Own<RequestOptions>> options) -> Handled {
           OutgoingRequest& r = *request.object;
           r.data.headers = r.headers.entries;
           r.data.loop = cx.instance.host_state<GuestLoop>().executor;
           if (options) r.data.timeouts = options->object->timeouts;
           if (!r.data.has_body) r.exchange->finish_request();
           if (auto refused = send(r.data, r.exchange)) return Handled::err(*refused);
           auto future = std::make_unique<FutureIncomingResponse>();
           future->exchange = r.exchange;
           return Handled::ok(Own<FutureIncomingResponse>{std::move(future)});
         });

  define(imports, kTypes, "[method]future-incoming-response.subscribe",
         [](Context&, Borrow<FutureIncomingResponse> self) {
           return Own<wasi::Pollable>{
               std::make_unique<ExchangePollable>(self->exchange, Exchange::Event::kHead)};
         });
  // get: option<result<result<incoming-response, error-code>>>
  using Got = std::optional<host::Result<host::Result<Own<IncomingResponse>, ErrorCode>, Unit>>;
  define(imports, kTypes, "[method]future-incoming-response.get",
         [](Context&, Borrow<FutureIncomingResponse> self) -> Got {
           using Inner = host::Result<Own<IncomingResponse>, ErrorCode>;
           using Outer = host::Result<Inner, Unit>;
           if (self->taken) return Outer::err({});
           auto head = self->exchange->take_head();
           if (!head) return std::nullopt;
           self->taken = true;
           if (head->index() == 1) {
             self->exchange->cancel();
             return Outer::ok(Inner::err(std::get<1>(*head)));
           }
           auto response = std::make_unique<IncomingResponse>();
           response->status = std::get<0>(*head).status;
           response->headers.entries = std::move(std::get<0>(*head).headers);
           response->headers.immutable = true;
           response->exchange = self->exchange;
           return Outer::ok(Inner::ok(Own<IncomingResponse>{std::move(response)}));
         });

  define(imports, kTypes, "[method]incoming-response.status",
         [](Context&, Borrow<IncomingResponse> self) { return self->status; });
  define(imports, kTypes, "[method]incoming-response.headers",
         [](Context&, Borrow<IncomingResponse> self) { return immutable_copy(self->headers); });
  define(imports, kTypes, "[method]incoming-response.consume",
         [](Context&, Borrow<IncomingResponse> self) {
           using R = host::Result<Own<IncomingBody>, Unit>;
           if (self->consumed) return R::err({});
           self->consumed = true;
           auto body = std::make_unique<IncomingBody>();
           body->stream = std::make_unique<ResponseBodyStream>(self->exchange);
           return R::ok(Own<IncomingBody>{std::move(body)});
         });
  // http-error-code(err: borrow<io-error>) -> option<error-code>: stream errors carry their
  // error-code only in their message here.
  define(imports, kTypes, "http-error-code",
         [](Context&, Borrow<wasi::IoError>) { return std::optional<ErrorCode>{}; });
}

std::unique_ptr<wasi::InputStream> response_body_stream(std::shared_ptr<Exchange> exchange) {
  return std::make_unique<ResponseBodyStream>(std::move(exchange));
}

// ---- in-process carrier -----------------------------------------------------------------

namespace {

// The in-process carrier's side of an exchange: the body the guest writes goes to the
// serving handler as its request body, the handler's response back to the guest. Whatever
// cannot go on at once (no request bytes yet, no room for more response) waits here and
// goes on when the guest's side wakes the carrier, on the guest's thread.
class InProcessCarrier : public std::enable_shared_from_this<InProcessCarrier> {
 public:
  explicit InProcessCarrier(std::shared_ptr<Exchange> exchange) : exchange_(std::move(exchange)) {}
  // Starts listening to the guest's side (once, after the carrier is owned by a shared_ptr).
  void attach() {
    exchange_->set_carrier_wake([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->progress();
    });
  }
  void detach() { exchange_->set_carrier_wake({}); }

  void read(std::function<void(BodyChunk)> done) {
    {
      std::lock_guard lock(mutex_);
      pending_read_ = std::move(done);
    }
    progress();
  }
  void wrote(std::function<void(bool)> done) {
    {
      std::lock_guard lock(mutex_);
      pending_write_ = std::move(done);
    }
    progress();
  }
  Exchange& exchange() { return *exchange_; }

 private:
  // Completes what waits and can complete now. The exchange's calls made here wake only
  // the guest's side, never this carrier again.
  void progress() {
    std::function<void(BodyChunk)> read_done;
    std::optional<BodyChunk> chunk;
    std::function<void(bool)> write_done;
    {
      std::lock_guard lock(mutex_);
      if (pending_read_) {
        auto pulled = exchange_->pull_request(1 << 20);
        if (pulled.abandoned) {
          chunk = BodyChunk{{}, true, "the request body was abandoned"};
        } else if (!pulled.data.empty() || pulled.end) {
          chunk = BodyChunk{std::move(pulled.data), pulled.end, {}};
        }
        if (chunk) read_done = std::exchange(pending_read_, nullptr);
      }
      if (pending_write_ && exchange_->ready(Exchange::Event::kResponseRoom))
        write_done = std::exchange(pending_write_, nullptr);
    }
    if (read_done) read_done(std::move(*chunk));
    if (write_done) write_done(!exchange_->cancelled());
  }

  std::shared_ptr<Exchange> exchange_;
  std::mutex mutex_;  // the guest's side wakes the carrier from its own thread
  std::function<void(BodyChunk)> pending_read_;
  std::function<void(bool)> pending_write_;
};

class ExchangeBodyReader final : public BodyReader {
 public:
  explicit ExchangeBodyReader(std::shared_ptr<InProcessCarrier> carrier)
      : carrier_(std::move(carrier)) {}
  void read(std::function<void(BodyChunk)> done) override { carrier_->read(std::move(done)); }

 private:
  std::shared_ptr<InProcessCarrier> carrier_;
};

// A handler's response, into the exchange for the guest that asked. A write is taken at
// once; its completion waits until the guest has read enough (the exchange's bound), which
// is what slows a handler that writes faster than the guest reads.
class ExchangeResponseWriter final : public ResponseWriter {
 public:
  explicit ExchangeResponseWriter(std::shared_ptr<InProcessCarrier> carrier)
      : carrier_(std::move(carrier)), exchange_(carrier_->exchange()) {}
  ~ExchangeResponseWriter() override {
    if (!started_) {
      exchange_.respond(500, {});
      exchange_.end_response();
    } else if (!finished_) {
      exchange_.fail(ErrorCode::of(ErrorCode::kHttpResponseIncomplete));
    }
    carrier_->detach();
  }
  void start(ResponseHead head, Done done) override {
    Headers headers;
    for (auto& h : head.headers)
      headers.emplace_back(std::move(h.name), std::move(h.value));
    started_ = true;
    exchange_.respond(head.status, std::move(headers));
    if (done) done(!exchange_.cancelled());
  }
  void write(std::string chunk, Done done) override {
    exchange_.push_response(chunk);
    if (done) carrier_->wrote(std::move(done));
  }
  void finish(Done done) override {
    finished_ = true;
    exchange_.end_response();
    if (done) done(!exchange_.cancelled());
  }
  void abort() override {
    finished_ = true;
    exchange_.fail(ErrorCode::of(ErrorCode::kHttpResponseIncomplete));
  }

 private:
  std::shared_ptr<InProcessCarrier> carrier_;
  Exchange& exchange_;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace

void serve_in_process(Handler& handler, Request request, std::shared_ptr<Exchange> exchange) {
  request.internal = true;
  auto carrier = std::make_shared<InProcessCarrier>(std::move(exchange));
  carrier->attach();
  request.body = std::make_shared<ExchangeBodyReader>(carrier);
  handler.handle(std::move(request), std::make_shared<ExchangeResponseWriter>(std::move(carrier)));
}

}  // namespace gyre::http
