// Rust's string functions, for the parsers whose results must match Spin's (a Rust
// program) character for character: UTF-8 decoding, `str::trim`, `str::parse` of an
// unsigned integer, ASCII classes and case over code points, and the Debug rendering of a
// list of strings. Shared by the URL parser (app/url_parser.hpp) and the allow-list parser
// (app/outbound_hosts.cpp); not for use elsewhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.hpp"
#include "base/result.hpp"

namespace gyre::app::rust_strings {

// The code points of UTF-8 text, or nothing if it is ill-formed.
std::optional<std::u32string> decode_utf8(std::string_view text);

// Rust's str::trim: Unicode white space removed from both ends.
std::string_view rust_trim(std::string_view text);

bool is_ascii_alpha(char32_t c);
bool is_ascii_digit(char32_t c);
// Code points are lower-cased beside gyre::ascii_lower's chars and strings, so callers
// see all three overloads under one name.
using gyre::ascii_lower;
char32_t ascii_lower(char32_t c);

// Rust's `str::parse` of an unsigned integer no greater than `max`, with its error words.
Result<uint32_t, std::string> parse_unsigned(std::string_view text, uint32_t max);

// Rust's Debug rendering of a list of strings: ["a", "b"].
std::string debug_list(const std::vector<std::string>& items);

}  // namespace gyre::app::rust_strings
