// The WebAssembly text format, for tests and for small modules the host writes itself.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "wasm/error.hpp"

namespace gyre::wasm {

// Assembles text into a binary module; a syntax error is a kCompile error with its position.
Result<std::vector<uint8_t>> wat_to_binary(std::string_view wat);

}  // namespace gyre::wasm
