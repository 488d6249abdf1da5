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
#include "wasi/io.hpp"

namespace gyre::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Where a guest's response goes. Calls arrive in order: head, then body chunks, then
// finish; or fail at any point.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void head(uint16_t status, const HeaderList& headers) = 0;
  virtual void body(std::string_view chunk) = 0;
  virtual void finish() = 0;
  virtual void fail(const std::string& why) = 0;
};

// What the embedder gives a component for one request.
struct IncomingRequestData {
  std::string method = "GET";
  std::optional<std::string> path_with_query;
  std::optional<std::string> scheme;  // "http" or "https"
  std::optional<std::string> authority;
  HeaderList headers;
  std::unique_ptr<wasi::InputStream> body;
};

// wasi:http/types.fields: header names are kept lower-cased, as HTTP compares them.
struct Fields {
  HeaderList entries;
  bool immutable = false;
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
  std::shared_ptr<ResponseState> state;
  bool stream_taken = false;
};
struct ResponseOutparam {
  ResponseSink* sink = nullptr;
};

// One outgoing response's body on its way out. A guest may write (and even finish) the
// body before it hands the response to response-outparam.set; that much waits here until
// the response is attached to the sink.
struct ResponseState {
  ResponseSink* sink = nullptr;
  bool finished = false;
  std::string early_body;
  void write(std::string_view chunk);
  void attach(ResponseSink& to, uint16_t status, const HeaderList& headers);
  void finish();
};

// Adds wasi:http/types 0.2.x (the incoming-request and outgoing-response side).
void add_wasi_http_types(component::HostImports& imports);

// Names in the header list a guest may not set (Spin/Wasmtime's forbidden list).
bool forbidden_header(std::string_view lower_case_name);

}  // namespace gyre::http
