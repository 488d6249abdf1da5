// Copies between text (std::string, what HTTP bodies travel in) and byte vectors (what
// list<u8> is on the host side) as memory. A range of char iterators into a vector of
// uint8_t, or the other way, is an element loop: it was the hot spot of a streamed body.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gyre {

inline std::vector<uint8_t> to_byte_vector(std::string_view text) {
  const auto* first = reinterpret_cast<const uint8_t*>(text.data());
  return std::vector<uint8_t>(first, first + text.size());
}

inline std::string to_text(std::span<const uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace gyre
