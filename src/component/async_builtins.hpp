// The component model's async built-ins (CanonicalABI.md, the 🔀 and 📝 sections), as a
// guest calls them: tasks (task.return, context, backpressure, thread.yield), subtasks,
// waitable sets, streams and futures, error contexts. The objects they work on are in
// component/concurrency/ (read concurrency.hpp first). The 🧵 thread built-ins are not
// provided: a component using one fails to instantiate, saying which.
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

class Concurrency;

// Built-in `opcode`'s name in the text format ("stream.read"), for messages.
std::string async_builtin_name(uint8_t opcode);

// The core memory built-in `b` reads and writes, if any: its `memory` option, or for
// waitable-set.wait and poll the memory index they name.
std::optional<uint32_t> async_builtin_memory(const CanonBuiltin& b);

// The core signature of built-in `b`, or nullopt when Gyre does not provide it. `type`
// is the type the built-in names: a stream or future type, or task.return's result.
std::optional<wasm::FuncType> async_builtin_signature(const CanonBuiltin& b, const ValueType* type);

// Runs built-in `b` (one Gyre provides) in the frame whose options and handle table `cx`
// holds. Arguments arrive in `slots` and results leave there. A misuse is an AbiTrap,
// as the canonical ABI's trap_if.
void run_async_builtin(const CanonBuiltin& b, const ValueType* type, const CanonContext& cx,
                       Concurrency& concurrency, std::span<wasm::RawValue> slots);

}  // namespace gyre::component
