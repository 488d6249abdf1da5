// Every llm interface version as a guest sees it: a C component (fixtures/c/llm) imports
// Spin 1's and Spin 2's, and its exports call infer and generate-embeddings through the
// version named and print the outcome. The host is the real factor, configured from a
// spin.toml and a runtime config as `gyre up` does, with a stand-in server on 127.0.0.1.
#include "spin/llm/bindings.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/manifest.hpp"
#include "app/variables.hpp"
#include "component/instance.hpp"
#include "llm_server.hpp"
#include "spin/llm/engines.hpp"
#include "spin/llm/llm_factor.hpp"
#include "support/factor_harness.hpp"
#include "support/process.hpp"

namespace gyre::spin::llm {
namespace {

using component::Val;
using nlohmann::json;
using testing::RunningLlmServer;

constexpr const char* kVersions[] = {"v1", "v2"};

Val f32(float v) {
  Val out;
  out.kind = component::ValueKind::kF32;
  out.number = v;
  return out;
}
Val u32(uint32_t v) {
  Val out;
  out.kind = component::ValueKind::kU32;
  out.bits = v;
  return out;
}

class LlmBindings : public ::testing::Test {
 protected:
  void TearDown() override { stop(); }

  // Loads the app as `gyre up` would and instantiates the guest; returns the factor's
  // error, or "" when the guest is ready.
  std::string start(const std::string& runtime_config,
                    const std::string& models = R"(["llama2-chat", "all-minilm-l6-v2"])") {
    std::vector<std::unique_ptr<Factor>> factors;
    factors.push_back(make_factor());
    return app_.start(harness_, gyre::testing::guest_manifest("llm", "ai_models = " + models),
                      std::move(factors), "c-llm", runtime_config);
  }

  void stop() {
    harness_.reset();
    app_.stop();
  }

  std::string call(const char* name, std::vector<Val> args) { return harness_.call(name, args); }

  std::string infer(const std::string& version, const std::string& model, const std::string& prompt,
                    std::optional<InferencingParams> params = {}) {
    Val p = Val::none();
    if (params) {
      p = Val::some(Val::tuple({u32(params->max_tokens), f32(params->repeat_penalty),
                                u32(params->repeat_penalty_last_n_token_count),
                                f32(params->temperature), u32(params->top_k), f32(params->top_p)}));
    }
    return call("infer", {Val::string(version), Val::string(model), Val::string(prompt), p});
  }

  std::string embed(const std::string& version, const std::string& model,
                    const std::vector<std::string>& text) {
    std::vector<Val> items;
    for (const auto& t : text)
      items.push_back(Val::string(t));
    return call("embed", {Val::string(version), Val::string(model), Val::list(std::move(items))});
  }

  static std::string remote_http(const RunningLlmServer& s, const std::string& extra = "") {
    return "[llm_compute]\ntype = \"remote_http\"\nurl = \"" + s.url() +
           "\"\nauth_token = \"t0ken\"\n" + extra;
  }

  gyre::testing::GuestApp app_;  // before the harness: its guest goes first
  gyre::testing::FactorHarness harness_;
};

TEST_F(LlmBindings, EveryFunctionOfEveryVersionReachesTheCloudGpuServer) {
  RunningLlmServer s;
  ASSERT_NE(s.port(), 0);
  s.server().answer(
      "/infer", 200,
      R"({"text":"Hi \"you\"","usage":{"promptTokenCount":3,"generatedTokenCount":2}})");
  s.server().answer("/embed", 200,
                    R"({"embeddings":[[0.5,-1.25],[]],"usage":{"promptTokenCount":4}})");
  ASSERT_EQ(start(remote_http(s)), "");
  for (const char* version : kVersions) {
    EXPECT_EQ(
        infer(version, "llama2-chat", "Say hi", InferencingParams{9, 1.5f, 16, 0.5f, 2, 0.25f}),
        "ok(text=\"Hi \"you\"\", prompt-tokens=3, generated-tokens=2)")
        << version;
    EXPECT_EQ(infer(version, "llama2-chat", "Defaults"),
              "ok(text=\"Hi \"you\"\", prompt-tokens=3, generated-tokens=2)")
        << version;
    EXPECT_EQ(embed(version, "all-minilm-l6-v2", {"one", "two"}),
              "ok([[0.5,-1.25],[]], prompt-tokens=4)")
        << version;
  }
  const auto seen = s.server().requests();
  ASSERT_EQ(seen.size(), 6u);
  for (size_t i = 0; i < 6; i += 3) {
    EXPECT_EQ(seen[i].target, "/infer");
    EXPECT_EQ(seen[i].authorization, "bearer t0ken");
    EXPECT_EQ(json::parse(seen[i].body),
              json::parse(R"({"model":"llama2-chat","prompt":"Say hi","options":{"maxTokens":9,
                "repeatPenalty":1.5,"repeatPenaltyLastNTokenCount":16,"temperature":0.5,
                "topK":2,"topP":0.25}})"));
    // No params from the guest: Spin's defaults.
    EXPECT_EQ(seen[i + 1].body,
              R"({"model":"llama2-chat","options":{"maxTokens":100,"repeatPenalty":1.1,)"
              R"("repeatPenaltyLastNTokenCount":64,"temperature":0.8,"topK":40,"topP":0.9},)"
              R"("prompt":"Defaults"})");
    EXPECT_EQ(seen[i + 2].target, "/embed");
    EXPECT_EQ(seen[i + 2].body, R"({"input":["one","two"],"model":"all-minilm-l6-v2"})");
  }
}

TEST_F(LlmBindings, EveryVersionReachesAnOpenAiServer) {
  RunningLlmServer s;
  s.server().answer("/v1/chat/completions", 200,
                    R"({"choices":[{"message":{"role":"assistant","content":"Hello"}}],)"
                    R"("usage":{"prompt_tokens":5,"completion_tokens":1}})");
  s.server().answer("/v1/embeddings", 200,
                    R"({"data":[{"embedding":[0.25]}],"usage":{"prompt_tokens":2}})");
  ASSERT_EQ(
      start("[llm_compute]\ntype = \"open_ai\"\napi_key = \"sk\"\nurl = \"" + s.url() + "/v1\"\n",
            R"(["gpt-4o-mini", "text-embedding-3-small"])"),
      "");
  for (const char* version : kVersions) {
    EXPECT_EQ(infer(version, "gpt-4o-mini", "Say hi"),
              "ok(text=\"Hello\", prompt-tokens=5, generated-tokens=1)");
    EXPECT_EQ(embed(version, "text-embedding-3-small", {"x"}), "ok([[0.25]], prompt-tokens=2)");
  }
  s.server().answer("/v1/chat/completions", 429,
                    R"({"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}})");
  for (const char* version : kVersions)
    EXPECT_EQ(infer(version, "gpt-4o-mini", "Again"), "err(runtime-error: Rate limit reached)");
  const auto seen = s.server().requests();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0].authorization, "bearer sk");
  EXPECT_EQ(seen[0].body,
            R"({"messages":[{"role":"user","content":"Say hi"}],"model":"gpt-4o-mini",)"
            R"("max_completion_tokens":100,"frequency_penalty":1.1})");
}

// As Spin: a model missing from `ai_models` is an invalid-input error with Spin's message,
// the server never asked, and nothing traps.
TEST_F(LlmBindings, ModelsTheManifestDoesNotGrantAreRefused) {
  RunningLlmServer s;
  ASSERT_EQ(start(remote_http(s), R"(["llama2-chat"])"), "");
  const std::string denied = "err(invalid-input: " + access_denied_message("codellama") + ")";
  EXPECT_EQ(denied,
            "err(invalid-input: The component does not have access to use 'codellama'. To give "
            "the component access, add 'codellama' to the 'ai_models' key for the component in "
            "your spin.toml manifest)");
  for (const char* version : kVersions) {
    EXPECT_EQ(infer(version, "codellama", "p"), denied) << version;
    EXPECT_EQ(infer(version, "codellama", "p", InferencingParams{}), denied) << version;
    EXPECT_EQ(embed(version, "codellama", {"x"}), denied) << version;
  }
  ASSERT_EQ(start(remote_http(s), "[]"), "");
  for (const char* version : kVersions) {
    EXPECT_EQ(infer(version, "llama2-chat", "p")
                  .rfind("err(invalid-input: The component does "
                         "not have access to use 'llama2-chat'",
                         0),
              0u);
    EXPECT_EQ(embed(version, "llama2-chat", {}).rfind("err(invalid-input: ", 0), 0u);
  }
  EXPECT_TRUE(s.server().requests().empty());
}

TEST_F(LlmBindings, WithoutLlmComputeCallsFailWithTheBackendsThatWork) {
  ASSERT_EQ(start(""), "");
  const std::string expected = std::string("err(runtime-error: ") + kNoLocalInference + ")";
  for (const char* version : kVersions) {
    EXPECT_EQ(infer(version, "llama2-chat", "p"), expected) << version;
    EXPECT_EQ(embed(version, "all-minilm-l6-v2", {"x"}), expected) << version;
  }
}

TEST_F(LlmBindings, AServerFailureIsARuntimeErrorTheGuestSees) {
  RunningLlmServer s;
  s.server().answer("/infer", 502, "<html>bad gateway</html>");
  ASSERT_EQ(start(remote_http(s)), "");
  for (const char* version : kVersions) {
    EXPECT_EQ(infer(version, "llama2-chat", "p"),
              "err(runtime-error: Failed to deserialize response for \"POST  /index\": the "
              "server answered HTTP 502 with a body that is not JSON)");
    // The server answers a path it does not serve with a 404 and an OpenAI-style error.
    EXPECT_EQ(embed(version, "all-minilm-l6-v2", {"x"}),
              "err(runtime-error: Failed to deserialize response  for \"POST  /embed\": missing "
              "field `embeddings`)");
  }
}

TEST_F(LlmBindings, ABadLlmComputeSectionStopsTheAppFromLoading) {
  EXPECT_EQ(start("[llm_compute]\ntype = \"remote_http\"\nauth_token = \"t\"\n"),
            "runtime-config.toml:1:1: llm_compute: missing field `url`");
}

}  // namespace
}  // namespace gyre::spin::llm
