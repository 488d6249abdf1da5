// Decoding a component binary into the model of model.hpp.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "component/model.hpp"

namespace gyre::component {

// Where and why decoding stopped. The offset is absolute in the decoded buffer.
struct DecodeError {
  uint64_t offset = 0;
  std::string message;

  // "at byte offset 0x1f (31): <message>"
  std::string describe() const;
};

enum class BinaryKind { kCoreModule, kComponent, kNotWasm };

// Tells a core module from a component by the preamble's layer field.
BinaryKind sniff(std::span<const uint8_t> bytes);

// Decodes a whole component. Never crashes and never allocates more than a small
// multiple of the input size, whatever the input.
Result<Component, DecodeError> decode(std::span<const uint8_t> bytes);

// Where every core module of `component` and of the components nested in it lies in the
// bytes it was decoded from, in definition order.
std::vector<ByteRange> core_module_ranges(const Component& component);

}  // namespace gyre::component
