// A core module that imports functions and exports each of them again, unchanged.
//
// Prepared once against a Linker that defines the imports (an InstancePre), one
// instantiation hands a Store every one of those functions, found by position, instead
// of one Linker lookup by name per function.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wasm/value.hpp"

namespace gyre::wasm {

struct ReexportedFunc {
  std::string name;  // the import's name in `module`, and the export's name
  FuncType type;
};

// The binary module: imports (module, f.name) of type f.type and exports it as f.name,
// in the order given.
std::vector<uint8_t> reexport_module(std::string_view module,
                                     std::span<const ReexportedFunc> funcs);

}  // namespace gyre::wasm
