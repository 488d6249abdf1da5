// How large the tables of a component's core modules start. The engine keeps a table's
// pages when an instance ends and zeroes them; a table of one page is zeroed without asking
// the kernel which pages were written, so an app whose tables all fit one page can keep
// just that page (wasm/engine.hpp, pool_table_keep_resident_bytes).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace gyre::component {

// The largest initial element count of any table a core module of `component` defines
// (0 without tables); nullopt if the component or a table type does not parse.
std::optional<uint64_t> largest_table(std::span<const uint8_t> component);

}  // namespace gyre::component
