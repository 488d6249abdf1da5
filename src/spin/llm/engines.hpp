// The engine an app's llm interfaces use, from the runtime config's `[llm_compute]`:
//
//   type = "remote_http"   Spin's remote backend: `url`, `auth_token`, and `api_type`
//                          "default" (Spin's cloud-gpu protocol, at URL's origin + /infer
//                          and /embed) or "open_ai" (the OpenAI API at URL's origin +
//                          /v1/chat/completions and /v1/embeddings), as Spin joins them.
//   type = "open_ai"       Gyre's own shorthand for the OpenAI API: `api_key`, and `url`,
//                          the API's base (https://api.openai.com/v1 unless given; another
//                          OpenAI-compatible server's base works too), to which
//                          /chat/completions and /embeddings are appended.
//   type = "spin"          Spin's local inference, which Gyre does not have (as no section).
//
// Other keys are ignored, as Spin ignores them.
#pragma once

#include <memory>
#include <string>

#include "base/result.hpp"
#include "spin/llm/engine.hpp"
#include "spin/runtime_config.hpp"

namespace gyre::spin::llm {

// Takes `[llm_compute]`; without it, the local engine. Errors point into the file.
Result<std::shared_ptr<const Engine>, std::string> resolve_engine(RuntimeConfig& config);

// Spin's default is local inference; Gyre has none, so every call fails with a
// runtime-error naming the runtime-config backends that work. The app still loads, as
// with a Spin built without local inference.
std::shared_ptr<const Engine> make_local_engine();

// What that engine's calls answer.
extern const char* const kNoLocalInference;

}  // namespace gyre::spin::llm
