// Anything an instance exports or a module imports: a function, global, table, memory or
// tag of some store, by handle.
#pragma once

#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm {

enum class ExternKind { kFunc, kGlobal, kTable, kMemory, kTag };

struct Extern {
  ExternKind kind = ExternKind::kFunc;
  Handle handle{};
};

}  // namespace gyre::wasm
