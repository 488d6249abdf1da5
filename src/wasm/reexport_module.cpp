#include "wasm/reexport_module.hpp"

namespace gyre::wasm {
namespace {

void put_u32(std::vector<uint8_t>& out, uint32_t value) {
  do {
    uint8_t byte = value & 0x7f;
    value >>= 7;
    if (value != 0) byte |= 0x80;
    out.push_back(byte);
  } while (value != 0);
}

void put_name(std::vector<uint8_t>& out, std::string_view name) {
  put_u32(out, static_cast<uint32_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
}

uint8_t type_byte(ValType type) {
  switch (type) {
    case ValType::kI32:
      return 0x7f;
    case ValType::kI64:
      return 0x7e;
    case ValType::kF32:
      return 0x7d;
    case ValType::kF64:
      return 0x7c;
  }
  return 0x7f;
}

void put_types(std::vector<uint8_t>& out, const std::vector<ValType>& types) {
  put_u32(out, static_cast<uint32_t>(types.size()));
  for (ValType t : types)
    out.push_back(type_byte(t));
}

void put_section(std::vector<uint8_t>& out, uint8_t id, const std::vector<uint8_t>& body) {
  out.push_back(id);
  put_u32(out, static_cast<uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

}  // namespace

std::vector<uint8_t> reexport_module(std::string_view module,
                                     std::span<const ReexportedFunc> funcs) {
  const auto count = static_cast<uint32_t>(funcs.size());
  std::vector<uint8_t> types, imports, exports;
  put_u32(types, count);
  put_u32(imports, count);
  put_u32(exports, count);
  for (uint32_t i = 0; i < count; ++i) {
    types.push_back(0x60);  // func type
    put_types(types, funcs[i].type.params);
    put_types(types, funcs[i].type.results);
    put_name(imports, module);
    put_name(imports, funcs[i].name);
    imports.push_back(0x00);  // a function, of type i
    put_u32(imports, i);
    put_name(exports, funcs[i].name);
    exports.push_back(0x00);  // function i: the i-th import
    put_u32(exports, i);
  }
  std::vector<uint8_t> out{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  put_section(out, 1, types);
  put_section(out, 2, imports);
  put_section(out, 7, exports);
  return out;
}

}  // namespace gyre::wasm
