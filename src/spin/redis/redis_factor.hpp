// Spin's outbound Redis capability (crates/factor-outbound-redis): a guest opens a
// connection to `redis://host[:port]` within its `allowed_outbound_hosts` and runs
// commands on it. Served as `fermyon:spin/redis@2.0.0` (a `connection` resource) and as
// Spin 1's `fermyon:spin/redis` (the address on every call, errors as redis-types'
// `error` enum). Spin 3.6 serves no other version: `spin:redis/redis@3.0.0` has async
// functions (WASI 0.3), which Gyre cannot call yet.
//
// An address the component may not reach is logged as Spin logs it and answered with
// `invalid-address` (Spin 1: `error`); nothing traps. Connections are pooled per app.
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::redis {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::redis
