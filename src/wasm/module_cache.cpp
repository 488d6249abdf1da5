#include "wasm/module_cache.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "base/sha256.hpp"

namespace gyre::wasm {

ModuleCache::ModuleCache(std::filesystem::path dir, std::string engine_fingerprint)
    : dir_(std::move(dir)), fingerprint_(std::move(engine_fingerprint)) {}

std::string ModuleCache::key(std::span<const uint8_t> wasm) const {
  return Sha256().update(fingerprint_).update(std::string_view("\0", 1)).update(wasm).hex();
}

std::filesystem::path ModuleCache::path(const std::string& key) const {
  return dir_ / key.substr(0, 2) / (key + ".cwasm");
}

std::optional<std::filesystem::path> ModuleCache::find(const std::string& key) const {
  std::error_code ec;
  std::filesystem::path file = path(key);
  if (std::filesystem::is_regular_file(file, ec)) return file;
  return std::nullopt;
}

bool ModuleCache::store(const std::string& key, std::span<const uint8_t> compiled,
                        std::string* why) const {
  const std::filesystem::path file = path(key);
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) {
    *why = "cannot create " + file.parent_path().string() + ": " + ec.message();
    return false;
  }
  // Unique temporary name per process, then an atomic rename over the final name.
  std::filesystem::path temp = file;
  temp += ".tmp." + std::to_string(getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *why = "cannot write " + temp.string() + ": " + std::strerror(errno);
    return false;
  }
  size_t written = 0;
  while (written < compiled.size()) {
    ssize_t n = ::write(fd, compiled.data() + written, compiled.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *why = "cannot write " + temp.string() + ": " + std::strerror(errno);
      ::close(fd);
      std::filesystem::remove(temp, ec);
      return false;
    }
    written += static_cast<size_t>(n);
  }
  ::close(fd);
  std::filesystem::rename(temp, file, ec);
  if (ec) {
    *why = "cannot rename " + temp.string() + ": " + ec.message();
    std::filesystem::remove(temp, ec);
    return false;
  }
  return true;
}

}  // namespace gyre::wasm
