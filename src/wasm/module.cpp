#include "wasm/module.hpp"

#include <utility>

#include "wasm/wasmtime_glue.hpp"

namespace gyre::wasm {
namespace {

ExternKind kind_of(const wasm_externtype_t* type) {
  switch (wasm_externtype_kind(type)) {
    case WASM_EXTERN_FUNC:
      return ExternKind::kFunc;
    case WASM_EXTERN_GLOBAL:
      return ExternKind::kGlobal;
    case WASM_EXTERN_TABLE:
      return ExternKind::kTable;
    case WASM_EXTERN_MEMORY:
      return ExternKind::kMemory;
    default:
      return ExternKind::kTag;
  }
}

}  // namespace

Module::~Module() {
  if (raw_ != nullptr) wasmtime_module_delete(raw_);
}

Module::Module(Module&& other) noexcept
    : raw_(std::exchange(other.raw_, nullptr)), from_cache_(other.from_cache_) {}

Module& Module::operator=(Module&& other) noexcept {
  if (this != &other) {
    if (raw_ != nullptr) wasmtime_module_delete(raw_);
    raw_ = std::exchange(other.raw_, nullptr);
    from_cache_ = other.from_cache_;
  }
  return *this;
}

std::vector<ImportDesc> Module::imports() const {
  wasm_importtype_vec_t types;
  wasmtime_module_imports(raw_, &types);
  std::vector<ImportDesc> out;
  out.reserve(types.size);
  for (size_t i = 0; i < types.size; ++i) {
    const wasm_importtype_t* import = types.data[i];
    out.push_back(ImportDesc{glue::to_string(*wasm_importtype_module(import)),
                             glue::to_string(*wasm_importtype_name(import)),
                             kind_of(wasm_importtype_type(import))});
  }
  wasm_importtype_vec_delete(&types);
  return out;
}

std::vector<ExportDesc> Module::exports() const {
  wasm_exporttype_vec_t types;
  wasmtime_module_exports(raw_, &types);
  std::vector<ExportDesc> out;
  out.reserve(types.size);
  for (size_t i = 0; i < types.size; ++i) {
    const wasm_exporttype_t* exported = types.data[i];
    out.push_back(ExportDesc{glue::to_string(*wasm_exporttype_name(exported)),
                             kind_of(wasm_exporttype_type(exported))});
  }
  wasm_exporttype_vec_delete(&types);
  return out;
}

}  // namespace gyre::wasm
