// The two helper core modules wit-component puts around a component's main module, told
// apart by their bytes.
//
// A lowered import that needs the main module's memory cannot exist before the main module
// does, so wit-component gives the main module stand-ins: an "indirect shim" module whose
// exported functions only call through its own table, and a "fixup" module, instantiated
// after the main one, whose element segment fills that table with the real lowered
// functions (and whose start function may call the main module's `_initialize`).
//
// Gyre's lowered functions find their memory when called, not when made, so it can hand
// the main module the real functions at once: then neither helper needs instantiating. The
// recognizers below are strict: anything but the exact shapes is not recognized, and the
// component is instantiated as written.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gyre::component {

// A module without imports, with one funcref table, whose every function passes its
// parameters unchanged to `call_indirect` of one constant slot of that table, with the
// function's own type.
struct IndirectShim {
  std::string table_export;
  struct Function {
    std::string export_name;
    uint32_t slot;
  };
  std::vector<Function> functions;  // every exported function
};

// A module that imports functions and one funcref table, defines nothing, and fills the
// table from one active element segment with imported functions; its start function, if
// any, is an imported function.
struct TableFixup {
  struct Import {
    std::string module, name;
  };
  std::vector<Import> functions;  // the function imports, in function index order
  Import table;
  uint32_t offset = 0;             // the segment's first slot
  std::vector<uint32_t> elements;  // function indices, stored from `offset` on
  std::optional<uint32_t> start;   // a function index
};

std::optional<IndirectShim> recognize_indirect_shim(std::span<const uint8_t> module);
std::optional<TableFixup> recognize_table_fixup(std::span<const uint8_t> module);

// Whether a (well-formed) module has a start section; true for bytes that do not parse.
bool may_have_start_function(std::span<const uint8_t> module);

}  // namespace gyre::component
