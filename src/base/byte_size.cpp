#include "base/byte_size.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <utility>

#include "base/ascii.hpp"

namespace gyre {
namespace {

constexpr uint64_t kKi = 1024;
constexpr std::array<std::pair<std::string_view, uint64_t>, 13> kUnits{{
    {"", 1},
    {"b", 1},
    {"kb", 1000},
    {"mb", 1000 * 1000},
    {"gb", 1000 * 1000 * 1000},
    {"kib", kKi},
    {"mib", kKi* kKi},
    {"gib", kKi* kKi* kKi},
    {"k", kKi},
    {"m", kKi* kKi},
    {"g", kKi* kKi* kKi},
    {"ki", kKi},
    {"mi", kKi* kKi},
}};

}  // namespace

std::optional<uint64_t> parse_byte_size(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  uint64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view unit = text.substr(static_cast<size_t>(end - text.data()));
  while (!unit.empty() && unit.front() == ' ')
    unit.remove_prefix(1);
  for (const auto& [name, scale] : kUnits) {
    if (!iequals(unit, name)) continue;
    if (count > std::numeric_limits<uint64_t>::max() / scale) return std::nullopt;
    return count * scale;
  }
  return std::nullopt;
}

}  // namespace gyre
