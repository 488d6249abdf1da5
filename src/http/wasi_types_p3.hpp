// wasi:http/types 0.3 on the host (WASIp3): requests and responses whose bodies are
// component-model streams and whose trailers are futures.
//
// An incoming request reaches the guest as a Request3; when the guest consumes its body,
// the host pumps the bytes into a stream<u8> as they arrive. The guest's answer comes
// back by handler.handle's task.return as a Response3 holding the readable ends of its
// body stream and trailers future, which the executor reads (http/incoming_p3.cpp) while
// the guest goes on writing them.
#pragma once

#include <cstdint>
#include <memory>

#include "component/concurrency/channel.hpp"
#include "component/host_imports.hpp"
#include "http/outbound.hpp"
#include "http/wasi_types.hpp"
#include "wasi/versions.hpp"

namespace gyre::http {

// wasi:http 0.3 is served in every version of WASI 0.3 (wasi/versions.hpp), each the same
// types.
// The one candidate without wasi:http/client: a component sends through the `handler`
// interface it imports.
inline constexpr const char* kWasiHttp3SendsThroughHandler = "0.3.0-rc-2025-09-16";

// wasi:http/types.request: an incoming request given to the guest (its body in
// `data.body`), or one the guest made to send (its body the stream in `contents`).
struct Request3 {
  IncomingRequestData data;
  std::unique_ptr<component::HostEnd> contents;  // the body's readable end (none: empty)
  std::unique_ptr<component::HostEnd> trailers;  // future<result<option<trailers>, error-code>>
  std::optional<RequestTimeouts> timeouts;       // its request-options, if it was given some
};

// wasi:http/types.response: one the guest made to answer (its body in `contents`), or
// one the host got for the guest's request (its body in `body`).
struct Response3 {
  uint16_t status = 200;
  Fields headers;
  std::unique_ptr<component::HostEnd> contents;
  std::unique_ptr<component::HostEnd> trailers;
  std::unique_ptr<wasi::InputStream> body;
};

// Adds wasi:http/types 0.3, in every version served.
void add_wasi_http_types_p3(component::HostImports& imports);

}  // namespace gyre::http
