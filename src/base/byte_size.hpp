// Sizes as people type them on a command line: `256MiB`, `1GB`, `64k`, `1048576`. Units
// are bytes (B), decimal (kB/KB, MB, GB) and binary (KiB, MiB, GiB, and the bare k, m, g
// that most tools read as binary); a bare number is bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace gyre {

// Bytes, or nothing when the text is not a size (empty, an unknown unit, an overflow).
std::optional<uint64_t> parse_byte_size(std::string_view text);

}  // namespace gyre
