// The ceiling for Gyre's HTTP stack: the same server (Beast, gyre_http) answering every
// request itself, with no WebAssembly, on as many network threads as `gyre up` uses (one
// per core). bench/http.sh runs it beside `gyre up`; bench/echo.sh streams bodies through
// its `/stream` path, which writes each request body chunk back as it arrives.
// bench/slow_upstream.sh uses it as the slow upstream: `/delay/<ms>` answers after <ms>
// milliseconds, on a timer of the lane's loop, so it holds no thread while it waits.
//
//   native_server 127.0.0.1:3100
#include <signal.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "http/handler.hpp"
#include "http/server.hpp"

namespace {

using namespace gyre::http;

// `/stream...` echoes the body as it arrives; anything else gets the static answer.
class NativeHandler : public Handler {
 public:
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override {
    if (request.head.target.starts_with("/delay/")) return delay(request, response);
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
