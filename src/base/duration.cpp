#include "base/duration.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>

namespace gyre {
namespace {

using std::chrono::nanoseconds;

// Longest names first, so `ms` is not read as `m` followed by garbage.
constexpr std::array<std::pair<std::string_view, int64_t>, 16> kUnits{{
    {"nsec", 1},
    {"usec", 1'000},
    {"msec", 1'000'000},
    {"secs", 1'000'000'000},
    {"sec", 1'000'000'000},
    {"min", 60'000'000'000},
    {"hours", 3'600'000'000'000},
    {"hour", 3'600'000'000'000},
    {"ns", 1},
    {"us", 1'000},
    {"ms", 1'000'000},
    {"hr", 3'600'000'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
    {"d", 86'400'000'000'000},
}};

bool add_scaled(int64_t& total, uint64_t count, int64_t unit) {
  constexpr auto kMax = std::numeric_limits<int64_t>::max();
  if (count > static_cast<uint64_t>(kMax / unit)) return false;
  const auto scaled = static_cast<int64_t>(count) * unit;
  if (total > kMax - scaled) return false;
  total += scaled;
  return true;
}

}  // namespace

std::optional<nanoseconds> parse_duration(std::string_view text, nanoseconds bare_unit) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  while (!text.empty()) {
    uint64_t count = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    if (text.empty() && total == 0) {
      // A bare number: the caller's unit.
      if (!add_scaled(total, count, bare_unit.count())) return std::nullopt;
      return nanoseconds(total);
    }
    bool matched = false;
    for (const auto& [name, unit] : kUnits) {
      if (!text.starts_with(name)) continue;
      text.remove_prefix(name.size());
      if (!add_scaled(total, count, unit)) return std::nullopt;
      matched = true;
      break;
    }
    if (!matched) return std::nullopt;
    while (!text.empty() && text.front() == ' ')
      text.remove_prefix(1);
  }
  return nanoseconds(total);
}

}  // namespace gyre
