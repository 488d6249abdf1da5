#include "wasi/wasi.hpp"

#include "wasi/io.hpp"
#include "wasi/random.hpp"
#include "wasi/sockets/sockets.hpp"

namespace gyre::wasi {

void add_wasi(component::HostImports& imports, CliConfig cli, std::shared_ptr<const Clock> clock,
              std::vector<MountedFile> files, sockets::SocketsConfig sockets) {
  add_io(imports);
  add_clocks(imports, std::move(clock));
  add_random(imports);
  add_cli(imports, std::move(cli));
  add_filesystem(imports, std::move(files));
  sockets::add_sockets(imports, std::move(sockets));
}

}  // namespace gyre::wasi
