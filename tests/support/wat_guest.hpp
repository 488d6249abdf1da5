// A guest written in the text format, linked against a test host and instantiated: how
// the component tests that spell out their guest set up.
#pragma once

#include <memory>
#include <string>

#include "component/instance.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::testing {

struct WatGuest {
  std::shared_ptr<const component::ComponentPre> pre;
  std::unique_ptr<component::ComponentInstance> instance;  // null when either step failed
};

// Assembles `wat` (wasm-tools), links it against `host` and instantiates it in `store`;
// a failure is a test failure with its message.
WatGuest instantiate_wat(wasm::Engine& engine, wasm::Store& store, const std::string& wat,
                         const component::HostImports& host);

}  // namespace gyre::testing
