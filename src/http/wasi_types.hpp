// wasi:http/types 0.2 on the host: fields, incoming requests and bodies, outgoing
// responses and bodies, the response outparam. A request reaches the guest as an
// IncomingRequest; what the guest answers goes to a ResponseSink as it is produced, so a
// body written in chunks leaves in chunks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "component/host_imports.hpp"
#include "host/resources.hpp"
#include "http/headers.hpp"
#include "wasi/io.hpp"

namespace gyre::http {

// Where a guest's response goes. Calls arrive in order: head, then body chunks, then
// finish; or fail at any point.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void head(uint16_t status, Headers headers) = 0;
  virtual void body(std::string_view chunk) = 0;
  virtual void finish() = 0;
  virtual void fail(const std::string& why) = 0;
  // Sends what was buffered so far; called before the guest blocks.
  virtual void flush() {}
};

// What the embedder gives a component for one request.
struct IncomingRequestData {
  std::string method = "GET";
  std::optional<std::string> path_with_query;
  std::optional<std::string> scheme;  // "http" or "https"
  std::optional<std::string> authority;
  Headers headers;
  std::unique_ptr<wasi::InputStream> body;
};

// wasi:http/types.fields: header names are kept lower-cased, as HTTP compares them.
struct Fields {
  Headers entries;
  bool immutable = false;
};

// wasi:http/types.error-code: which case (its index in the WIT variant) and its payload,
// plus a detail for the log that the guest does not see.
struct ErrorCode {
  enum Case : uint32_t {
    kDnsError = 1,
    kDestinationNotFound = 2,
    kConnectionRefused = 6,
    kConnectionTerminated = 7,
    kConnectionTimeout = 8,
    kConnectionReadTimeout = 9,
    kTlsProtocolError = 12,
    kTlsCertificateError = 13,
    kHttpRequestDenied = 15,
    kHttpRequestUriInvalid = 19,
    kHttpResponseIncomplete = 25,
    kHttpResponseHeaderSectionSize = 26,  // payload: option<u32>, the section's size
    kHttpResponseHeaderSize = 27,         // payload: field-size-payload
    kHttpResponseTimeout = 33,
    kHttpProtocolError = 35,
    kInternalError = 38,
  };
  uint32_t code = kInternalError;
  std::optional<component::Val> payload;
  std::string detail;

  static ErrorCode of(Case which, std::string detail = {});
  // The error-code a guest gave: its case and payload.
  static ErrorCode from(const component::Val& value);
  // The label of the case, as WIT spells it ("HTTP-request-denied").
  std::string_view label() const;
  // "connection-refused (couldn't connect to 127.0.0.1 port 9)"
  std::string describe() const;
};

// Where the bytes of an outgoing body go (a response to the client, a request to a
// server), in order, then finish. Thread-safe where the receiving side is another thread.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // How many bytes write accepts now; 0 means wait for writable().
  virtual uint64_t room() = 0;
  virtual void write(std::string_view chunk) = 0;
  virtual void finish() = 0;
  virtual bool finished() const = 0;
  // The guest dropped the body without finishing it.
  virtual void abandon() {}
  virtual std::unique_ptr<wasi::Pollable> writable() = 0;
};

struct ResponseState;

struct IncomingRequest {
  IncomingRequestData data;
  bool consumed = false;
};
struct IncomingBody {
  std::unique_ptr<wasi::InputStream> stream;
  bool stream_taken = false;
};
struct FutureTrailers {};
struct OutgoingResponse {
  uint16_t status = 200;
  Fields headers;
  std::shared_ptr<ResponseState> state;
  bool body_taken = false;
};
struct OutgoingBody {
  std::shared_ptr<BodySink> sink;
  bool stream_taken = false;
  ~OutgoingBody() {
    if (sink && !sink->finished()) sink->abandon();
  }
};
struct ResponseOutparam {
  ResponseSink* sink = nullptr;
};

// One outgoing response's body on its way out. A guest may write (and even finish) the
// body before it hands the response to response-outparam.set; that much waits here until
// the response is attached to the sink.
struct ResponseState final : BodySink {
  ResponseSink* sink = nullptr;
  bool done = false;
  std::string early_body;
  uint64_t room() override { return 1 << 20; }
  void write(std::string_view chunk) override;
  void finish() override;
  bool finished() const override { return done; }
  std::unique_ptr<wasi::Pollable> writable() override;
  void attach(ResponseSink& to, uint16_t status, Headers headers);
};

// Adds wasi:http/types 0.2.x (the incoming-request and outgoing-response side).
void add_wasi_http_types(component::HostImports& imports);

// The resource tables of wasi:http/types in a component instance, for the host code of
// other interfaces (outgoing-handler) that hands out or takes these resources.
template <class T>
host::ResourceTable<T>& table_of(component::HostCall& call) {
  return call.instance.host_state<host::ResourceTable<T>>();
}

// Names in the header list a guest may not set (Spin/Wasmtime's forbidden list).
bool forbidden_header(std::string_view lower_case_name);

}  // namespace gyre::http

namespace gyre::host {
// error-code crosses as its case index and payload; the payload is built by ErrorCode::of.
template <>
struct WitType<http::ErrorCode> {
  static bool matches(const ValueType& t) { return t.kind == ValueKind::kVariant; }
  static http::ErrorCode from(const Val& v, Context&) { return http::ErrorCode::from(v); }
  static Val to(http::ErrorCode v, Context&) { return Val::variant(v.code, std::move(v.payload)); }
};
}  // namespace gyre::host
