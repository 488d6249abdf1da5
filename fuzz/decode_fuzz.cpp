// libFuzzer target for the component decoder: any input must decode or fail with an
// offset inside the input, without crashing, leaking or reading out of bounds.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "component/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto result = gyre::component::decode(std::span<const uint8_t>(data, size));
  if (!result.ok() && result.error().offset > size) std::abort();
  return 0;
}
