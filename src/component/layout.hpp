// The canonical ABI's shapes of a value type: alignment and size in linear memory, and
// the core values it flattens to (CanonicalABI.md, "Alignment", "Element Size",
// "Flattening"). 32-bit memories only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "component/types.hpp"
#include "wasm/value.hpp"

namespace gyre::component {

using CoreKind = wasm::ValType;

constexpr size_t kMaxFlatParams = 16;
constexpr size_t kMaxFlatResults = 1;

uint32_t alignment(const ValueType& type);
uint32_t size(const ValueType& type);
inline uint32_t align_to(uint32_t offset, uint32_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;
}

// Bytes of a variant's (enum's, option's, result's) discriminant: 1, 2 or 4.
uint32_t discriminant_size(size_t cases);
// The cases of a variant-like type: how many, and case `index`'s payload (null when it
// has none); for enum, option and result too, as the canonical ABI despecialises them.
size_t case_count(const ValueType& type);
const ValueType* case_payload(const ValueType& type, size_t index);
// Offset of the payload from the start of a variant-like value.
uint32_t payload_offset(const ValueType& type);

void flatten(const ValueType& type, std::vector<CoreKind>& out);
// The flattening of one type, worked out on first use and kept with the type.
std::span<const CoreKind> flat_types(const ValueType& type);
std::vector<CoreKind> flatten(const std::vector<ValueTypePtr>& types);

// The core signature of a function lifted from, or lowered into, core wasm.
// kAsyncLower: `canon lower async`, where at most 4 flat params are passed as such, a
// result always goes through an out-pointer, and the call returns its subtask's status.
// kAsyncLift: `canon lift async`, whose result goes by task.return (a callback lift
// returns its callback code instead).
enum class AbiContext { kLift, kLower, kAsyncLower, kAsyncLift };
constexpr size_t kMaxFlatAsyncParams = 4;
struct FlatSignature {
  std::vector<CoreKind> params;
  std::vector<CoreKind> results;
  bool params_in_memory = false;   // one pointer instead of the flat params
  bool results_in_memory = false;  // lift: results returned by pointer; lower: out-pointer param
};
FlatSignature flatten_function(const FunctionType& type, AbiContext context);

}  // namespace gyre::component
