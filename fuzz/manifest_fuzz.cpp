// libFuzzer target for the manifest parser: any bytes must parse or fail with an error
// that names the file and says what is wrong, without crashing, leaking or hanging;
// and whatever parses must resolve its variables without crashing.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "app/manifest.hpp"
#include "app/variables.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto manifest = gyre::app::parse_manifest(text, "spin.toml");
  if (!manifest.ok()) {
    const auto& error = manifest.error();
    if (error.file != "spin.toml" || error.message.empty()) std::abort();
    if (error.describe().empty()) std::abort();
    return 0;
  }
  auto resolved = gyre::app::resolve_variables(*manifest, {{"SPIN_VARIABLE_A", "a"}});
  if (!resolved.ok() && resolved.error().message.empty()) std::abort();
  return 0;
}
