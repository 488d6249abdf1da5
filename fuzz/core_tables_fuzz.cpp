// libFuzzer target for the table-size reader (component/core_tables): any input gives a
// size or "not known", without crashing, leaking or reading out of bounds.
#include <cstdint>
#include <span>

#include "component/core_tables.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gyre::component::largest_table(std::span<const uint8_t>(data, size));
  return 0;
}
