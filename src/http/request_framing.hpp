// RFC 9112's rules for a request head that Beast's parser leaves to its user, applied by
// the server before a request reaches a handler (each breach is a 400, then the connection
// closes, as RFC 9112 asks where a body's length cannot be trusted):
//  - no obs-fold (a field value continued on the next line; section 5.2);
//  - a Transfer-Encoding whose final coding is `chunked`, never beside a Content-Length
//    (section 6.1: otherwise the body would be read as a second, smuggled request);
//  - an HTTP/1.1 request names exactly one Host, an HTTP/1.0 request at most one (3.2).
// And Beast's own limit, which Beast enforces by throwing: a field name or value must stay
// under 64 KiB (a 431 instead).
#pragma once

#include <algorithm>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <string_view>

namespace gyre::http {

// Beast keeps a field's name and value lengths in 16 bits, less its own two bytes.
inline constexpr size_t kMaxFieldBytes = 65533;

// Beast's request parser with a body read into a caller's buffer, refusing a field too
// large for Beast to store with `header_limit` (which the server answers with 431).
class RequestParser final
    : public boost::beast::http::request_parser<boost::beast::http::buffer_body> {
 private:
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& ec) override;
};

// Finds an obs-fold in a request head as its bytes arrive, reading each byte once, and
// stops at the blank line that ends the head.
class ObsFoldScanner {
 public:
  // The head's bytes from `scanned()` on (a caller keeps the head's start in one buffer).
  void feed(std::string_view more);
  size_t scanned() const { return scanned_; }
  bool found() const { return found_; }
  // The caller dropped `n` bytes from the front of the head's buffer.
  void consumed(size_t n) { scanned_ -= std::min(n, scanned_); }
  void reset() { *this = ObsFoldScanner(); }

 private:
  size_t scanned_ = 0;
  bool after_line_feed_ = false;
  bool ended_ = false;
  bool found_ = false;
};

// True when a parsed head breaks one of the rules above (Beast checked the rest).
bool breaks_framing_rules(
    const boost::beast::http::request_parser<boost::beast::http::buffer_body>& parser);

}  // namespace gyre::http
