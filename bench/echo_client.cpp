// Streams MEGABYTES of zeros as one request body to a server on 127.0.0.1 and reads the
// echo as it comes back (the upload on a thread of its own, so both flow at once). Prints
// "<bytes of body echoed> <seconds>" for bench/echo.sh; curl, reading its upload from a
// pipe, was slower than the servers it measured.
//
//   echo_client PORT PATH MEGABYTES
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: echo_client PORT PATH MEGABYTES\n");
    return 2;
  }
  namespace net = boost::asio;
  using tcp = net::ip::tcp;
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  const uint64_t bytes = std::strtoull(argv[3], nullptr, 10) << 20;
  net::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  socket.set_option(tcp::no_delay(true));
  const auto started = std::chrono::steady_clock::now();
  std::thread upload([&] {
    const std::string head = std::string("POST ") + argv[2] +
                             " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                             "Content-Type: application/octet-stream\r\n"
                             "Content-Length: " +
                             std::to_string(bytes) + "\r\n\r\n";
    net::write(socket, net::buffer(head));
    const std::vector<char> chunk(1 << 20, '\0');
    for (uint64_t left = bytes; left > 0;) {
      const size_t n = std::min<uint64_t>(left, chunk.size());
      boost::system::error_code ec;
      net::write(socket, net::buffer(chunk.data(), n), ec);
      if (ec) return;
      left -= n;
    }
  });
  // The response: its head, then the body (chunked framing counted as body; it is a few
  // bytes per 64 KiB), until the server closes.
  std::vector<char> buffer(1 << 20);
  uint64_t received = 0;
  for (;;) {
    boost::system::error_code ec;
    const size_t n = socket.read_some(net::buffer(buffer), ec);
    received += n;
    if (ec) break;
  }
  upload.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%llu %.3f\n", static_cast<unsigned long long>(received), seconds);
  return received >= bytes ? 0 : 1;
}
