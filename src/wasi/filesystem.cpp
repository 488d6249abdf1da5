#include "wasi/filesystem.hpp"

#include "host/define.hpp"

namespace gyre::wasi {
namespace {

// An open file or directory (wasi:filesystem/types.descriptor). No descriptor exists yet:
// mounting a component's files read-only comes with `gyre up`.
struct Descriptor {};

}  // namespace

void add_filesystem(component::HostImports& imports) {
  host::define_resource<Descriptor>(imports, "wasi:filesystem/types@0.2.0", "descriptor");
  host::define(imports, "wasi:filesystem/preopens@0.2.0", "get-directories", [](host::Context&) {
    return std::vector<std::tuple<host::Own<Descriptor>, std::string>>{};
  });
}

}  // namespace gyre::wasi
