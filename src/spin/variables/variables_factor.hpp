// Spin's variables capability: a component reads its own `[component.x.variables]`
// through every interface version Spin 3 serves, each with Spin's error mapping:
//
//   fermyon:spin/config                        get-config (Spin 1)
//   fermyon:spin/variables@2.0.0               get
//   spin:variables/variables@3.0.0             get (an async func, lowered synchronously)
//   wasi:config/store@0.2.0-draft-2024-09-27   get, get-all (none for undefined and
//                                               invalid names, as wasi:config asks)
//
// Values come from the resolver gyre up builds before the factors load (providers.hpp):
// every lookup asks the providers again, so a secret store is read when the guest reads.
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::variables {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::variables
