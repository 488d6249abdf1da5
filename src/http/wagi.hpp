// Spin's Wagi executor (`executor = { type = "wagi" }`): a WASI preview1 command module
// run once per request as a CGI program, the way Spin 3.6 runs one:
//
// - the module is compiled and linked once; each request gets a fresh store and instance
//   and runs `_start` to its end (Spin refuses any other `entrypoint`);
// - argv is the executor's `argv` with `${SCRIPT_NAME}` replaced by the request path and
//   `${ARGS}` by the query with every `&` made a space, then split at each single space
//   (so the default `${SCRIPT_NAME} ${ARGS}` with no query gives a trailing empty argument);
// - the environment is the component's `environment`, then the CGI variables of
//   wagi_environment() (a guest's getenv sees the component's value where both set one);
// - stdin is the whole request body (Spin reads it fully first), stdout is collected and
//   parsed as a CGI response by parse_cgi_response(), stderr goes to the component's log;
// - the component's `files` are preopened read-only at `/`, as for its other executors;
// - a trap, a deadline, a proc_exit with a non-zero code, a module that wrote nothing to
//   stdout, or output whose header section is not UTF-8 ends in a 500 with an empty body
//   and a log line; output without a Content-Type, Location or Status header is a 500
//   whose body says so, as Spin answers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/log.hpp"
#include "base/result.hpp"
#include "base/worker_pool.hpp"
#include "http/handler.hpp"
#include "wasi/clocks.hpp"
#include "wasi/filesystem.hpp"
#include "wasi/preview1.hpp"
#include "wasm/engine.hpp"
#include "wasm/instance.hpp"
#include "wasm/linker.hpp"
#include "wasm/module.hpp"

namespace gyre::http {

// What a wagi component is given: the executor's options (app::HttpExecutor) and the
// component's own configuration.
struct WagiOptions {
  std::string argv = "${SCRIPT_NAME} ${ARGS}";
  std::string entrypoint = "_start";  // deprecated; Spin 3.6 refuses anything else
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<wasi::MountedFile> files;               // none: no preopened directory
  std::function<void(std::string_view)> stderr_sink;  // the guest's stderr; none: dropped
  std::shared_ptr<const wasi::Clock> clock;           // none: the system clock
  // A guest still running this long after the request reached it is stopped (a 500).
  std::optional<std::chrono::nanoseconds> deadline;
};

struct WagiError {
  std::string message;
};

// A response made from a guest's CGI output.
struct CgiResponse {
  ResponseHead head;  // status and headers (names lower-cased), without a content-length
  std::string body;
  // Set when the output was not a usable response and `head` is the 500 Spin answers
  // instead: why, for the log.
  std::optional<std::string> invalid;
};

// The guest's argv for a request path and query, from the executor's `argv` template.
std::vector<std::string> wagi_arguments(std::string_view argv_template, std::string_view path,
                                        std::string_view query);

// The CGI variables Spin sets for a request (sorted by name; Spin's order is a hash
// map's): RFC 3875's (AUTH_TYPE, CONTENT_LENGTH, CONTENT_TYPE, GATEWAY_INTERFACE,
// PATH_INFO, PATH_TRANSLATED, QUERY_STRING, REMOTE_ADDR, REMOTE_HOST, REMOTE_USER,
// REQUEST_METHOD, SCRIPT_NAME, SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL,
// SERVER_SOFTWARE), HTTP_<NAME> for each request header but Authorization and
// Connection, and Spin's X_FULL_URL, X_MATCHED_ROUTE, X_RAW_PATH_INFO, X_BASE_PATH,
// X_COMPONENT_ROUTE, X_RAW_COMPONENT_ROUTE, X_CLIENT_ADDR and X_PATH_MATCH_<NAME> for
// each `:name` of the route. Spin's quirks are kept: SERVER_NAME is the Host header's
// text before its first ':' (else "default_host") and SERVER_PORT the text after it;
// CONTENT_TYPE is read from a header literally named `content_type` (so it is almost
// always empty; the type is in HTTP_CONTENT_TYPE); PATH_INFO is still percent-encoded
// while PATH_TRANSLATED is decoded; a header value that is not visible ASCII becomes
// "CORRUPT VALUE". Uses Request::route and Request::target when set (by RoutingHandler).
std::vector<std::pair<std::string, std::string>> wagi_environment(const Request& request,
                                                                  size_t body_length);

// Spin's reading of CGI output: headers up to the first empty line (CRs ignored there),
// the rest is the body. `Content-Type`, `Location` or `Status` must be among them, else
// the response is a 500 saying so; `Status: CODE [TEXT]` sets the status (an unreadable
// code gives 502), `Location` without `Status` gives 302, other headers pass through
// (an invalid name is skipped; for a name given twice the last value wins).
// Content-Length, Transfer-Encoding and Connection are the server's to set and are
// dropped. An error is a response Spin would fail on (header section not UTF-8, or a
// header value with control characters): the caller answers it with a bare 500.
Result<CgiResponse, std::string> parse_cgi_response(std::string_view output);

// A wagi component's module, compiled and linked once; run() is safe on many threads.
class WagiModule {
 public:
  // Fails as Spin fails to start such an app: another entrypoint, a binary that is not a
  // core module (a component), no `_start` export, or an import that is not preview1.
  static Result<std::shared_ptr<const WagiModule>, WagiError> create(wasm::Engine& engine,
                                                                     std::string_view component_id,
                                                                     std::span<const uint8_t> wasm,
                                                                     WagiOptions options);

  // Runs one request whose body was read already, on the calling thread (it blocks for as
  // long as the guest runs). An error is a failed run, to log and answer with a bare 500.
  Result<CgiResponse, std::string> run(const Request& request, std::string body) const;

  WagiModule(wasm::Engine& engine, wasm::Module module, std::unique_ptr<wasm::Linker> linker,
             wasm::InstancePre pre, WagiOptions options);

 private:
  wasm::Engine& engine_;
  wasm::Module module_;
  std::unique_ptr<wasm::Linker> linker_;  // owns the host functions pre_ refers to
  wasm::InstancePre pre_;
  WagiOptions options_;
  std::shared_ptr<const wasi::Preview1Files> files_;
};

// The server's handler for a route served by a wagi component: handle() moves the request
// to a worker (post_now for Request::internal: its sender may be a worker waiting for it),
// where run() reads the body, runs the module and sends the response.
class WagiHandler final : public Handler {
 public:
  WagiHandler(std::string component_id, std::shared_ptr<const WagiModule> module,
              WorkerPool& workers, Logger log);

  void handle(Request request, std::shared_ptr<ResponseWriter> response) override;
  // The work handle() posts; blocks, so call it on a worker thread only.
  void run(Request request, std::shared_ptr<ResponseWriter> response) const;

 private:
  std::string id_;
  std::shared_ptr<const WagiModule> module_;
  WorkerPool& workers_;
  Logger log_;
};

}  // namespace gyre::http
