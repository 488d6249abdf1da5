// UTF-8 and UTF-16 checks and conversions, for names in binaries and strings crossing
// the canonical ABI. Invalid input is reported, never repaired.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gyre {

// Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view text);

void append_utf8(std::string& out, char32_t code_point);

// Code points of valid UTF-8 (check with valid_utf8 first).
std::vector<char32_t> decode_utf8(std::string_view text);

// UTF-16LE code units to UTF-8; nullopt on an unpaired surrogate.
std::optional<std::string> utf16_to_utf8(std::span<const uint8_t> little_endian_bytes);

}  // namespace gyre
