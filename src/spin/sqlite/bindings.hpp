// The SQLite interfaces, every version Spin serves, bound to one component's imports:
//
//   fermyon:spin/sqlite            (Spin 1: u32 connections, open/execute/close)
//   fermyon:spin/sqlite@2.0.0      (resource connection: open, execute)
//   spin:sqlite/sqlite@3.1.0       (adds last-insert-rowid and changes; serves 3.0.0
//                                   imports too. Spin 4's *-async functions are called
//                                   synchronously; execute-async, which returns a stream,
//                                   traps until streams can cross)
//
// Each `open` is a new connection of the guest's own, all versions counted together: at
// most 256 at once, as in Spin. A label outside `allowed` is refused with access-denied.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "component/host_imports.hpp"
#include "spin/sqlite/databases.hpp"

namespace gyre::spin::sqlite {

void add_bindings(component::HostImports& imports, std::shared_ptr<const Databases> databases,
                  std::set<std::string, std::less<>> allowed);

}  // namespace gyre::spin::sqlite
