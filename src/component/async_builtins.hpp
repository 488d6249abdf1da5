// The component model's async built-ins (CanonicalABI.md, the 🔀 sections), for guests
// whose imports the host serves. The host finishes every call before it returns: an
// async-lowered call returns RETURNED at once, so a guest never holds a subtask, and a
// stream or future the host returns holds all its values before the guest sees it, so
// every read completes at once and nothing is ever pending in a waitable set. Async
// lifts (task.return, callbacks), streams and futures a guest makes, error contexts and
// threads need tasks that wait for each other, and are not provided: a component that
// uses them fails to instantiate, saying which built-in it lacks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "component/abi.hpp"
#include "component/model.hpp"
#include "component/types.hpp"
#include "wasm/value.hpp"

namespace gyre::component {

// What the built-ins keep per task. A call into a guest is one task (the host's calls
// never interleave with it), so the instance keeps one and clears it per call.
struct TaskState {
  uint32_t context[2] = {};  // context.get / context.set
  uint32_t backpressure = 0;
};

// Built-in `opcode`'s name in the text format ("stream.read"), for messages.
std::string async_builtin_name(uint8_t opcode);

// The core memory built-in `b` reads and writes, if any: its `memory` option, or for
// waitable-set.wait and poll the memory index they name.
std::optional<uint32_t> async_builtin_memory(const CanonBuiltin& b);

// The core signature of built-in `b`, or nullopt when Gyre does not provide it.
std::optional<wasm::FuncType> async_builtin_signature(const CanonBuiltin& b);

// Runs built-in `b` (one Gyre provides) in the frame whose options and handle table `cx`
// holds; `channel` is its stream or future type, if it has one. Arguments arrive in
// `slots` and results leave there. A misuse is an AbiTrap, as the canonical ABI's
// trap_if.
void run_async_builtin(const CanonBuiltin& b, const ValueType* channel, const CanonContext& cx,
                       TaskState& task, std::span<wasm::RawValue> slots);

}  // namespace gyre::component
