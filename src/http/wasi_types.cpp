#include "http/wasi_types.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "base/ascii.hpp"
#include "base/byte_copy.hpp"
#include "host/define.hpp"

namespace gyre::http {

// ---- the variants of wasi:http/types, as C++ values -----------------------------------------

struct Method {
  std::variant<host::Unit, host::Unit, host::Unit, host::Unit, host::Unit, host::Unit, host::Unit,
               host::Unit, host::Unit, std::string>
      value;
};
struct Scheme {
  std::variant<host::Unit, host::Unit, std::string> value;
};
struct HeaderError {
  std::variant<host::Unit, host::Unit, host::Unit> value;
};

}  // namespace gyre::http

namespace gyre::host {
template <>
struct VariantLabels<http::Method> {
  static constexpr const char* labels[] = {"get",     "head",    "post",  "put",   "delete",
                                           "connect", "options", "trace", "patch", "other"};
};
template <>
struct VariantLabels<http::Scheme> {
  static constexpr const char* labels[] = {"HTTP", "HTTPS", "other"};
};
template <>
struct VariantLabels<http::HeaderError> {
  static constexpr const char* labels[] = {"invalid-syntax", "forbidden", "immutable"};
};
}  // namespace gyre::host

namespace gyre::http {
namespace {

using host::Borrow;
using host::Context;
using host::Own;
using host::Unit;
using FieldValue = std::vector<uint8_t>;
using FieldEntry = std::tuple<std::string, FieldValue>;
template <class T>
using Fallible = host::Result<T, HeaderError>;

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

HeaderError header_error(size_t which) {
  switch (which) {
    case 0:
      return HeaderError{std::variant<Unit, Unit, Unit>(std::in_place_index<0>)};
    case 1:
      return HeaderError{std::variant<Unit, Unit, Unit>(std::in_place_index<1>)};
    default:
      return HeaderError{std::variant<Unit, Unit, Unit>(std::in_place_index<2>)};
  }
}
const HeaderError kInvalidSyntax = header_error(0);
const HeaderError kForbidden = header_error(1);
const HeaderError kImmutable = header_error(2);

Method method_of(const std::string& name) {
  static constexpr std::array<const char*, 9> kKnown = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  using V = decltype(Method::value);
  static const std::array<V, 9> kValues = {
      V(std::in_place_index<0>), V(std::in_place_index<1>), V(std::in_place_index<2>),
      V(std::in_place_index<3>), V(std::in_place_index<4>), V(std::in_place_index<5>),
      V(std::in_place_index<6>), V(std::in_place_index<7>), V(std::in_place_index<8>)};
  for (size_t i = 0; i < kKnown.size(); ++i) {
    if (name == kKnown[i]) return Method{kValues[i]};
  }
  return Method{V(std::in_place_index<9>, name)};
}

// RFC 9110 token characters.
bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || kSpecials.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

bool valid_value(const FieldValue& value) {
  return std::none_of(value.begin(), value.end(),
                      [](uint8_t c) { return c == '\r' || c == '\n' || c == 0; });
}

std::optional<HeaderError> check(const Fields& fields, std::string_view name) {
  if (fields.immutable) return kImmutable;
  if (!valid_name(name)) return kInvalidSyntax;
  if (forbidden_header(ascii_lower(name))) return kForbidden;
  return std::nullopt;
}

std::string as_string(const FieldValue& v) {
  return to_text(v);
}
FieldValue as_bytes(const std::string& s) {
  return to_byte_vector(s);
}

Own<Fields> copy_of(const Fields& fields, bool immutable) {
  auto out = std::make_unique<Fields>(fields);
  out->immutable = immutable;
  return Own<Fields>{std::move(out)};
}

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
  host::define_resource<Fields>(imports, kTypes, "fields");
  host::define_resource<IncomingRequest>(imports, kTypes, "incoming-request");
  host::define_resource<IncomingBody>(imports, kTypes, "incoming-body");
  host::define_resource<FutureTrailers>(imports, kTypes, "future-trailers");
  host::define_resource<OutgoingResponse>(imports, kTypes, "outgoing-response");
  host::define_resource<OutgoingBody>(imports, kTypes, "outgoing-body");
  host::define_resource<ResponseOutparam>(imports, kTypes, "response-outparam");

  // fields
  define(imports, kTypes, "[constructor]fields",
         [](Context&) { return Own<Fields>{std::make_unique<Fields>()}; });
  define(imports, kTypes, "[static]fields.from-list",
         [](Context&, std::vector<FieldEntry> entries) {
           auto fields = std::make_unique<Fields>();
           for (auto& [name, value] : entries) {
             if (auto error = check(*fields, name)) return Fallible<Own<Fields>>::err(*error);
             if (!valid_value(value)) return Fallible<Own<Fields>>::err(kInvalidSyntax);
             fields->entries.emplace_back(ascii_lower(name), as_string(value));
           }
           return Fallible<Own<Fields>>::ok(Own<Fields>{std::move(fields)});
         });
  define(imports, kTypes, "[method]fields.get",
         [](Context&, Borrow<Fields> self, std::string name) {
           std::vector<FieldValue> out;
           const std::string key = ascii_lower(name);
           for (const auto& [k, v] : self->entries) {
             if (k == key) out.push_back(as_bytes(v));
           }
           return out;
         });
  define(imports, kTypes, "[method]fields.has",
         [](Context&, Borrow<Fields> self, std::string name) {
           const std::string key = ascii_lower(name);
           return std::any_of(self->entries.begin(), self->entries.end(),
                              [&](const auto& e) { return e.name == key; });
         });
  define(imports, kTypes, "[method]fields.set",
         [](Context&, Borrow<Fields> self, std::string name, std::vector<FieldValue> values) {
           if (auto error = check(*self, name)) return Fallible<Unit>::err(*error);
           for (const auto& v : values) {
             if (!valid_value(v)) return Fallible<Unit>::err(kInvalidSyntax);
           }
           const std::string key = ascii_lower(name);
           std::erase_if(self->entries, [&](const auto& e) { return e.name == key; });
           for (const auto& v : values)
             self->entries.emplace_back(key, as_string(v));
           return Fallible<Unit>::ok({});
         });
  define(imports, kTypes, "[method]fields.delete",
         [](Context&, Borrow<Fields> self, std::string name) {
           if (auto error = check(*self, name)) return Fallible<Unit>::err(*error);
           const std::string key = ascii_lower(name);
           std::erase_if(self->entries, [&](const auto& e) { return e.name == key; });
           return Fallible<Unit>::ok({});
         });
  define(imports, kTypes, "[method]fields.append",
         [](Context&, Borrow<Fields> self, std::string name, FieldValue value) {
           if (auto error = check(*self, name)) return Fallible<Unit>::err(*error);
           if (!valid_value(value)) return Fallible<Unit>::err(kInvalidSyntax);
           self->entries.emplace_back(ascii_lower(name), as_string(value));
           return Fallible<Unit>::ok({});
         });
  define(imports, kTypes, "[method]fields.entries", [](Context&, Borrow<Fields> self) {
    std::vector<FieldEntry> out;
    for (const auto& [k, v] : self->entries)
      out.emplace_back(k, as_bytes(v));
    return out;
  });
  define(imports, kTypes, "[method]fields.clone",
         [](Context&, Borrow<Fields> self) { return copy_of(*self, false); });

  // incoming-request and incoming-body
  define(imports, kTypes, "[method]incoming-request.method",
         [](Context&, Borrow<IncomingRequest> self) { return method_of(self->data.method); });
  define(imports, kTypes, "[method]incoming-request.path-with-query",
         [](Context&, Borrow<IncomingRequest> self) { return self->data.path_with_query; });
  define(imports, kTypes, "[method]incoming-request.scheme",
         [](Context&, Borrow<IncomingRequest> self) {
           if (!self->data.scheme) return std::optional<Scheme>{};
           using V = decltype(Scheme::value);
           if (*self->data.scheme == "http")
             return std::optional<Scheme>(Scheme{V(std::in_place_index<0>)});
           if (*self->data.scheme == "https")
             return std::optional<Scheme>(Scheme{V(std::in_place_index<1>)});
           return std::optional<Scheme>(Scheme{V(std::in_place_index<2>, *self->data.scheme)});
         });
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
      error.code = outcome.items.empty() ? kErrorCodes.size() : outcome.items[0].bits;
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
