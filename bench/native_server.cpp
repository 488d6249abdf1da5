// The ceiling for Gyre's HTTP stack: the same server (Beast, gyre_http) answering every
// request itself, with no WebAssembly, on as many network threads as `gyre up` uses (one
// per core). bench/http.sh runs it beside `gyre up`.
//
//   native_server 127.0.0.1:3100
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include "http/handler.hpp"
#include "http/server.hpp"

int main(int argc, char** argv) {
  gyre::http::ServerConfig config;
  config.listen = argc > 1 ? argv[1] : "127.0.0.1:3100";
  config.threads = std::max(1u, std::thread::hardware_concurrency());
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto handler = std::make_shared<gyre::http::StaticHandler>(
      200, gyre::http::Headers{{"content-type", "text/plain"}}, "hello from native\n");
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
