// Spin's llm capability: inferencing and embeddings through the engine the runtime
// config's `[llm_compute]` chooses (engines.hpp), shared by the app, for the models each
// component's `ai_models` lists, through every interface version Spin serves (bindings.hpp).
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::llm {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::llm
