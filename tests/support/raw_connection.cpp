#include "support/raw_connection.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace gyre::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

RawConnection::RawConnection(const net::ip::tcp::endpoint& endpoint) : socket_(io_) {
  socket_.connect(endpoint);
}

RawConnection::RawConnection(uint16_t port)
    : RawConnection(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port)) {}

void RawConnection::send(std::string_view raw) {
  net::write(socket_, net::buffer(raw.data(), raw.size()));
}

RawConnection::Response RawConnection::request(
    std::string_view method, std::string_view target, std::string body,
    std::vector<std::pair<std::string, std::string>> headers) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, "localhost");
  for (auto& [name, value] : headers)
    req.set(name, value);
  req.body() = std::move(body);
  req.prepare_payload();
  bhttp::write(socket_, req);
  return read(method == "HEAD");
}

RawConnection::Response RawConnection::read(bool head_request) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(boost::none);
  parser.header_limit(1 << 20);
  parser.skip(head_request);
  beast::error_code ec;
  bhttp::read(socket_, buffer_, parser, ec);
  if (ec && !parser.is_header_done()) return Response{};
  return parser.release();
}

bool RawConnection::at_eof(std::chrono::seconds limit) {
  if (buffer_.size() != 0) return false;
  timeval timeout{static_cast<time_t>(limit.count()), 0};
  setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char byte;
  beast::error_code ec;
  const size_t n = socket_.read_some(net::buffer(&byte, 1), ec);
  return n == 0 && (ec == net::error::eof || ec == net::error::connection_reset);
}

}  // namespace gyre::testing
