// The URL and host parser of Rust's `url` crate (app/url_parser.hpp): IP addresses,
// hosts with IDNA and Punycode, and URLs.
#include "app/url_parser.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "app/rust_strings.hpp"

namespace gyre::app::url_parsing {

using namespace rust_strings;  // UTF-8 decoding, ASCII classes and case over code points

// ---- IP addresses -----------------------------------------------------------------------

namespace {

IpAddress ipv4_address(uint32_t value) {
  IpAddress a;
  for (int i = 0; i < 4; ++i)
    a.bytes[i] = static_cast<uint8_t>(value >> (24 - 8 * i));
  return a;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<IpAddress> parse_strict_ipv4(std::string_view text) {
  uint32_t value = 0;
  for (int part = 0; part < 4; ++part) {
    size_t end = part < 3 ? text.find('.') : text.size();
    if (end == text.npos) return std::nullopt;
    std::string_view octet = text.substr(0, end);
    if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0')) {
      return std::nullopt;
    }
    uint32_t n = 0;
    for (char c : octet) {
      if (!is_ascii_digit(static_cast<unsigned char>(c))) return std::nullopt;
      n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    if (n > 255) return std::nullopt;
    value = (value << 8) | n;
    text.remove_prefix(part < 3 ? end + 1 : end);
  }
  return ipv4_address(value);
}

std::optional<IpAddress> parse_ipv6(std::string_view text) {
  std::array<uint16_t, 8> pieces{};
  size_t piece = 0, i = 0, len = text.size();
  std::optional<size_t> compress;
  if (len < 2) return std::nullopt;
  if (text[0] == ':') {
    if (text[1] != ':') return std::nullopt;
    i = 2;
    piece = 1;
    compress = 1;
  }
  bool ipv4_tail = false;
  while (i < len) {
    if (piece == 8) return std::nullopt;
    if (text[i] == ':') {
      if (compress) return std::nullopt;
      ++i;
      compress = ++piece;
      continue;
    }
    size_t start = i;
    uint16_t value = 0;
    while (i < len && i < start + 4 && hex_value(text[i]) >= 0) {
      value = static_cast<uint16_t>(value * 16 + hex_value(text[i]));
      ++i;
    }
    if (i < len) {
      if (text[i] == '.') {
        if (i == start || piece > 6) return std::nullopt;
        i = start;
        ipv4_tail = true;
        break;
      }
      if (text[i] != ':') return std::nullopt;
      if (++i == len) return std::nullopt;
    }
    pieces[piece++] = value;
  }
  if (ipv4_tail) {
    int numbers = 0;
    while (i < len) {
      if (numbers > 0) {
        if (numbers >= 4 || text[i] != '.') return std::nullopt;
        ++i;
      }
      std::optional<uint16_t> number;
      while (i < len && is_ascii_digit(static_cast<unsigned char>(text[i]))) {
        if (number == 0) return std::nullopt;  // no leading zeros
        number = static_cast<uint16_t>(number.value_or(0) * 10 + (text[i] - '0'));
        if (*number > 255) return std::nullopt;
        ++i;
      }
      if (!number) return std::nullopt;
      pieces[piece] = static_cast<uint16_t>(pieces[piece] * 0x100 + *number);
      if (++numbers == 2 || numbers == 4) ++piece;
    }
    if (numbers != 4) return std::nullopt;
  }
  if (compress) {
    size_t swaps = piece - *compress;
    for (size_t k = 0; k < swaps; ++k)
      std::swap(pieces[7 - k], pieces[*compress + swaps - 1 - k]);
  } else if (piece != 8) {
    return std::nullopt;
  }
  IpAddress a;
  a.v6 = true;
  for (size_t k = 0; k < 8; ++k) {
    a.bytes[2 * k] = static_cast<uint8_t>(pieces[k] >> 8);
    a.bytes[2 * k + 1] = static_cast<uint8_t>(pieces[k]);
  }
  return a;
}

std::string serialize_ip(const IpAddress& a) {
  std::string out;
  if (!a.v6) {
    for (int i = 0; i < 4; ++i)
      out += (i ? "." : "") + std::to_string(a.bytes[i]);
    return out;
  }
  uint16_t pieces[8];
  for (int k = 0; k < 8; ++k)
    pieces[k] = static_cast<uint16_t>(a.bytes[2 * k] << 8 | a.bytes[2 * k + 1]);
  // RFC 5952: the first longest run of two or more zero pieces becomes "::".
  int best_start = -1, best_length = 1;
  for (int k = 0; k < 8;) {
    int run = 0;
    while (k + run < 8 && pieces[k + run] == 0)
      ++run;
    if (run > best_length) best_start = k, best_length = run;
    k += run ? run : 1;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out = "[";
  for (int k = 0; k < 8; ++k) {
    if (k == best_start) {
      out += k == 0 ? "::" : ":";
      k += best_length - 1;
      continue;
    }
    std::string digits;
    for (uint16_t v = pieces[k]; digits.empty() || v; v >>= 4)
      digits.insert(digits.begin(), kHex[v & 0xF]);
    out += digits + (k < 7 ? ":" : "");
  }
  return out + "]";
}

// ---- Hosts, as the `url` crate parses them ----------------------------------------------

std::string url_error_text(UrlError e) {
  switch (e) {
    case UrlError::kEmptyHost:
      return "empty host";
    case UrlError::kIdna:
      return "invalid international domain name";
    case UrlError::kInvalidPort:
      return "invalid port number";
    case UrlError::kInvalidIpv4:
      return "invalid IPv4 address";
    case UrlError::kInvalidIpv6:
      return "invalid IPv6 address";
    case UrlError::kInvalidDomainCharacter:
      return "invalid domain character";
    case UrlError::kRelativeWithoutBase:
      return "relative URL without a base";
  }
  return "";
}

namespace {

std::string percent_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The URL standard's forbidden domain code points among ASCII (UTS 46 with the URL deny list).
bool is_denied_in_domain(char32_t c) {
  return c <= 0x20 || c == 0x7F ||
         std::u32string_view(U"%#/:<>?@[\\]^|").find(c) != std::u32string_view::npos;
}

// ---- Punycode (RFC 3492), for IDNA labels -------------------------------------------------

constexpr uint32_t kBase = 36, kTmin = 1, kTmax = 26, kSkew = 38, kDamp = 700;

uint32_t adapt(uint32_t delta, uint32_t points, bool first) {
  delta = first ? delta / kDamp : delta / 2;
  delta += delta / points;
  uint32_t k = 0;
  while (delta > ((kBase - kTmin) * kTmax) / 2) {
    delta /= kBase - kTmin;
    k += kBase;
  }
  return k + (kBase - kTmin + 1) * delta / (delta + kSkew);
}

uint32_t threshold(uint32_t k, uint32_t bias) {
  return k <= bias ? kTmin : k >= bias + kTmax ? kTmax : k - bias;
}

char punycode_digit(uint32_t d) {
  return static_cast<char>(d < 26 ? 'a' + d : '0' + d - 26);
}

std::string punycode_encode(const std::u32string& label) {
  std::string out;
  for (char32_t c : label)
    if (c < 0x80) out += static_cast<char>(c);
  uint32_t basic = static_cast<uint32_t>(out.size()), handled = basic;
  if (basic > 0) out += '-';
  uint32_t n = 0x80, delta = 0, bias = 72;
  while (handled < label.size()) {
    char32_t m = 0x10FFFF;
    for (char32_t c : label)
      if (c >= n && c < m) m = c;
    delta += (m - n) * (handled + 1);
    n = m;
    for (char32_t c : label) {
      if (c < n) ++delta;
      if (c != n) continue;
      uint32_t q = delta;
      for (uint32_t k = kBase;; k += kBase) {
        uint32_t t = threshold(k, bias);
        if (q < t) break;
        out += punycode_digit(t + (q - t) % (kBase - t));
        q = (q - t) / (kBase - t);
      }
      out += punycode_digit(q);
      bias = adapt(delta, handled + 1, handled == basic);
      delta = 0;
      ++handled;
    }
    ++delta;
    ++n;
  }
  return out;
}

std::optional<std::u32string> punycode_decode(std::string_view text) {
  std::u32string out;
  size_t delimiter = text.rfind('-');
  if (delimiter != text.npos) {
    for (char c : text.substr(0, delimiter))
      out += static_cast<unsigned char>(c);
    text.remove_prefix(delimiter + 1);
  }
  uint64_t n = 0x80, i = 0, bias = 72;
  while (!text.empty()) {
    uint64_t old_i = i, w = 1;
    for (uint32_t k = kBase;; k += kBase) {
      if (text.empty()) return std::nullopt;
      char c = ascii_lower(text[0]);
      text.remove_prefix(1);
      int digit = c >= 'a' && c <= 'z' ? c - 'a' : c >= '0' && c <= '9' ? c - '0' + 26 : -1;
      if (digit < 0) return std::nullopt;
      i += static_cast<uint64_t>(digit) * w;
      uint32_t t = threshold(k, static_cast<uint32_t>(bias));
      if (static_cast<uint32_t>(digit) < t) break;
      w *= kBase - t;
      if (i > 0xFFFFFFFF || w > 0xFFFFFFFF) return std::nullopt;
    }
    uint32_t points = static_cast<uint32_t>(out.size() + 1);
    bias = adapt(static_cast<uint32_t>(i - old_i), points, old_i == 0);
    n += i / points;
    i %= points;
    if (n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF)) return std::nullopt;
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(i), static_cast<char32_t>(n));
    ++i;
  }
  return out;
}

// The part of UTS 46's mapping that names commonly use: full-width ASCII and the
// ideographic dots become ASCII, upper-case Latin-1, Greek and Cyrillic letters become
// lower-case, soft hyphens and other invisible characters are dropped (0). Everything
// else is left as it is.
char32_t map_code_point(char32_t c) {
  if (c == 0x3002 || c == 0xFF61) return '.';
  if (c == 0xAD || c == 0x34F || (c >= 0x180B && c <= 0x180D) || c == 0x200B || c == 0x2060 ||
      (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF)
    return 0;  // ignored
  if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFF01 - 0x21;
  if (c < 0x80) return ascii_lower(c);
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||
      (c >= 0x410 && c <= 0x42F))
    return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  return c;
}

// An ASCII "xn--" label is kept only if it decodes to a label UTS 46 would leave alone.
bool is_valid_punycode_label(std::string_view label) {
  if (label.size() <= 4 || label.back() == '-') return false;
  auto decoded = punycode_decode(label.substr(4));
  if (!decoded || decoded->empty()) return false;
  bool non_ascii = false;
  for (char32_t c : *decoded) {
    if (c == '.' || map_code_point(c) != c || is_denied_in_domain(c) || (c >= 0x80 && c < 0xA0))
      return false;
    non_ascii |= c >= 0x80;
  }
  return non_ascii;
}

// UTS 46 ToASCII as the URL standard runs it, for the names Gyre meets: characters are
// mapped (see map_code_point), ASCII is checked against the forbidden code points, labels
// with other characters are punycoded, and "xn--" labels must decode to such a label.
Result<std::string, UrlError> domain_to_ascii(std::string_view bytes) {
  auto text = decode_utf8(bytes);
  if (!text) return UrlError::kIdna;
  std::string out;
  std::u32string label;
  auto finish_label = [&]() -> bool {
    std::string ascii;
    for (char32_t c : label) {
      if (c >= 0x80 && c < 0xA0) return false;  // C1 controls are disallowed
      if (c < 0x80 && is_denied_in_domain(c)) return false;
      if (c < 0x80) ascii += static_cast<char>(c);
    }
    bool punycode_prefix = ascii.starts_with("xn--");
    if (ascii.size() == label.size()) {
      if (punycode_prefix && !is_valid_punycode_label(ascii)) return false;
      out += ascii;
    } else {
      if (punycode_prefix) return false;
      out += "xn--" + punycode_encode(label);
    }
    label.clear();
    return true;
  };
  for (char32_t c : *text) {
    c = map_code_point(c);
    if (c == 0) continue;
    if (c == '.') {
      if (!finish_label()) return UrlError::kIdna;
      out += '.';
    } else {
      label += c;
    }
  }
  if (!finish_label()) return UrlError::kIdna;
  return out;
}

// The URL standard's IPv4 number parser: decimal, octal (0...) or hex (0x...); nothing if
// the text is no such number, a value above 0xFFFFFFFF if it overflows.
std::optional<uint64_t> parse_ipv4_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int radix = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    text.remove_prefix(2);
    radix = 16;
  } else if (text.size() >= 2 && text[0] == '0') {
    text.remove_prefix(1);
    radix = 8;
  }
  uint64_t value = 0;
  for (char c : text) {
    int digit = hex_value(c);
    if (digit < 0 || digit >= radix) return std::nullopt;
    value = std::min<uint64_t>(value * static_cast<uint64_t>(radix) + static_cast<uint64_t>(digit),
                               0x100000000);
  }
  return value;
}

// Whether the last label (ignoring one trailing dot) is a number, making the host IPv4.
bool ends_in_a_number(std::string_view domain) {
  std::string_view last = domain.substr(domain.rfind('.') + 1);
  if (last.empty()) {
    if (domain.empty()) return false;
    std::string_view rest = domain.substr(0, domain.size() - 1);
    size_t dot = rest.rfind('.');
    last = dot == rest.npos ? rest : rest.substr(dot + 1);
  }
  if (!last.empty() &&
      std::all_of(last.begin(), last.end(), [](char c) { return is_ascii_digit(c); }))
    return true;
  return parse_ipv4_number(last).has_value();
}

// The URL standard's IPv4 parser: 1 to 4 parts, decimal, octal (0...) or hex (0x...).
Result<IpAddress, UrlError> parse_url_ipv4(std::string_view text) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == text.npos ? text.npos : dot - start));
    if (dot == text.npos) break;
    start = dot + 1;
  }
  if (parts.back().empty()) parts.pop_back();
  if (parts.size() > 4 || parts.empty()) return UrlError::kInvalidIpv4;
  std::vector<uint32_t> numbers;
  for (std::string_view part : parts) {
    auto number = parse_ipv4_number(part);
    if (!number || *number > 0xFFFFFFFF) return UrlError::kInvalidIpv4;
    numbers.push_back(static_cast<uint32_t>(*number));
  }
  uint64_t value = numbers.back();
  numbers.pop_back();
  if (value > (0xFFFFFFFFull >> (8 * numbers.size()))) return UrlError::kInvalidIpv4;
  for (size_t k = 0; k < numbers.size(); ++k) {
    if (numbers[k] > 255) return UrlError::kInvalidIpv4;
    value += static_cast<uint64_t>(numbers[k]) << (8 * (3 - k));
  }
  return ipv4_address(static_cast<uint32_t>(value));
}

}  // namespace

Result<Host, UrlError> parse_host(std::string_view input) {
  Host host;
  if (input.starts_with('[')) {
    if (!input.ends_with(']')) return UrlError::kInvalidIpv6;
    auto ip = parse_ipv6(input.substr(1, input.size() - 2));
    if (!ip) return UrlError::kInvalidIpv6;
    return Host{Host::Kind::kIpv6, "", *ip};
  }
  auto domain = domain_to_ascii(percent_decode(input));
  if (!domain) return domain.error();
  if (domain->empty()) return UrlError::kEmptyHost;
  if (!ends_in_a_number(*domain)) return Host{Host::Kind::kDomain, std::move(*domain), {}};
  auto ip = parse_url_ipv4(*domain);
  if (!ip) return ip.error();
  return Host{Host::Kind::kIpv4, "", *ip};
}

namespace {

// Host::parse_opaque: the host of any other URL, kept as written but for control
// characters, which are percent-encoded.
Result<Host, UrlError> parse_opaque_host(std::string_view input) {
  if (input.starts_with('[')) return parse_host(input);
  if (input.find_first_of(std::string_view("\0\t\n\r #/:<>?@[\\]^|", 17)) != input.npos)
    return UrlError::kInvalidDomainCharacter;
  std::string domain;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : input) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7F) {
      domain += '%';
      domain += kHex[byte >> 4];
      domain += kHex[byte & 0xF];
    } else {
      domain += c;
    }
  }
  return Host{Host::Kind::kDomain, std::move(domain), {}};
}

}  // namespace

// ---- URLs ---------------------------------------------------------------------------------

namespace {

std::optional<uint16_t> default_port(std::string_view scheme) {
  if (scheme == "http" || scheme == "ws") return 80;
  if (scheme == "https" || scheme == "wss") return 443;
  if (scheme == "ftp") return 21;
  return std::nullopt;
}

bool is_single_dot(std::string_view s) {
  return s == "." || ascii_lower(s) == "%2e";
}
bool is_double_dot(std::string_view s) {
  std::string lower = ascii_lower(s);
  return lower == ".." || lower == ".%2e" || lower == "%2e." || lower == "%2e%2e";
}

// Whether a special URL's path (starting with a slash, or empty) normalises to "/".
bool path_normalises_to_root(std::string_view path) {
  if (path.empty()) return true;
  path.remove_prefix(1);
  std::vector<std::string_view> segments;
  while (true) {
    size_t slash = path.find_first_of("/\\");
    bool last = slash == path.npos;
    std::string_view segment = path.substr(0, slash);
    if (is_double_dot(segment)) {
      if (!segments.empty()) segments.pop_back();
      if (last) segments.push_back("");
    } else if (is_single_dot(segment)) {
      if (last) segments.push_back("");
    } else {
      segments.push_back(segment);
    }
    if (last) break;
    path.remove_prefix(slash + 1);
  }
  return segments.empty() || (segments.size() == 1 && segments[0].empty());
}

}  // namespace

Result<ParsedUrl, UrlError> parse_url(std::string_view raw) {
  auto is_c0_or_space = [](char c) { return static_cast<unsigned char>(c) <= 0x20; };
  while (!raw.empty() && is_c0_or_space(raw.front()))
    raw.remove_prefix(1);
  while (!raw.empty() && is_c0_or_space(raw.back()))
    raw.remove_suffix(1);
  std::string input;
  for (char c : raw)
    if (c != '\t' && c != '\n' && c != '\r') input += c;

  ParsedUrl url;
  size_t colon = 0;
  while (colon < input.size() &&
         (is_ascii_alpha(static_cast<unsigned char>(input[colon])) ||
          (colon > 0 && (is_ascii_digit(static_cast<unsigned char>(input[colon])) ||
                         input[colon] == '+' || input[colon] == '-' || input[colon] == '.'))))
    ++colon;
  if (colon == 0 || colon == input.size() || input[colon] != ':')
    return UrlError::kRelativeWithoutBase;
  url.scheme = ascii_lower(std::string_view(input).substr(0, colon));
  std::string_view rest = std::string_view(input).substr(colon + 1);

  bool special = default_port(url.scheme) || url.scheme == "file";
  auto is_slash = [&](char c) { return c == '/' || (special && c == '\\'); };
  if (special) {
    size_t slashes = 0;
    while (slashes < rest.size() && is_slash(rest[slashes]))
      ++slashes;
    if (url.scheme == "file") {
      if (slashes < 2) return url;  // a path, no host
      slashes = 2;                  // the host, if any, ends at the next slash
    }
    rest.remove_prefix(slashes);
  } else if (rest.starts_with("//")) {
    rest.remove_prefix(2);
  } else {
    return url;  // a path, no host
  }
  size_t authority_end = 0;
  while (authority_end < rest.size() && !is_slash(rest[authority_end]) &&
         rest[authority_end] != '?' && rest[authority_end] != '#')
    ++authority_end;
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path = rest.substr(authority_end);
  path = path.substr(0, path.find_first_of("?#"));
  url.path_is_root = path_normalises_to_root(path);

  size_t at = authority.rfind('@');
  bool has_user_info = at != authority.npos;
  if (has_user_info) authority.remove_prefix(at + 1);
  size_t port_colon = authority.npos;
  for (size_t i = 0, depth = 0; i < authority.size(); ++i) {
    if (authority[i] == '[') depth = 1;
    if (authority[i] == ']') depth = 0;
    if (authority[i] == ':' && depth == 0) {
      port_colon = i;
      break;
    }
  }
  std::string_view host_text = authority.substr(0, port_colon);
  if (url.scheme == "file") {
    if (host_text.empty()) return url;
    auto host = parse_host(host_text);
    if (!host) return host.error();
    if (!(host->kind == Host::Kind::kDomain && host->domain == "localhost")) url.host = *host;
    return url;
  }
  if (host_text.empty()) {
    if (special || has_user_info) return UrlError::kEmptyHost;
  } else {
    auto host = special ? parse_host(host_text) : parse_opaque_host(host_text);
    if (!host) return host.error();
    url.host = std::move(*host);
  }
  if (port_colon != authority.npos) {
    uint32_t port = 0;
    bool digits = false;
    for (char c : authority.substr(port_colon + 1)) {
      if (!is_ascii_digit(static_cast<unsigned char>(c))) return UrlError::kInvalidPort;
      port = port * 10 + static_cast<uint32_t>(c - '0');
      if (port > 0xFFFF) return UrlError::kInvalidPort;
      digits = true;
    }
    if (digits && port != default_port(url.scheme)) url.port = static_cast<uint16_t>(port);
  }
  return url;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (is_ascii_alpha(byte) || is_ascii_digit(byte) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

}  // namespace gyre::app::url_parsing
