// What runs inferencing and embeddings for the llm interfaces: the shapes of
// `fermyon:spin/llm` (Spin 1 and @2.0.0 have the same ones) and the engine behind them,
// which the runtime config's `[llm_compute]` chooses and the whole app shares.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/suspender.hpp"

namespace gyre::spin::llm {

struct InferencingParams {
  uint32_t max_tokens = 100;
  float repeat_penalty = 1.1f;
  uint32_t repeat_penalty_last_n_token_count = 64;
  float temperature = 0.8f;
  uint32_t top_k = 40;
  float top_p = 0.9f;
};

struct InferencingUsage {
  uint32_t prompt_token_count = 0;
  uint32_t generated_token_count = 0;
};

struct InferencingResult {
  std::string text;
  InferencingUsage usage;
};

struct EmbeddingsUsage {
  uint32_t prompt_token_count = 0;
};

struct EmbeddingsResult {
  std::vector<std::vector<float>> embeddings;
  EmbeddingsUsage usage;
};

// The interface's error variant.
struct Error {
  enum class Kind { kModelNotSupported, kRuntimeError, kInvalidInput };
  Kind kind;
  std::string message;  // empty for kModelNotSupported

  static Error runtime(std::string message) { return {Kind::kRuntimeError, std::move(message)}; }
  static Error invalid_input(std::string message) {
    return {Kind::kInvalidInput, std::move(message)};
  }
};

template <class T>
using Outcome = gyre::Result<T, Error>;

// Shared by every instance of the app, called from any thread at once. A call waits for its
// server through `suspender` (the calling guest's, or null: it blocks), so a guest waiting
// on inferencing holds no thread.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual Outcome<InferencingResult> infer(const std::string& model, const std::string& prompt,
                                           const InferencingParams& params,
                                           Suspender* suspender) const = 0;
  virtual Outcome<EmbeddingsResult> generate_embeddings(const std::string& model,
                                                        const std::vector<std::string>& text,
                                                        Suspender* suspender) const = 0;
};

}  // namespace gyre::spin::llm
