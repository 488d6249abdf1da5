// LLM engines that call a server over HTTP (libcurl), as Spin's llm-remote-http does:
//
//   cloud-gpu  Spin's own protocol (the Fermyon cloud-gpu plugin):
//              POST <infer_url>  {"model","options":{"maxTokens",...},"prompt"}
//                -> {"text","usage":{"promptTokenCount","generatedTokenCount"}}
//              POST <embeddings_url>  {"input":[...],"model"}
//                -> {"embeddings":[[...]],"usage":{"promptTokenCount"}}
//   open-ai    the OpenAI API: chat completions for inferencing (the prompt as one user
//              message; max_completion_tokens and frequency_penalty from the params, as
//              Spin maps them) and embeddings; an {"error":{"message"}} answer is a
//              runtime-error with that message.
//
// Both send `authorization: bearer TOKEN`. A failure is a runtime-error in Spin's words
// ("POST /infer request error: ...", "Failed to deserialize response for ...").
#pragma once

#include <memory>
#include <string>

#include "spin/llm/engine.hpp"

namespace gyre::spin::llm {

struct RemoteConfig {
  enum class Protocol { kCloudGpu, kOpenAi };
  Protocol protocol = Protocol::kCloudGpu;
  std::string infer_url;       // http(s), complete: "http://127.0.0.1:8080/infer"
  std::string embeddings_url;  // "http://127.0.0.1:8080/embed"
  std::string token;
};

// Responses larger than this are refused (Spin 4's limit on what the host buffers).
inline constexpr size_t kMaxResponseBytes = size_t{128} << 20;

std::shared_ptr<const Engine> make_remote_engine(RemoteConfig config);

}  // namespace gyre::spin::llm
