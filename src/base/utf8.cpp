#include "base/utf8.hpp"

namespace gyre {
namespace {

// Length and initial bits of the sequence a lead byte starts; 0 when it starts none.
size_t sequence_length(uint8_t lead, char32_t& bits) {
  if (lead < 0x80) return bits = lead, 1;
  if ((lead & 0xe0) == 0xc0) return bits = lead & 0x1f, 2;
  if ((lead & 0xf0) == 0xe0) return bits = lead & 0x0f, 3;
  if ((lead & 0xf8) == 0xf0) return bits = lead & 0x07, 4;
  return 0;
}

}  // namespace

bool valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp;
    const size_t n = sequence_length(static_cast<uint8_t>(text[i]), cp);
    if (n == 0 || i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<uint8_t>(text[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    static constexpr char32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += n;
  }
  return true;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

std::vector<char32_t> decode_utf8(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp;
    const size_t n = sequence_length(static_cast<uint8_t>(text[i]), cp);
    for (size_t k = 1; k < n; ++k)
      cp = (cp << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3f);
    out.push_back(cp);
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::optional<std::string> utf16_to_utf8(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size());
  const size_t units = bytes.size() / 2;
  auto unit = [&](size_t i) -> char32_t { return bytes[2 * i] | (bytes[2 * i + 1] << 8); };
  for (size_t i = 0; i < units; ++i) {
    char32_t u = unit(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      if (i + 1 >= units) return std::nullopt;
      const char32_t low = unit(i + 1);
      if (low < 0xdc00 || low > 0xdfff) return std::nullopt;
      u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
      ++i;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      return std::nullopt;
    }
    append_utf8(out, u);
  }
  return out;
}

}  // namespace gyre
