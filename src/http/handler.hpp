// What the HTTP server hands an application: a request (head, client address, a body to
// read in chunks) and a response writer (head, then body chunks, then finish).
//
// Threading rules, chosen so a component can be run on a worker thread of its own:
// - Handler::handle runs on a server thread, the one thread of the request's lane (its
//   loop, `executor`), and must return at once: while it holds that thread, no other
//   connection of the lane is served. A component's guest runs on a fiber driven by that
//   loop, suspending when it waits and yielding when it computes; work that must block
//   goes to a worker thread.
// - BodyReader and ResponseWriter may be called from any thread. Calls are queued in the
//   order they are made and carried out on the connection's own strand; each completion
//   callback runs exactly once, on a server thread, never inside the call that asked for
//   it -- except when the connection is already gone: then it runs at once, on the calling
//   thread, with a failure. Callbacks must not block either.
// - The *_wait helpers block the calling thread until the operation completes: for worker
//   threads only (on a server thread they would wait for the thread they hold).
// - One body read at a time: ask for the next chunk once the previous one arrived.
// - A response is start, any number of writes, then finish; anything out of order, or a
//   body longer or shorter than a content-length the head gave, aborts the connection.
// - Dropping every reference to the request's body and the writer without finishing
//   counts as a failure: before start the client gets a 500 with an empty body (as Spin
//   answers a component error), after start the connection is aborted.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/headers.hpp"
#include "http/router.hpp"

namespace gyre::http {

struct RequestHead {
  std::string method;
  std::string target;     // the request-target as sent (origin form `/path?query` usually)
  unsigned version = 11;  // 10 or 11
  Headers headers;        // in arrival order, names as sent
  bool tls = false;       // arrived on a TLS listener: the scheme is https
};

struct BodyChunk {
  std::string data;
  bool end = false;   // no more chunks after this one (data may still hold the last bytes)
  std::string error;  // set when the body could not be read (bad framing, client gone);
                      // end is then true
};

class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // The next chunk of the request body; empty data with end=true once it is all read.
  virtual void read(std::function<void(BodyChunk)> done) = 0;
  BodyChunk read_wait();
};

struct ResponseHead {
  uint16_t status = 200;
  // Without a content-length the body goes out chunked (HTTP/1.1) or until close (1.0).
  Headers headers;
};

class ResponseWriter {
 public:
  using Done = std::function<void(bool ok)>;  // ok=false: the connection is gone

  virtual ~ResponseWriter() = default;
  virtual void start(ResponseHead head, Done done = {}) = 0;
  // The chunk is on its way to the client (written to the socket) when done runs.
  virtual void write(std::string chunk, Done done = {}) = 0;
  virtual void finish(Done done = {}) = 0;
  // Closes the connection without completing the response.
  virtual void abort() = 0;

  // A whole response at once, with a content-length (written at once where the writer can).
  virtual void respond(ResponseHead head, std::string body, Done done = {});

  bool start_wait(ResponseHead head);
  bool write_wait(std::string chunk);
  bool finish_wait();
};

struct Request {
  RequestHead head;
  std::string client_address;  // as Spin formats it: `127.0.0.1:5000`, `[::1]:5000`
  std::shared_ptr<BodyReader> body;
  bool body_empty = false;  // the head says there is no body (no length, or length 0)
  // Set by the routing handler before it passes the request to a route's handler.
  std::optional<RouteMatch> route;
  std::optional<RequestTarget> target;  // parsed head.target, set by the routing handler
  // Sent by a component of this application (service chaining) from inside its host call:
  // a handler starts it from its loop, as a task of its own, not inside that call.
  bool internal = false;
  // The server lane (network thread) that read it. A handler may keep state per lane
  // (an engine, for one) so that requests of different lanes share nothing.
  unsigned lane = 0;
  // The loop of that lane: handlers run their guests on it, suspended while they wait.
  // Empty for a request made inside the process without one.
  boost::asio::any_io_executor executor;
  // Set, from any thread, once nobody waits for the answer: the client closed or reset
  // its connection, or the server closed it (shutdown). A handler stops work it can stop.
  std::shared_ptr<const std::atomic<bool>> cancelled;
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void handle(Request request, std::shared_ptr<ResponseWriter> response) = 0;
};

// Answers every request with the same response, with a content-length (Spin's
// `static_response` triggers; the body is omitted when absent, as Spin's empty body).
class StaticHandler : public Handler {
 public:
  StaticHandler(uint16_t status, Headers headers, std::optional<std::string> body);
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override;

 private:
  uint16_t status_;
  Headers headers_;
  std::string body_;
};

// Spin's request dispatch in front of the route handlers: the well-known paths
// (`/.well-known/spin/health` answers 200 "OK", `/.well-known/spin/info` the app info JSON,
// anything else under the prefix 404), then the router: no match is a 404 with an empty
// body; a match goes to the target's handler with Request::route and Request::target set.
// Like Spin it removes the `connection` header and a service-chaining `host` header first,
// and drops the connection (no response) where Spin's request task fails before a
// component runs: no Host and no authority in the target, or a Host that disagrees with
// it, and routes routefinder cannot match (RouteStatus::broken_route).
class RoutingHandler : public Handler {
 public:
  struct Target {
    std::string id;
    std::shared_ptr<Handler> handler;
  };
  RoutingHandler(Router router, std::vector<Target> targets, std::string app_info_json);
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override;

 private:
  Router router_;
  std::vector<Target> targets_;
  std::string app_info_json_;
};

}  // namespace gyre::http
