// Rust's string functions (app/rust_strings.hpp).
#include "app/rust_strings.hpp"

#include <utility>

#include "app/identifiers.hpp"

namespace gyre::app::rust_strings {
namespace {

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

// Unicode's White_Space, which Rust's str::trim removes.
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

}  // namespace

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
char32_t ascii_lower(char32_t c) {
  return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

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

std::string debug_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i)
    out += (i ? ", " : "") + debug_quote(items[i]);
  return out + "]";
}

}  // namespace gyre::app::rust_strings
