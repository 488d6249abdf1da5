#include "component/core_tables.hpp"

#include <algorithm>

#include "component/core_reader.hpp"
#include "component/decode.hpp"

namespace gyre::component {
namespace {

// The largest initial size among the tables `module` defines (its table section).
std::optional<uint64_t> largest_defined(std::span<const uint8_t> module) {
  if (module.size() < 8) return std::nullopt;
  CoreReader r(module.subspan(8));
  uint64_t largest = 0;
  while (r.ok() && !r.done()) {
    const uint8_t id = r.byte();
    CoreReader s(r.take(r.u32()));
    if (id != 4) continue;
    for (uint32_t n = s.u32(); n > 0 && s.ok(); --n) {
      const uint8_t type = s.byte();
      if (type != 0x70 && type != 0x6f) return std::nullopt;  // funcref, externref only
      const uint8_t limits = s.byte();
      if (limits > 0x05 || limits == 0x02 || limits == 0x03) return std::nullopt;
      const bool wide = (limits & 0x04) != 0;  // 64-bit table limits
      const uint64_t initial = wide ? s.u64() : s.u32();
      if ((limits & 0x01) != 0) {
        if (wide) {
          s.u64();
        } else {
          s.u32();
        }
      }
      largest = std::max(largest, initial);
    }
    if (!s.ok() || !s.done()) return std::nullopt;
  }
  if (!r.ok()) return std::nullopt;
  return largest;
}

}  // namespace

std::optional<uint64_t> largest_table(std::span<const uint8_t> component) {
  auto decoded = decode(component);
  if (!decoded) return std::nullopt;
  uint64_t largest = 0;
  for (const ByteRange& range : core_module_ranges(*decoded)) {
    if (range.offset > component.size() || range.size > component.size() - range.offset)
      return std::nullopt;
    auto found = largest_defined(component.subspan(range.offset, range.size));
    if (!found) return std::nullopt;
    largest = std::max(largest, *found);
  }
  return largest;
}

}  // namespace gyre::component
