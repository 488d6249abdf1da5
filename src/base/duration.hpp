// Durations as people type them on a command line, the way Spin's options take them
// (humantime): `1s`, `500ms`, `2m30s`, `1h`, `250us`, `10ns`. A bare number is read in a
// unit the caller names (Gyre's older `--deadline 500` meant milliseconds).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace gyre {

// Nanoseconds, or nothing when the text is not a duration (empty, an unknown unit, a
// negative or overflowing value).
std::optional<std::chrono::nanoseconds> parse_duration(
    std::string_view text, std::chrono::nanoseconds bare_unit = std::chrono::milliseconds(1));

}  // namespace gyre
