// The ceiling for Gyre's HTTP stack: the same server (Beast, gyre_http) answering every
// request itself, with no WebAssembly, on as many network threads as `gyre up` uses (one
// per core). bench/http.sh runs it beside `gyre up`; bench/echo.sh streams bodies through
// its `/stream` path, which writes each request body chunk back as it arrives.
// bench/slow_upstream.sh uses it as the slow upstream: `/delay/<ms>` answers after <ms>
// milliseconds, on a timer of the lane's loop, so it holds no thread while it waits.
// `/fetch/<authority>/<path>` is that script's ceiling: what the C fixture does in
// WebAssembly (GET http://<authority>/<path> and answer with its status and whole body),
// done natively through the same outbound client (http::HttpClient) guests use.
//
//   native_server 127.0.0.1:3100
#include <signal.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "http/handler.hpp"
#include "http/http_client.hpp"
#include "http/server.hpp"

namespace {

using namespace gyre::http;

// `/stream...` echoes the body as it arrives; anything else gets the static answer.
class NativeHandler : public Handler {
 public:
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override {
    if (request.head.target.starts_with("/delay/")) return delay(request, response);
    if (request.head.target.starts_with("/fetch/")) return fetch(request, response);
    if (!request.head.target.starts_with("/stream"))
      return hello_.handle(std::move(request), response);
    response->start(ResponseHead{200, {{"content-type", "application/octet-stream"}}});
    pump(request.body, response);
  }

 private:
  static void delay(const Request& request, std::shared_ptr<ResponseWriter> response) {
    const long ms = std::strtol(request.head.target.c_str() + 7, nullptr, 10);
    auto timer = std::make_shared<boost::asio::steady_timer>(request.executor,
                                                             std::chrono::milliseconds(ms));
    timer->async_wait([timer, response](boost::system::error_code) {
      response->respond(ResponseHead{200, {{"content-type", "text/plain"}}}, "waited\n");
    });
  }

  void fetch(const Request& request, std::shared_ptr<ResponseWriter> response) {
    const std::string_view rest = std::string_view(request.head.target).substr(7);
    const size_t slash = rest.find('/');
    OutboundRequest outbound;
    outbound.scheme = "http";
    outbound.authority = std::string(rest.substr(0, slash));
    outbound.path_with_query =
        slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    auto fetched = std::make_shared<Fetched>(request.executor, std::move(response));
    client_.send(outbound, fetched->exchange);
    fetched->relay();
  }

  // One fetch in flight: relays the upstream's head and body once they have all come,
  // looking again on the lane's loop whenever the exchange changes.
  struct Fetched : std::enable_shared_from_this<Fetched> {
    Fetched(boost::asio::any_io_executor loop, std::shared_ptr<ResponseWriter> writer)
        : executor(std::move(loop)), response(std::move(writer)) {}
    void relay() {
      if (done) return;
      // Asked before looking, so a change between the look and the ask is not missed.
      exchange->notify_guest([self = shared_from_this()] {
        boost::asio::post(self->executor, [self] { self->relay(); });
      });
      if (!head) {
        auto taken = exchange->take_head();
        if (!taken) return;
        if (std::holds_alternative<ErrorCode>(*taken)) return answer(502);
        head = std::get<Exchange::Head>(*taken).status;
      }
      for (;;) {
        Exchange::Read read = exchange->read_response(Exchange::kBufferLimit);
        if (read.error) return answer(502);
        body += read.data;
        if (read.end) return answer(*head);
        if (read.data.empty()) return;
      }
    }
    void answer(uint16_t status) {
      done = true;
      exchange->notify_guest({});  // the wake holds this fetch
      response->respond({status, {{"content-type", "text/plain"}}}, std::move(body));
    }
    boost::asio::any_io_executor executor;
    std::shared_ptr<ResponseWriter> response;
    std::shared_ptr<Exchange> exchange = std::make_shared<Exchange>();
    std::optional<uint16_t> head;
    std::string body;
    bool done = false;
  };

  static void pump(std::shared_ptr<BodyReader> body, std::shared_ptr<ResponseWriter> response) {
    body->read([body, response](BodyChunk chunk) {
      if (!chunk.error.empty()) return response->abort();
      const bool end = chunk.end;
      response->write(std::move(chunk.data), [body, response, end](bool ok) {
        if (!ok) return;
        if (end) return response->finish();
        pump(body, response);
      });
    });
  }
  HttpClient client_;
  StaticHandler hello_{200, Headers{{"content-type", "text/plain"}}, "hello from native\n"};
};

}  // namespace

int main(int argc, char** argv) {
  gyre::http::ServerConfig config;
  config.listen = argc > 1 ? argv[1] : "127.0.0.1:3100";
  config.threads = std::max(1u, std::thread::hardware_concurrency());
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto handler = std::make_shared<NativeHandler>();
  auto server = gyre::http::Server::start(config, handler);
  if (!server) {
    std::cerr << "cannot listen: " << server.error().message << "\n";
    return 1;
  }
  std::cout << "Serving http://" << gyre::http::format_socket_address((*server)->local_endpoint())
            << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  (*server)->shutdown();
  return 0;
}
