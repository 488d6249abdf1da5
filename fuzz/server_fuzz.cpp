// libFuzzer target for the HTTP/1.1 server: each input is the raw bytes a client sends on
// one connection (request heads, chunked and sized bodies, pipelined requests). The
// server under test runs once, on 127.0.0.1, behind a handler that echoes what it reads;
// the input is written, the client half-closes and reads until the server closes. The
// server must never crash, leak or hang (a 10 s receive timeout is the hang guard).
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "http/server.hpp"

namespace {

using namespace gyre::http;

// Reads the whole body, then answers with it; `/stream` streams it back as it arrives.
class EchoHandler : public Handler {
 public:
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override {
    if (request.head.target.starts_with("/stream")) response->start(ResponseHead{200, {}});
    collect(request.body, response, std::make_shared<std::string>(),
            request.head.target.starts_with("/stream"));
  }

 private:
  static void collect(std::shared_ptr<BodyReader> body, std::shared_ptr<ResponseWriter> response,
                      std::shared_ptr<std::string> so_far, bool streaming) {
    body->read([=](BodyChunk chunk) {
      if (!chunk.error.empty()) return response->abort();
      if (streaming) {
        response->write(chunk.data);
        if (chunk.end) return response->finish();
        return collect(body, response, so_far, streaming);
      }
      *so_far += chunk.data;
      if (!chunk.end) return collect(body, response, so_far, streaming);
      response->respond(ResponseHead{200, {{"x-echo", "1"}}}, *so_far);
    });
  }
};

Server& server() {
  static std::unique_ptr<Server> running = [] {
    ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.threads = 2;
    config.header_read_timeout = std::chrono::milliseconds(2000);
    auto started = Server::start(config, std::make_shared<EchoHandler>());
    if (!started) std::abort();
    return std::move(started).value();
  }();
  return *running;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace net = boost::asio;
  static net::io_context io;
  net::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(server().local_endpoint(), ec);
  if (ec) std::abort();  // the server stopped accepting
  const timeval timeout{10, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  net::write(socket, net::buffer(data, size), ec);
  socket.shutdown(net::ip::tcp::socket::shutdown_send, ec);
  char buffer[65536];
  for (;;) {
    socket.read_some(net::buffer(buffer), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) std::abort();  // hung
    if (ec) break;
  }
  return 0;
}
