// The key-value interfaces, every version Spin serves, bound to one component's imports:
//
//   fermyon:spin/key-value            (Spin 1: u32 handles)
//   fermyon:spin/key-value@2.0.0      (resource store)
//   spin:key-value/key-value@3.0.0    (async funcs, called synchronously; get-keys, which
//                                      returns a stream, traps until streams can cross)
//   wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2
//
// A label outside `allowed` is refused with each interface's access-denied error.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "component/host_imports.hpp"
#include "spin/key_value/stores.hpp"

namespace gyre::spin::key_value {

void add_bindings(component::HostImports& imports, std::shared_ptr<const Stores> stores,
                  std::set<std::string, std::less<>> allowed);

}  // namespace gyre::spin::key_value
