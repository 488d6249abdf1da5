#include "support/wat_guest.hpp"

#include <gtest/gtest.h>

#include "support/process.hpp"

namespace gyre::testing {

WatGuest instantiate_wat(wasm::Engine& engine, wasm::Store& store, const std::string& wat,
                         const component::HostImports& host) {
  WatGuest out;
  auto pre = component::ComponentPre::create(engine, assemble(wat), host);
  EXPECT_TRUE(pre.ok()) << pre.error();
  if (!pre) return out;
  out.pre = *pre;
  auto instance = out.pre->instantiate(store);
  EXPECT_TRUE(instance.ok()) << instance.error().describe();
  if (instance) out.instance = std::move(*instance);
  return out;
}

}  // namespace gyre::testing
