#include "spin/url_parts.hpp"

#include <charconv>

namespace gyre::spin {

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    int byte = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        std::from_chars(text.data() + i + 1, text.data() + i + 3, byte, 16).ptr ==
            text.data() + i + 3) {
      out += static_cast<char>(byte);
      i += 2;
    } else {
      out += plus_is_space && text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

Result<HostPort, AuthorityError> split_authority(std::string_view authority) {
  HostPort out;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return AuthorityError::kUnclosedIpv6;
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return AuthorityError::kJunkAfterIpv6;
      out.port = authority.substr(close + 2);
    }
    return out;
  }
  const size_t colon = authority.find(':');
  out.host = authority.substr(0, colon);
  if (colon != std::string_view::npos) out.port = authority.substr(colon + 1);
  return out;
}

}  // namespace gyre::spin
