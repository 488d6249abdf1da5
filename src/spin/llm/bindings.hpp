// The llm interfaces, every version Spin serves, bound to one component's imports:
//
//   fermyon:spin/llm          (Spin 1)
//   fermyon:spin/llm@2.0.0
//
// Both have the same functions and types: infer (params default to Spin's when the guest
// passes none) and generate-embeddings. A model outside `allowed` (the component's
// `ai_models`) is refused before the engine sees it, with Spin's invalid-input message.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "component/host_imports.hpp"
#include "spin/llm/engine.hpp"

namespace gyre::spin::llm {

void add_bindings(component::HostImports& imports, std::shared_ptr<const Engine> engine,
                  std::set<std::string, std::less<>> allowed);

// Spin's answer for a model the component may not use.
std::string access_denied_message(std::string_view model);

}  // namespace gyre::spin::llm
