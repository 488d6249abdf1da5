#include "http/wasi_types.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "base/ascii.hpp"
#include "base/byte_copy.hpp"
#include "host/define.hpp"
#include "http/wasi_fields.hpp"

namespace gyre::http {
namespace {

using host::Borrow;
using host::Context;
using host::Own;
using host::Unit;

constexpr const char* kTypes = "wasi:http/types@0.2.0";

// The labels of wasi:http/types.error-code, in case order, for messages.
constexpr std::array<const char*, 39> kErrorCodes = {"DNS-timeout",
                                                     "DNS-error",
                                                     "destination-not-found",
                                                     "destination-unavailable",
                                                     "destination-IP-prohibited",
                                                     "destination-IP-unroutable",
                                                     "connection-refused",
                                                     "connection-terminated",
                                                     "connection-timeout",
                                                     "connection-read-timeout",
                                                     "connection-write-timeout",
                                                     "connection-limit-reached",
                                                     "TLS-protocol-error",
                                                     "TLS-certificate-error",
                                                     "TLS-alert-received",
                                                     "HTTP-request-denied",
                                                     "HTTP-request-length-required",
                                                     "HTTP-request-body-size",
                                                     "HTTP-request-method-invalid",
                                                     "HTTP-request-URI-invalid",
                                                     "HTTP-request-URI-too-long",
                                                     "HTTP-request-header-section-size",
                                                     "HTTP-request-header-size",
                                                     "HTTP-request-trailer-section-size",
                                                     "HTTP-request-trailer-size",
                                                     "HTTP-response-incomplete",
                                                     "HTTP-response-header-section-size",
                                                     "HTTP-response-header-size",
                                                     "HTTP-response-body-size",
                                                     "HTTP-response-trailer-section-size",
                                                     "HTTP-response-trailer-size",
                                                     "HTTP-response-transfer-coding",
                                                     "HTTP-response-content-coding",
                                                     "HTTP-response-timeout",
                                                     "HTTP-upgrade-failed",
                                                     "HTTP-protocol-error",
                                                     "loop-detected",
                                                     "configuration-error",
                                                     "internal-error"};

// An outgoing body as an output stream: every write goes to its sink.
class BodyOutputStream final : public wasi::OutputStream {
 public:
  explicit BodyOutputStream(std::shared_ptr<BodySink> sink) : sink_(std::move(sink)) {}
  wasi::StreamResult<uint64_t> check_write() override {
    if (sink_->finished()) return wasi::StreamResult<uint64_t>::err(wasi::StreamError::closed());
    return wasi::StreamResult<uint64_t>::ok(sink_->room());
  }
  wasi::StreamResult<Unit> write(std::span<const uint8_t> bytes) override {
    if (sink_->finished()) return wasi::StreamResult<Unit>::err(wasi::StreamError::closed());
    sink_->write({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
    return wasi::StreamResult<Unit>::ok({});
  }
  wasi::StreamResult<Unit> flush() override { return wasi::StreamResult<Unit>::ok({}); }
  std::unique_ptr<wasi::Pollable> subscribe() override { return sink_->writable(); }

 private:
  std::shared_ptr<BodySink> sink_;
};

}  // namespace

bool forbidden_header(std::string_view name) {
  // Wasmtime's DEFAULT_FORBIDDEN_HEADERS, which Spin keeps.
  static constexpr std::array<std::string_view, 9> kForbiddenNames = {"connection",
                                                                      "keep-alive",
                                                                      "proxy-authenticate",
                                                                      "proxy-authorization",
                                                                      "proxy-connection",
                                                                      "transfer-encoding",
                                                                      "upgrade",
                                                                      "http2-settings",
                                                                      "host"};
  return std::find(kForbiddenNames.begin(), kForbiddenNames.end(), name) != kForbiddenNames.end();
}

ErrorCode ErrorCode::of(Case which, std::string detail) {
  ErrorCode out;
  out.code = which;
  out.detail = std::move(detail);
  using component::Val;
  if (which == kDnsError) out.payload = Val::record({Val::none(), Val::none()});
  if (which == kHttpResponseHeaderSectionSize) out.payload = Val::none();
  if (which == kHttpResponseHeaderSize) out.payload = Val::record({Val::none(), Val::none()});
  if (which == kInternalError) {
    out.payload = out.detail.empty() ? Val::none() : Val::some(Val::string(out.detail));
  }
  return out;
}

ErrorCode ErrorCode::from(const component::Val& value) {
  ErrorCode out;
  out.code = static_cast<uint32_t>(value.bits);
  if (value.payload() != nullptr) out.payload = *value.payload();
  return out;
}

std::string_view ErrorCode::label() const {
  return code < kErrorCodes.size() ? kErrorCodes[code] : "?";
}

std::string ErrorCode::describe() const {
  std::string out(label());
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

std::unique_ptr<wasi::Pollable> ResponseState::writable() {
  return std::make_unique<wasi::ReadyPollable>();
}

void ResponseState::write(std::string_view chunk) {
  if (sink == nullptr) {
    early_body.append(chunk);
    return;
  }
  sink->body(chunk);
}

void ResponseState::attach(ResponseSink& to, uint16_t status, Headers headers) {
  sink = &to;
  to.head(status, std::move(headers));
  if (!early_body.empty()) {
    to.body(early_body);
    early_body.clear();
  }
  if (done) to.finish();
}

void ResponseState::finish() {
  if (done) return;
  done = true;
  if (sink != nullptr) sink->finish();
}

void add_wasi_http_types(component::HostImports& imports) {
  using host::define;
  host::define_resource<IncomingRequest>(imports, kTypes, "incoming-request");
  host::define_resource<IncomingBody>(imports, kTypes, "incoming-body");
  host::define_resource<FutureTrailers>(imports, kTypes, "future-trailers");
  host::define_resource<OutgoingResponse>(imports, kTypes, "outgoing-response");
  host::define_resource<OutgoingBody>(imports, kTypes, "outgoing-body");
  host::define_resource<ResponseOutparam>(imports, kTypes, "response-outparam");

  add_wasi_http_fields(imports, kTypes);

  // incoming-request and incoming-body
  define(imports, kTypes, "[method]incoming-request.method",
         [](Context&, Borrow<IncomingRequest> self) { return method_of(self->data.method); });
  define(imports, kTypes, "[method]incoming-request.path-with-query",
         [](Context&, Borrow<IncomingRequest> self) { return self->data.path_with_query; });
  define(imports, kTypes, "[method]incoming-request.scheme",
         [](Context&, Borrow<IncomingRequest> self) { return scheme_of(self->data.scheme); });
  define(imports, kTypes, "[method]incoming-request.authority",
         [](Context&, Borrow<IncomingRequest> self) { return self->data.authority; });
  define(imports, kTypes, "[method]incoming-request.headers",
         [](Context&, Borrow<IncomingRequest> self) {
           Fields fields;
           for (const auto& [k, v] : self->data.headers)
             fields.entries.emplace_back(ascii_lower(k), v);
           return copy_of(fields, true);
         });
  define(imports, kTypes, "[method]incoming-request.consume",
         [](Context&, Borrow<IncomingRequest> self) {
           using R = host::Result<Own<IncomingBody>, Unit>;
           if (self->consumed) return R::err({});
           self->consumed = true;
           auto body = std::make_unique<IncomingBody>();
           body->stream = self->data.body ? std::move(self->data.body)
                                          : std::make_unique<wasi::ClosedInputStream>();
           return R::ok(Own<IncomingBody>{std::move(body)});
         });
  define(imports, kTypes, "[method]incoming-body.stream", [](Context&, Borrow<IncomingBody> self) {
    using R = host::Result<Own<wasi::InputStream>, Unit>;
    if (self->stream_taken) return R::err({});
    self->stream_taken = true;
    return R::ok(Own<wasi::InputStream>{std::move(self->stream)});
  });
  define(imports, kTypes, "[static]incoming-body.finish", [](Context&, Own<IncomingBody>) {
    return Own<FutureTrailers>{std::make_unique<FutureTrailers>()};
  });
  define(imports, kTypes, "[method]future-trailers.subscribe",
         [](Context&, Borrow<FutureTrailers>) {
           return Own<wasi::Pollable>{std::make_unique<wasi::ReadyPollable>()};
         });
  // option<result<result<option<trailers>, error-code>>>: no trailers, ever, for now.
  imports.interface(kTypes).functions["[method]future-trailers.get"] =
      [](component::HostCall&,
         std::span<const component::Val>) -> Result<std::optional<component::Val>, std::string> {
    using component::Val;
    return std::optional<Val>(Val::some(Val::ok(Val::ok(Val::none()))));
  };

  // outgoing-response and outgoing-body
  define(imports, kTypes, "[constructor]outgoing-response", [](Context&, Own<Fields> headers) {
    auto response = std::make_unique<OutgoingResponse>();
    response->headers = std::move(*headers.object);
    response->headers.immutable = true;
    response->state = std::make_shared<ResponseState>();
    return Own<OutgoingResponse>{std::move(response)};
  });
  define(imports, kTypes, "[method]outgoing-response.status-code",
         [](Context&, Borrow<OutgoingResponse> self) { return self->status; });
  define(imports, kTypes, "[method]outgoing-response.set-status-code",
         [](Context&, Borrow<OutgoingResponse> self, uint16_t status) {
           if (status < 100 || status > 999) return host::Result<Unit, Unit>::err({});
           self->status = status;
           return host::Result<Unit, Unit>::ok({});
         });
  define(imports, kTypes, "[method]outgoing-response.headers",
         [](Context&, Borrow<OutgoingResponse> self) { return copy_of(self->headers, true); });
  define(imports, kTypes, "[method]outgoing-response.body",
         [](Context&, Borrow<OutgoingResponse> self) {
           using R = host::Result<Own<OutgoingBody>, Unit>;
           if (self->body_taken) return R::err({});
           self->body_taken = true;
           auto body = std::make_unique<OutgoingBody>();
           body->sink = self->state;
           return R::ok(Own<OutgoingBody>{std::move(body)});
         });
  define(imports, kTypes, "[method]outgoing-body.write", [](Context&, Borrow<OutgoingBody> self) {
    using R = host::Result<Own<wasi::OutputStream>, Unit>;
    if (self->stream_taken || !self->sink) return R::err({});
    self->stream_taken = true;
    return R::ok(Own<wasi::OutputStream>{std::make_unique<BodyOutputStream>(self->sink)});
  });
  // finish(this: outgoing-body, trailers: option<trailers>) -> result<_, error-code>
  imports.interface(kTypes).functions["[static]outgoing-body.finish"] =
      [](component::HostCall& call, std::span<const component::Val> args)
      -> Result<std::optional<component::Val>, std::string> {
    auto body = table_of<OutgoingBody>(call).take(static_cast<uint32_t>(args[0].bits));
    if (!body) return std::string("outgoing-body.finish: unknown body");
    if (args[1].bits == 1)
      table_of<Fields>(call).take(static_cast<uint32_t>(args[1].items[0].bits));
    if (body->sink) body->sink->finish();
    return std::optional<component::Val>(component::Val::ok());
  };
  // set(param: response-outparam, response: result<outgoing-response, error-code>)
  imports.interface(kTypes).functions["[static]response-outparam.set"] =
      [](component::HostCall& call, std::span<const component::Val> args)
      -> Result<std::optional<component::Val>, std::string> {
    auto param = table_of<ResponseOutparam>(call).take(static_cast<uint32_t>(args[0].bits));
    if (!param) return std::string("response-outparam.set: unknown or already used outparam");
    const component::Val& outcome = args[1];
    if (outcome.bits != 0) {
      ErrorCode error;
      error.code = kErrorCodes.size();  // an err without its error-code
      if (!outcome.items.empty()) error = ErrorCode::from(outcome.items[0]);
      param->sink->fail("the component answered with error-code " + std::string(error.label()));
      return std::optional<component::Val>{};
    }
    auto response =
        table_of<OutgoingResponse>(call).take(static_cast<uint32_t>(outcome.items[0].bits));
    if (!response) return std::string("response-outparam.set: unknown outgoing-response");
    // The body, taken before or after, writes through this shared state into the sink.
    // The response is the guest's no more (set takes it): its fields move on.
    response->state->attach(*param->sink, response->status, std::move(response->headers.entries));
    return std::optional<component::Val>{};
  };
}

}  // namespace gyre::http
