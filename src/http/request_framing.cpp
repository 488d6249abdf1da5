#include "http/request_framing.hpp"

#include <boost/beast/http/rfc7230.hpp>

#include "base/ascii.hpp"

namespace gyre::http {

namespace bhttp = boost::beast::http;

void RequestParser::on_field_impl(bhttp::field name, boost::beast::string_view name_string,
                                  boost::beast::string_view value, boost::beast::error_code& ec) {
  if (name_string.size() > kMaxFieldBytes || value.size() > kMaxFieldBytes) {
    ec = bhttp::error::header_limit;
    return;
  }
  get().insert(name, name_string, value);
}

void ObsFoldScanner::feed(std::string_view more) {
  for (const char c : more) {
    if (ended_ || found_) break;
    ++scanned_;
    if (after_line_feed_) {
      if (c == ' ' || c == '\t') found_ = true;
      if (c == '\r' || c == '\n') ended_ = true;  // the blank line: the head is complete
    }
    after_line_feed_ = c == '\n';
  }
}

bool breaks_framing_rules(const bhttp::request_parser<bhttp::buffer_body>& parser) {
  const auto& message = parser.get();
  size_t hosts = 0;
  bool has_length = false;
  std::string_view last_coding;
  bool has_coding = false;
  size_t chunked = 0;  // RFC 9112 6.1: applied at most once
  for (const auto& field : message) {
    switch (field.name()) {
      case bhttp::field::host:
        ++hosts;
        break;
      case bhttp::field::content_length:
        has_length = true;
        break;
      case bhttp::field::transfer_encoding:
        has_coding = true;
        for (const auto coding : bhttp::token_list{field.value()}) {
          last_coding = std::string_view(coding.data(), coding.size());
          if (iequals(last_coding, "chunked")) ++chunked;
        }
        break;
      default:
        break;
    }
  }
  if (message.version() >= 11 ? hosts != 1 : hosts > 1) return true;
  if (has_coding && (has_length || chunked != 1 || !iequals(last_coding, "chunked"))) return true;
  return false;
}

}  // namespace gyre::http
