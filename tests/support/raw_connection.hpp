// One HTTP/1.1 connection to a server on 127.0.0.1 for tests that must send exact bytes
// (malformed heads, pipelining, trickles) or hold a connection open: writes raw text,
// reads responses with Beast's parser, and tells when the server closed it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gyre::testing {

class RawConnection {
 public:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  explicit RawConnection(const boost::asio::ip::tcp::endpoint& endpoint);
  explicit RawConnection(uint16_t port);

  void send(std::string_view raw);
  // A request with `host: localhost` and a content-length, then its response.
  Response request(std::string_view method, std::string_view target, std::string body = {},
                   std::vector<std::pair<std::string, std::string>> headers = {});
  // The next response (status 0 if the connection closed first).
  Response read(bool head_request = false);
  // True if the server closed the connection: nothing more arrives, within `limit` (a
  // hang guard; false if it is still open then).
  bool at_eof(std::chrono::seconds limit = std::chrono::seconds(60));

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  boost::beast::flat_buffer& buffer() { return buffer_; }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace gyre::testing
