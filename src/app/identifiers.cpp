#include "app/identifiers.hpp"

#include <cstdint>

namespace gyre::app {
namespace {

bool is_ascii_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ascii_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_ascii_lower(char c) {
  return c >= 'a' && c <= 'z';
}

// The bytes of the character starting at text[i]: Spin's messages quote whole characters,
// so a non-ASCII one must not be cut in half. Invalid UTF-8 counts one byte per character.
std::string_view char_at(std::string_view text, size_t i) {
  auto lead = static_cast<uint8_t>(text[i]);
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xE  ? 3
                  : (lead >> 3) == 0x1E ? 4
                                        : 1;
  if (i + length > text.size()) length = 1;
  return text.substr(i, length);
}

void append_escaped(std::string& out, std::string_view text, char quote) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    auto byte = static_cast<uint8_t>(c);
    if (c == '\\' || c == quote) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\0') {
      out += "\\0";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\u{";
      if (byte >= 0x10) out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
      out += '}';
    } else {
      out += c;
    }
  }
}

std::string debug_char(std::string_view ch) {
  std::string out = "'";
  append_escaped(out, ch, '\'');
  out += '\'';
  return out;
}

std::optional<std::string> id_error(std::string_view id, char delim, bool lower) {
  if (id.empty()) return "empty";
  const char wrong = delim == '_' ? '-' : '_';
  std::string delim_debug = debug_char(std::string_view(&delim, 1));
  if (id.find(wrong) != std::string_view::npos) {
    return "words must be separated with " + delim_debug + ", not " +
           debug_char(std::string_view(&wrong, 1));
  }
  size_t start = 0;
  while (true) {
    size_t end = id.find(delim, start);
    std::string_view word = id.substr(start, end == std::string_view::npos ? id.npos : end - start);
    if (word.empty()) return delim_debug + "-separated words must not be empty";
    if (!is_ascii_alpha(word[0])) {
      return delim_debug + "-separated words must start with an ASCII letter; got " +
             debug_char(char_at(word, 0));
    }
    const bool word_is_upper = is_ascii_upper(word[0]);
    for (size_t i = 1; i < word.size(); i += char_at(word, i).size()) {
      char c = word[i];
      if (is_ascii_digit(c)) continue;
      if (!is_ascii_alpha(c)) {
        return delim_debug + "-separated words may only contain alphanumeric ASCII; got " +
               debug_char(char_at(word, i));
      }
      if (is_ascii_upper(c) != word_is_upper) {
        return delim_debug + "-separated words must be all lowercase or all UPPERCASE; got " +
               debug_quote(word);
      }
    }
    if (lower && word_is_upper) {
      return "Lower-case identifiers must be all lowercase; got " + debug_quote(id);
    }
    if (end == std::string_view::npos) return std::nullopt;
    start = end + 1;
  }
}

// A Component Model package label as wasm-pkg reads it: lower-case kebab words.
std::optional<std::string> label_error(std::string_view label) {
  if (label.empty()) return "empty";
  size_t start = 0;
  while (true) {
    size_t end = label.find('-', start);
    std::string_view word =
        label.substr(start, end == std::string_view::npos ? label.npos : end - start);
    if (word.empty()) return "'-'-separated words must not be empty";
    if (!is_ascii_lower(word[0])) return "words must start with a lower-case ASCII letter";
    for (char c : word.substr(1)) {
      if (!is_ascii_lower(c) && !is_ascii_digit(c)) {
        return "words may only contain lower-case ASCII letters and digits";
      }
    }
    if (end == std::string_view::npos) return std::nullopt;
    start = end + 1;
  }
}

bool is_numeric_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_ascii_digit(c)) return false;
  return s.size() == 1 || s[0] != '0';
}

bool is_dot_separated(std::string_view s, bool numeric_no_leading_zero) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t end = s.find('.', start);
    std::string_view part = s.substr(start, end == std::string_view::npos ? s.npos : end - start);
    if (part.empty()) return false;
    bool all_digits = true;
    for (char c : part) {
      if (!is_ascii_alpha(c) && !is_ascii_digit(c) && c != '-') return false;
      if (!is_ascii_digit(c)) all_digits = false;
    }
    if (numeric_no_leading_zero && all_digits && !is_numeric_identifier(part)) return false;
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

}  // namespace

std::optional<std::string> kebab_id_error(std::string_view id) {
  return id_error(id, '-', false);
}

std::optional<std::string> snake_id_error(std::string_view id) {
  return id_error(id, '_', false);
}

std::optional<std::string> lower_snake_id_error(std::string_view id) {
  return id_error(id, '_', true);
}

bool is_kebab_or_snake_id(std::string_view id) {
  return !kebab_id_error(id) || !snake_id_error(id);
}

bool is_semver(std::string_view text) {
  size_t plus = text.find('+');
  std::string_view build = plus == text.npos ? std::string_view() : text.substr(plus + 1);
  std::string_view rest = text.substr(0, plus);
  if (plus != text.npos && !is_dot_separated(build, false)) return false;
  size_t dash = rest.find('-');
  std::string_view pre = dash == rest.npos ? std::string_view() : rest.substr(dash + 1);
  std::string_view core = rest.substr(0, dash);
  if (dash != rest.npos && !is_dot_separated(pre, true)) return false;
  size_t first = core.find('.');
  if (first == core.npos) return false;
  size_t second = core.find('.', first + 1);
  if (second == core.npos) return false;
  return is_numeric_identifier(core.substr(0, first)) &&
         is_numeric_identifier(core.substr(first + 1, second - first - 1)) &&
         is_numeric_identifier(core.substr(second + 1));
}

std::optional<std::string> parse_dependency_package_name(std::string_view name,
                                                         DependencyPackageName& out) {
  out = {};
  std::string_view rest = name;
  if (size_t at = rest.find('@'); at != rest.npos) {
    std::string_view version = rest.substr(at + 1);
    if (!is_semver(version)) return "invalid version " + debug_quote(version);
    out.version = version;
    rest = rest.substr(0, at);
  }
  if (size_t slash = rest.find('/'); slash != rest.npos) {
    std::string_view interface = rest.substr(slash + 1);
    if (auto why = kebab_id_error(interface)) {
      return "invalid interface name " + debug_quote(interface) + ": " + *why;
    }
    out.interface = interface;
    rest = rest.substr(0, slash);
  }
  size_t colon = rest.find(':');
  if (colon == rest.npos) return "invalid package name " + debug_quote(rest) + ": missing ':'";
  std::string_view ns = rest.substr(0, colon);
  std::string_view package = rest.substr(colon + 1);
  if (auto why = label_error(ns)) {
    return "invalid package namespace " + debug_quote(ns) + ": " + *why;
  }
  if (auto why = label_error(package)) {
    return "invalid package name " + debug_quote(package) + ": " + *why;
  }
  out.package = rest;
  return std::nullopt;
}

std::string debug_quote(std::string_view text) {
  std::string out = "\"";
  append_escaped(out, text, '"');
  out += '"';
  return out;
}

}  // namespace gyre::app
