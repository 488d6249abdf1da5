#include "app/outbound_hosts.hpp"

#include <algorithm>
#include <utility>

#include "app/identifiers.hpp"
#include "app/variables.hpp"
#include "base/ascii.hpp"

namespace gyre::app {
namespace {

// ---- UTF-8 and Rust's string functions ------------------------------------------------

// The code point starting at text[i] and its length, or nothing for ill-formed UTF-8.
std::optional<std::pair<char32_t, size_t>> decode_at(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  uint8_t lead = byte(i);
  size_t length = lead < 0x80             ? 1
                  : (lead & 0xE0) == 0xC0 ? 2
                  : (lead & 0xF0) == 0xE0 ? 3
                  : (lead & 0xF8) == 0xF0 ? 4
                                          : 0;
  if (length == 0 || i + length > text.size()) return std::nullopt;
  static constexpr char32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  char32_t c = length == 1 ? lead : lead & (0x7F >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return std::nullopt;
    c = (c << 6) | (byte(i + k) & 0x3F);
  }
  if (c < kMinimum[length] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
  return std::pair{c, length};
}

std::optional<std::u32string> decode_utf8(std::string_view text) {
  std::u32string out;
  for (size_t i = 0; i < text.size();) {
    auto c = decode_at(text, i);
    if (!c) return std::nullopt;
    out += c->first;
    i += c->second;
  }
  return out;
}

// Unicode's White_Space, which Rust's str::trim removes.
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

std::string_view rust_trim(std::string_view text) {
  while (!text.empty()) {
    auto c = decode_at(text, 0);
    if (!c || !is_white_space(c->first)) break;
    text.remove_prefix(c->second);
  }
  while (!text.empty()) {
    size_t start = text.size() - 1;
    while (start > 0 && text.size() - start < 4 &&
           (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80)
      --start;
    auto c = decode_at(text, start);
    if (!c || start + c->second != text.size() || !is_white_space(c->first)) break;
    text.remove_suffix(c->second);
  }
  return text;
}

bool is_ascii_alpha(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_ascii_digit(char32_t c) {
  return c >= '0' && c <= '9';
}
using gyre::ascii_lower;
char32_t ascii_lower(char32_t c) {
  return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

// Rust's `str::parse` of an unsigned integer no greater than `max`, with its error words.
Result<uint32_t, std::string> parse_unsigned(std::string_view text, uint32_t max) {
  if (text.empty()) return std::string("cannot parse integer from empty string");
  if (text.size() > 1 && text[0] == '+') text.remove_prefix(1);
  uint64_t value = 0;
  for (char c : text) {
    if (!is_ascii_digit(static_cast<unsigned char>(c))) {
      return std::string("invalid digit found in string");
    }
    value = value * 10 + static_cast<uint64_t>(c - '0');
    if (value > max) return std::string("number too large to fit in target type");
  }
  return static_cast<uint32_t>(value);
}

// Rust's Debug rendering of a list of strings: ["a", "b"].
std::string debug_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i)
    out += (i ? ", " : "") + debug_quote(items[i]);
  return out + "]";
}

// ---- IP addresses -----------------------------------------------------------------------

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first four
};

IpAddress ipv4_address(uint32_t value) {
  IpAddress a;
  for (int i = 0; i < 4; ++i)
    a.bytes[i] = static_cast<uint8_t>(value >> (24 - 8 * i));
  return a;
}

// Rust's Ipv4Addr::from_str: four decimal octets, no leading zeros.
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

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The IPv6 parser of the URL standard (which Rust's own parser agrees with on every
// address either accepts): hex pieces, one "::", an optional dotted IPv4 tail.
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

enum class UrlError {
  kEmptyHost,
  kIdna,
  kInvalidPort,
  kInvalidIpv4,
  kInvalidIpv6,
  kInvalidDomainCharacter,
  kRelativeWithoutBase,
};

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

struct Host {
  enum class Kind { kDomain, kIpv4, kIpv6 };
  Kind kind = Kind::kDomain;
  std::string domain;
  IpAddress ip;

  std::string serialize() const { return kind == Kind::kDomain ? domain : serialize_ip(ip); }
};

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

// Host::parse: the host of a special URL (http, https, ...).
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

// ---- URLs ---------------------------------------------------------------------------------

struct ParsedUrl {
  std::string scheme;
  std::optional<Host> host;  // absent: the URL has none
  std::optional<uint16_t> port;
  bool path_is_root = true;  // special URLs: the path is "/" once dot segments are gone
};

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

// The parts of a URL's parse that decide where it goes, by the URL standard's rules.
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

// urlencoding::encode: every byte but ASCII letters, digits and -_.~ as %XX.
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

// ---- allowed_outbound_hosts entries -------------------------------------------------------

std::optional<uint16_t> well_known_port(std::string_view scheme) {
  if (scheme == "postgres") return 5432;
  if (scheme == "mysql") return 3306;
  if (scheme == "redis") return 6379;
  if (scheme == "mqtt") return 1883;
  if (scheme == "http") return 80;
  if (scheme == "https") return 443;
  return std::nullopt;
}

constexpr std::string_view kLearnMore =
    "Learn more: "
    "https://spinframework.dev/v3/http-outbound#granting-http-permissions-to-components";

Result<AllowedHost::Port, std::string> parse_port_pattern(std::string_view port,
                                                          std::string_view scheme) {
  if (port.empty()) {
    auto known = well_known_port(scheme);
    if (!known) {
      return "no port was provided and the scheme " + debug_quote(scheme) +
             " does not have a known default port number";
    }
    return AllowedHost::Port{false, *known, *known + 1u};
  }
  if (port == "*") return AllowedHost::Port{true, 0, 0};
  if (port.starts_with('{')) return std::string("port lists are not yet supported");
  if (size_t dots = port.find(".."); dots != port.npos) {
    auto start = parse_unsigned(port.substr(0, dots), 0xFFFF);
    if (!start) return "port range " + debug_quote(port) + " contains non-number: " + start.error();
    auto end = parse_unsigned(port.substr(dots + 2), 0xFFFF);
    if (!end) return "port range " + debug_quote(port) + " contains non-number: " + end.error();
    return AllowedHost::Port{false, *start, *end};
  }
  auto number = parse_unsigned(port, 0xFFFF);
  if (!number) return "port " + debug_quote(port) + " is not a number: " + number.error();
  return AllowedHost::Port{false, *number, *number + 1};
}

Result<std::optional<std::string>, std::string> parse_scheme_pattern(std::string_view scheme) {
  if (scheme == "*") return std::optional<std::string>();
  if (scheme.starts_with('{')) return std::string("scheme lists are not supported");
  // Rust's char::is_alphabetic: ASCII letters, and (approximately) any non-ASCII character.
  for (char c : scheme) {
    if (static_cast<unsigned char>(c) < 0x80 && !is_ascii_alpha(static_cast<unsigned char>(c)))
      return std::string("only alphabetic characters are allowed");
  }
  return std::optional<std::string>(std::string(scheme));
}

// ip_network's from_str_truncate: "address/prefix", host bits dropped.
std::optional<AllowedHost::Host> parse_network(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == text.npos || slash == 0 || slash + 1 == text.size()) return std::nullopt;
  std::string_view address = text.substr(0, slash);
  auto ip = parse_strict_ipv4(address);
  if (!ip) ip = address.find(':') != address.npos ? parse_ipv6(address) : std::nullopt;
  auto prefix = parse_unsigned(text.substr(slash + 1), 255);
  if (!ip || !prefix || *prefix > (ip->v6 ? 128u : 32u)) return std::nullopt;
  AllowedHost::Host host{AllowedHost::Host::Kind::kNetwork, "", ip->v6, ip->bytes,
                         static_cast<uint8_t>(*prefix)};
  for (size_t bit = *prefix; bit < 128; ++bit)
    host.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  host.text = serialize_ip({host.ipv6, host.address}) + "/" + std::to_string(*prefix);
  return host;
}

Result<AllowedHost::Host, std::string> parse_host_pattern(std::string_view host) {
  using Kind = AllowedHost::Host::Kind;
  host = rust_trim(host);
  if (host == "*") return AllowedHost::Host{Kind::kAny};
  if (host == "self" || host == "self.alt") return AllowedHost::Host{Kind::kSelf};
  if (host.starts_with('{')) {
    if (!host.ends_with('}')) return std::string("Condition failed: `host.ends_with('}')`");
    return std::string("host lists are not yet supported");
  }
  if (auto network = parse_network(host)) return *network;
  while (host.ends_with('/'))
    host.remove_suffix(1);
  if (host.find('/') != host.npos) return std::string("must not include a path");
  if (host.starts_with("*.")) {
    std::string_view domain = host.substr(2);
    if (domain.find('*') != domain.npos)
      return std::string("wildcards are allowed only as prefixes");
    return AllowedHost::Host{Kind::kSubdomains, "." + std::string(domain)};
  }
  if (host.find('*') != host.npos) return std::string("wildcards are allowed only as subdomains");
  auto parsed = parse_host(host);
  if (!parsed) return url_error_text(parsed.error());
  if (parsed->kind == Host::Kind::kDomain) return AllowedHost::Host{Kind::kName, parsed->domain};
  return AllowedHost::Host{Kind::kAddress, parsed->serialize(), parsed->ip.v6, parsed->ip.bytes};
}

// Spin's AllowedHostConfig::parse: the port is what follows the last ':', and is parsed
// first, then the scheme, then the host, each failure naming the part.
Result<AllowedHost, std::string> parse_entry(std::string_view original) {
  std::string_view url = rust_trim(original);
  size_t separator = url.find("://");
  if (separator == url.npos) {
    if (url == "*" || url == ":" || url.empty() || url == "?") {
      return debug_quote(url) +
             " is not an allowed outbound host format.\nHosts must be in the form "
             "<scheme>://<host>[:<port>], with '*' wildcards allowed for each.\nIf you intended to "
             "allow all outbound networking, you can use '*://*:*' - this will obviate all network "
             "sandboxing.\n" +
             std::string(kLearnMore);
    }
    return debug_quote(url) + " does not contain a scheme (e.g., 'http://' or '*://')\n" +
           std::string(kLearnMore);
  }
  std::string_view scheme = url.substr(0, separator), rest = url.substr(separator + 3);
  size_t colon = rest.rfind(':');
  std::string_view host = rest.substr(0, colon);
  std::string_view port = colon == rest.npos ? std::string_view() : rest.substr(colon + 1);
  if (size_t slash = port.find('/'); slash != port.npos) {
    if (slash + 1 < port.size()) return debug_quote(url) + " has a path but is not allowed to";
    port = port.substr(0, slash);
  }
  AllowedHost entry;
  entry.original = std::string(original);
  auto port_pattern = parse_port_pattern(port, scheme);
  if (!port_pattern)
    return "Invalid allowed host port " + debug_quote(port) + ": " + port_pattern.error();
  entry.port = *port_pattern;
  auto scheme_pattern = parse_scheme_pattern(scheme);
  if (!scheme_pattern) {
    return "Invalid allowed host scheme " + debug_quote(scheme) + ": " + scheme_pattern.error();
  }
  entry.scheme = *scheme_pattern;
  auto host_pattern = parse_host_pattern(host);
  if (!host_pattern)
    return "Invalid allowed host " + debug_quote(host) + ": " + host_pattern.error();
  entry.host = std::move(*host_pattern);
  return entry;
}

bool is_for_service_chaining(const AllowedHost& entry) {
  using Kind = AllowedHost::Host::Kind;
  const std::string suffix = "." + std::string(kServiceChainingDomain);
  return (entry.host.kind == Kind::kName && entry.host.text.ends_with(suffix)) ||
         (entry.host.kind == Kind::kSubdomains && entry.host.text == suffix);
}

bool host_allows(const AllowedHost::Host& pattern, std::string_view url_host) {
  using Kind = AllowedHost::Host::Kind;
  auto host = parse_host(url_host);
  if (!host) return false;
  bool is_ip = host->kind != Host::Kind::kDomain;
  auto same_family = [&] { return is_ip && pattern.ipv6 == host->ip.v6; };
  switch (pattern.kind) {
    case Kind::kAny:
      return true;
    case Kind::kSubdomains:
      return !is_ip && host->domain.ends_with(pattern.text);
    case Kind::kSelf:
      return false;  // relative requests only, see allows_self
    case Kind::kName:
      return !is_ip && host->domain == pattern.text;
    case Kind::kAddress:
      return same_family() && host->ip.bytes == pattern.address;
    case Kind::kNetwork:
      if (!same_family()) return false;
      for (size_t bit = 0; bit < pattern.prefix_length; ++bit) {
        uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
        if ((host->ip.bytes[bit / 8] & mask) != (pattern.address[bit / 8] & mask)) return false;
      }
      return true;
  }
  return false;
}

bool entry_allows(const AllowedHost& entry, const OutboundUrl& url) {
  if (entry.scheme && *entry.scheme != url.scheme) return false;
  if (!host_allows(entry.host, url.host)) return false;
  if (entry.port.any) return true;
  std::optional<uint16_t> port = url.port ? url.port : well_known_port(url.scheme);
  return port && *port >= entry.port.first && *port < entry.port.end;
}

// A template as Spin prints it: "https://{{ host }}".
std::string display_template(const Template& parts) {
  std::string out;
  for (const TemplatePart& part : parts)
    out += part.kind == TemplatePart::Kind::kLiteral ? part.text : "{{ " + part.text + " }}";
  return out;
}

bool is_literal(const Template& parts) {
  return std::all_of(parts.begin(), parts.end(),
                     [](const TemplatePart& p) { return p.kind == TemplatePart::Kind::kLiteral; });
}

// The template's value when every variable it names has a value in `lookup`.
template <class Lookup>
std::optional<std::string> resolve(const Template& parts, Lookup lookup, std::string* missing) {
  std::string out;
  for (const TemplatePart& part : parts) {
    if (part.kind == TemplatePart::Kind::kLiteral) {
      out += part.text;
    } else if (std::optional<std::string> value = lookup(part.text)) {
      out += *value;
    } else {
      if (missing) *missing = part.text;
      return std::nullopt;
    }
  }
  return out;
}

// What Spin checks when it loads the app: template syntax, literal entries, and templates
// whose variables all have defaults, with those defaults. Returns the parsed templates.
Result<std::vector<Template>, OutboundHostsError> check_at_load(
    const std::vector<std::string>& hosts, const OrderedMap<Variable>& variables) {
  const std::string malformed = "`allowed_outbound_hosts` is malformed";
  if (hosts.size() == 1 && hosts[0] == "insecure:allow-all") {
    return OutboundHostsError{malformed, "",
                              "'insecure:allow-all' is not allowed - use '*://*:*' instead if you "
                              "really want to allow all outbound traffic'"};
  }
  std::vector<Template> templates;
  for (const std::string& host : hosts) {
    auto parts = parse_template(host);
    if (!parts) {
      return OutboundHostsError{malformed, host,
                                "invalid variable template: " + parts.error().message};
    }
    if (is_literal(*parts)) {
      if (auto entry = parse_entry(host); !entry)
        return OutboundHostsError{malformed, host, entry.error()};
    }
    templates.push_back(std::move(*parts));
  }
  auto default_of = [&](const std::string& name) -> std::optional<std::string> {
    const Variable* variable = variables.find(name);
    return variable ? variable->default_value : std::nullopt;
  };
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (is_literal(templates[i])) continue;
    auto value = resolve(templates[i], default_of, nullptr);
    if (!value) continue;
    if (auto entry = parse_entry(*value); !entry) {
      return OutboundHostsError{malformed, hosts[i],
                                "using default variable value(s) with template " +
                                    debug_quote(display_template(templates[i])) +
                                    " results in invalid config " + debug_quote(*value) + ": " +
                                    entry.error()};
    }
  }
  return templates;
}

// What Spin does when the component first makes a request: expand the templates with the
// variables' final values, parse, and expand `*.spin.internal` into one entry per component.
Result<std::vector<AllowedHost>, OutboundHostsError> resolve_entries(
    const std::vector<std::string>& hosts, const std::vector<Template>& templates,
    const OrderedMap<std::string>& app_variables, const std::vector<std::string>& component_ids) {
  auto value_of = [&](const std::string& name) -> std::optional<std::string> {
    const std::string* value = app_variables.find(name);
    return value ? std::optional(*value) : std::nullopt;
  };
  const std::string at_run_time = "Error parsing allowed outbound hosts";
  const std::string chaining_suffix = "." + std::string(kServiceChainingDomain);
  std::vector<AllowedHost> entries;
  for (size_t i = 0; i < hosts.size(); ++i) {
    std::string missing;
    auto value = resolve(templates[i], value_of, &missing);
    if (!value)
      return OutboundHostsError{at_run_time, hosts[i], "invalid variable name: " + missing, false};
    auto entry = parse_entry(*value);
    if (!entry) return OutboundHostsError{at_run_time, hosts[i], entry.error(), false};
    if (entry->host.kind != AllowedHost::Host::Kind::kSubdomains ||
        entry->host.text != chaining_suffix) {
      entries.push_back(std::move(*entry));
      continue;
    }
    for (const std::string& id : component_ids) {
      AllowedHost expanded = *entry;
      expanded.host = {AllowedHost::Host::Kind::kName, id + chaining_suffix};
      entries.push_back(std::move(expanded));
    }
  }
  return entries;
}

// One allowed_http_hosts entry as a host and optional port.
Result<std::pair<std::string, std::optional<uint16_t>>, std::string> parse_http_host(
    const std::string& text) {
  // A string without "//" is a host[:port]: parsed as the authority of an http URL.
  bool schemed = text.find("//") != text.npos;
  auto url = parse_url(schemed ? text : "http://" + text);
  if (!url && schemed) return text + " isn't a valid HTTP host URL: " + url_error_text(url.error());
  if (!url || (url->scheme != "http" && url->scheme != "https"))
    return text + " isn't a valid host or host:port string";
  if (!url->host) return text + " doesn't contain a host name";
  if (!url->path_is_root) return text + " contains a path, should be host and optional port only";
  return std::pair{url->host->serialize(), url->port};
}

}  // namespace

std::string OutboundUrl::authority() const {
  return port ? host + ":" + std::to_string(*port) : host;
}

Result<OutboundUrl, std::string> parse_outbound_url(std::string_view url_text,
                                                    std::string_view default_scheme) {
  std::string url(url_text);
  // As Spin does, percent-encode the user info, which may hold a password with '#' or '/'.
  // (Spin panics on an '@' before "://"; such a URL is left as it is.)
  size_t at = url.find('@');
  size_t scheme_end = url.find("://");
  scheme_end = scheme_end == url.npos ? 0 : scheme_end + 3;
  if (at != url.npos && at >= scheme_end && at < url.find('/', scheme_end)) {
    url = url.substr(0, scheme_end) + url_encode(url.substr(scheme_end, at - scheme_end)) +
          url.substr(at);
  }
  auto parsed = parse_url(url);
  if (!parsed || !parsed->host) {
    auto second = parse_url(std::string(default_scheme) + "://" + url);
    if (!parsed) {
      if (!second) return url_error_text(parsed.error());
    } else if (!second) {
      return "could not convert into a url: " + url_error_text(second.error());
    }
    parsed = std::move(second);
  }
  if (!parsed->host) return debug_quote(url) + " does not have a host component";
  return OutboundUrl{parsed->scheme, parsed->host->serialize(), parsed->port};
}

std::string OutboundHostsError::describe() const {
  std::string out = context;
  auto add = [&](const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += ": ";
    out += part;
  };
  if (!entry.empty() && message.find(debug_quote(entry)) == std::string::npos)
    add("entry " + debug_quote(entry));
  add(message);
  return out;
}

Result<AllowedHosts, OutboundHostsError> AllowedHosts::parse(
    const Manifest& manifest, std::string_view component_id,
    const OrderedMap<std::string>& app_variables) {
  const Component* component = manifest.components.find(component_id);
  if (!component) return OutboundHostsError{"", "", "no component " + debug_quote(component_id)};

  AllowedHosts result;
  std::vector<std::string> hosts = component->allowed_outbound_hosts;
  auto converted = convert_allowed_http_hosts(component->allowed_http_hosts);
  if (!converted)
    return OutboundHostsError{"`allowed_http_hosts` is malformed", "", converted.error()};
  if (!converted->empty()) {
    result.deprecation_warning_ =
        "Use of the deprecated field `allowed_http_hosts` - to fix, replace `allowed_http_hosts` "
        "with `allowed_outbound_hosts = " +
        debug_list(*converted) + "`";
  }
  hosts.insert(hosts.end(), converted->begin(), converted->end());
  for (const std::string& host : hosts) {
    auto entry = parse_entry(host);
    result.requires_service_chaining_ |= entry.ok() && is_for_service_chaining(*entry);
  }

  auto templates = check_at_load(hosts, manifest.variables);
  if (!templates) return std::move(templates).error();
  std::vector<std::string> component_ids;
  for (const auto& entry : manifest.components)
    component_ids.push_back(entry.first);
  auto entries = resolve_entries(hosts, *templates, app_variables, component_ids);
  if (!entries) return std::move(entries).error();
  result.entries_ = std::move(entries).value();
  return result;
}

bool AllowedHosts::allows(const OutboundUrl& url) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const AllowedHost& entry) { return entry_allows(entry, url); });
}

bool AllowedHosts::allows_self() const {
  using Kind = AllowedHost::Host::Kind;
  return std::any_of(entries_.begin(), entries_.end(), [](const AllowedHost& entry) {
    bool scheme = !entry.scheme || *entry.scheme == "http" || *entry.scheme == "https";
    return scheme && (entry.host.kind == Kind::kAny || entry.host.kind == Kind::kSelf);
  });
}

bool AllowedHosts::allows_service_chaining(std::string_view component_id) const {
  return allows(OutboundUrl{
      "http", std::string(component_id) + "." + std::string(kServiceChainingDomain), std::nullopt});
}

std::optional<std::string> service_chaining_target(std::string_view host) {
  host = host.substr(0, host.rfind(':'));
  size_t dot = host.find('.');
  if (dot == host.npos || host.substr(dot + 1) != kServiceChainingDomain) return std::nullopt;
  return std::string(host.substr(0, dot));
}

std::string denied_message(std::string_view scheme, std::string_view authority) {
  std::string pattern = std::string(scheme) + "://" + std::string(authority);
  std::string first =
      scheme.starts_with("http") && authority == "self"
          ? "A component tried to make an HTTP request to its own app but it does not have "
            "permission."
          : "A component tried to make an outbound network connection to disallowed destination '" +
                pattern + "'.";
  return "Warning: " + first + "\nTo allow this request, add 'allowed_outbound_hosts = [\"" +
         pattern + "\"]' to the manifest component section.\n";
}

std::string denied_message(const OutboundUrl& url) {
  return denied_message(url.scheme, url.authority());
}

std::string denied_self_message() {
  return denied_message("http", "self");
}

Result<std::vector<std::string>, std::string> convert_allowed_http_hosts(
    const std::vector<std::string>& hosts) {
  if (std::find(hosts.begin(), hosts.end(), "insecure:allow-all") != hosts.end())
    return std::vector<std::string>{"http://*:*", "https://*:*", "http://self"};
  std::vector<std::string> out, errors;
  for (const std::string& text : hosts) {
    auto host = parse_http_host(text);
    if (!host) {
      errors.push_back(host.error());
    } else if (host->first == "self") {
      out.push_back("http://self");
    } else {
      std::string port = host->second ? ":" + std::to_string(*host->second) : "";
      out.push_back("http://" + host->first + port);
      out.push_back("https://" + host->first + port);
    }
  }
  if (errors.empty()) return out;
  std::string message = "One or more allowed_http_hosts entries was invalid:";
  for (const std::string& error : errors)
    message += "\n" + error;
  return message;
}

}  // namespace gyre::app
