// The canonical ABI's lifting and lowering of values between guest memory (and core
// values) and host Vals (CanonicalABI.md; canonical-abi/definitions.py is the reference).
// Every pointer and length from the guest is checked; every violation is an AbiTrap
// with a message, which the caller turns into a trap of the guest's call.
#pragma once

#include <cstdint>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "component/handles.hpp"
#include "component/layout.hpp"
#include "component/model.hpp"
#include "component/value.hpp"
#include "wasm/func.hpp"
#include "wasm/memory.hpp"

namespace gyre::component {

class Concurrency;

// Thrown by the functions below and caught where a call crosses into or out of the
// guest; never escapes into Wasmtime's frames.
struct AbiTrap {
  std::string message;
};

// What lifting and lowering need from one side of a call: the options of its canon
// lift or lower, and the instance's handle table.
struct CanonContext {
  wasmtime_context* store = nullptr;
  StringEncoding encoding = StringEncoding::kUtf8;
  std::optional<wasm::Memory> memory;
  std::optional<wasm::Func> realloc;
  HandleTable* handles = nullptr;
  // The component these options belong to (for borrows of its own resources).
  const Component* component = nullptr;
  // The instance's async state, for streams and futures passed across.
  Concurrency* concurrency = nullptr;

  // The memory's bytes, fetched from the engine once rather than on every access. Valid
  // until the guest runs (it may grow the memory): realloc forgets it, and whoever calls
  // into a guest between two uses of one context must call forget_memory().
  std::span<uint8_t> memory_view() const {
    if (!viewed_) {
      view_ = memory->data(store);
      viewed_ = true;
    }
    return view_;
  }
  void forget_memory() const { viewed_ = false; }
  mutable std::span<uint8_t> view_;
  mutable bool viewed_ = false;
};

// Core values of one call, read in order, with the variant coercions of lift_flat.
class FlatReader {
 public:
  FlatReader(std::span<const wasm::RawValue> values, std::span<const CoreKind> types)
      : values_(values), types_(types) {}
  // The next value, as `want` (the type the flattened case expects).
  wasm::RawValue next(CoreKind want);
  void skip(size_t n) { index_ += n; }
  size_t position() const { return index_; }

 private:
  std::span<const wasm::RawValue> values_;
  std::span<const CoreKind> types_;
  size_t index_ = 0;
};

Val load(const CanonContext& cx, uint32_t ptr, const ValueType& type);
void store(const CanonContext& cx, const Val& value, const ValueType& type, uint32_t ptr);
Val lift_flat(const CanonContext& cx, FlatReader& reader, const ValueType& type);
// Appends the flattening of `value` (as flatten(type) describes) to `out`.
void lower_flat(const CanonContext& cx, const Val& value, const ValueType& type,
                std::vector<wasm::RawValue>& out);

// Checks that `count` values of `element` at `ptr` are aligned and lie inside the memory;
// `what` names them in the trap.
void check_elements(const CanonContext& cx, uint32_t ptr, uint64_t count, const ValueType& element,
                    const char* what);

// Calls realloc(0, 0, alignment, size) and checks the result fits in memory.
uint32_t allocate(const CanonContext& cx, uint32_t alignment, uint32_t size);

// Whole parameter and result lists, with the spilling to memory of flatten_function.
// lift_params fills `out` (cleared first), so a caller can keep one vector's capacity.
void lift_params(const CanonContext& cx, std::span<const wasm::RawValue> flat,
                 const FunctionType& type, const FlatSignature& sig, std::pmr::vector<Val>& out);
void lower_params(const CanonContext& cx, std::span<const Val> args, const FunctionType& type,
                  const FlatSignature& sig, std::vector<wasm::RawValue>& out);
std::optional<Val> lift_result(const CanonContext& cx, std::span<const wasm::RawValue> flat,
                               const FunctionType& type, const FlatSignature& sig);
// Lowers a host function's result for a guest caller: into `slots[0]`, or through the
// out-pointer the caller passed as its last flat parameter.
void lower_result(const CanonContext& cx, const std::optional<Val>& result,
                  const FunctionType& type, const FlatSignature& sig,
                  std::span<wasm::RawValue> slots);

}  // namespace gyre::component
