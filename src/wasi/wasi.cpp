#include "wasi/wasi.hpp"

#include "wasi/io.hpp"
#include "wasi/random.hpp"

namespace gyre::wasi {

void add_wasi(component::HostImports& imports, CliConfig cli, std::shared_ptr<const Clock> clock,
              std::vector<MountedFile> files) {
  add_io(imports);
  add_clocks(imports, std::move(clock));
  add_random(imports);
  add_cli(imports, std::move(cli));
  add_filesystem(imports, std::move(files));
}

}  // namespace gyre::wasi
