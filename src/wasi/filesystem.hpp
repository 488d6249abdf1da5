// wasi:filesystem 0.2. For now the part every wasi-libc program touches at start-up: the
// preopened directories, of which a component gets none until its `files` are mounted.
#pragma once

#include "component/host_imports.hpp"

namespace gyre::wasi {

void add_filesystem(component::HostImports& imports);

}  // namespace gyre::wasi
