// libFuzzer target for the recognizers of wit-component's shim and fixup modules: any
// input is recognized or not, without crashing, leaking or reading out of bounds.
#include <cstdint>
#include <span>

#include "component/shim_modules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  gyre::component::recognize_indirect_shim(bytes);
  gyre::component::recognize_table_fixup(bytes);
  gyre::component::may_have_start_function(bytes);
  return 0;
}
