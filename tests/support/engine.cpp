#include "support/engine.hpp"

#include <gtest/gtest.h>

namespace gyre::testing {

std::unique_ptr<wasm::Engine> test_engine(uint32_t pool_instances) {
  wasm::EngineConfig config;
  config.pool_instances = pool_instances;
  config.cache_dir = GYRE_TEST_COMPILE_CACHE;
  auto engine = wasm::Engine::create(config);
  EXPECT_TRUE(engine.ok());
  return std::move(engine).value();
}

}  // namespace gyre::testing
