// The engine the component-level tests share: a small instance pool, and the compile
// cache under GYRE_CACHE so the SDK fixtures (seconds to compile) are compiled once.
#pragma once

#include <cstdint>
#include <memory>

#include "wasm/engine.hpp"

namespace gyre::testing {

std::unique_ptr<wasm::Engine> test_engine(uint32_t pool_instances = 16);

}  // namespace gyre::testing
