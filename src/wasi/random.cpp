#include "wasi/random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "host/define.hpp"
#include "wasi/versions.hpp"

namespace gyre::wasi {
namespace {

// The most one call may ask for: enough for any real use, small enough that a guest
// cannot make the host allocate at will.
constexpr uint64_t kMaxRandomBytes = 1 << 20;

host::Trapping<std::vector<uint8_t>> random_bytes(uint64_t len) {
  if (len > kMaxRandomBytes) {
    return std::string("random bytes: ") + std::to_string(len) + " bytes asked, at most " +
           std::to_string(kMaxRandomBytes) + " per call";
  }
  std::vector<uint8_t> out(len);
  size_t filled = 0;
  while (filled < out.size()) {
    const ssize_t n = getrandom(out.data() + filled, out.size() - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::string("getrandom failed: ") + std::strerror(errno);
    filled += static_cast<size_t>(n);
  }
  return out;
}

uint64_t random_u64() {
  uint64_t value = 0;
  auto bytes = random_bytes(sizeof value);
  if (bytes) std::memcpy(&value, bytes->data(), sizeof value);
  return value;
}

// wasi:random at one version: 0.2's and 0.3's differ only in insecure-seed's name.
void add_version(component::HostImports& imports, const std::string& version,
                 const char* seed_name) {
  using host::Context;
  for (const char* name : {"random", "insecure"}) {
    const std::string interface = std::string("wasi:random/") + name + "@" + version;
    const std::string prefix =
        std::string(name) == "insecure" ? "get-insecure-random-" : "get-random-";
    host::define(imports, interface, prefix + "bytes",
                 [](Context&, uint64_t len) { return random_bytes(len); });
    host::define(imports, interface, prefix + "u64", [](Context&) { return random_u64(); });
  }
  host::define(imports, "wasi:random/insecure-seed@" + version, seed_name,
               [](Context&) { return std::tuple<uint64_t, uint64_t>{random_u64(), random_u64()}; });
}

}  // namespace

void add_random(component::HostImports& imports) {
  add_version(imports, "0.2.0", "insecure-seed");
  for (const char* version : kWasi3Versions)
    add_version(imports, version, "get-insecure-seed");
}

}  // namespace gyre::wasi
