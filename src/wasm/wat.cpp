#include "wasm/wat.hpp"

#include "wasm/wasmtime_glue.hpp"

namespace gyre::wasm {

Result<std::vector<uint8_t>> wat_to_binary(std::string_view wat) {
  wasm_byte_vec_t binary;
  if (wasmtime_error_t* error = wasmtime_wat2wasm(wat.data(), wat.size(), &binary)) {
    return glue::take_error(error, ErrorKind::kCompile);
  }
  std::vector<uint8_t> out(binary.data, binary.data + binary.size);
  wasm_byte_vec_delete(&binary);
  return out;
}

}  // namespace gyre::wasm
