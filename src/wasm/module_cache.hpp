// The on-disk cache of compiled modules: one file per (module bytes, engine configuration),
// written atomically so concurrent gyre processes never see a torn file.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>

namespace gyre::wasm {

class ModuleCache {
 public:
  // The folder is created on first store(); an unusable folder makes every lookup a miss.
  ModuleCache(std::filesystem::path dir, std::string engine_fingerprint);

  // The key under which a module's compiled form is kept.
  std::string key(std::span<const uint8_t> wasm) const;
  std::filesystem::path path(const std::string& key) const;
  // The path of an existing entry, if any.
  std::optional<std::filesystem::path> find(const std::string& key) const;
  // Writes an entry (temporary file, then rename). Returns false with a reason on failure.
  bool store(const std::string& key, std::span<const uint8_t> compiled, std::string* why) const;

 private:
  std::filesystem::path dir_;
  std::string fingerprint_;
};

}  // namespace gyre::wasm
