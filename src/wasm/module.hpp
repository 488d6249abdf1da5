// A compiled core module. Immutable and shareable across threads and stores.
#pragma once

#include <string>
#include <vector>

#include "wasm/extern.hpp"
#include "wasm/wasmtime_fwd.hpp"

namespace gyre::wasm {

struct ImportDesc {
  std::string module;
  std::string name;
  ExternKind kind;
};

struct ExportDesc {
  std::string name;
  ExternKind kind;
};

class Module {
 public:
  Module(wasmtime_module* raw, bool loaded_from_cache)
      : raw_(raw), from_cache_(loaded_from_cache) {}
  ~Module();
  Module(Module&& other) noexcept;
  Module& operator=(Module&& other) noexcept;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // True when this module was deserialized from the on-disk cache rather than compiled.
  bool loaded_from_cache() const { return from_cache_; }
  std::vector<ImportDesc> imports() const;
  std::vector<ExportDesc> exports() const;

  wasmtime_module* raw() const { return raw_; }

 private:
  wasmtime_module* raw_;
  bool from_cache_;
};

}  // namespace gyre::wasm
