// The engines `[llm_compute]` chooses, called as the bindings call them, against a
// stand-in server on 127.0.0.1 speaking each protocol: the requests the host sends (path,
// authorization, JSON body with every parameter), the results it reads back, and the
// runtime-error a guest gets for each failure, in Spin's words.
#include "spin/llm/engines.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llm_server.hpp"

namespace gyre::spin::llm {
namespace {

using nlohmann::json;
using testing::RunningLlmServer;

const InferencingParams kParams{7, 1.5f, 32, 0.25f, 3, 0.75f};

// The engine from this runtime-config text, or its error.
Result<std::shared_ptr<const Engine>, std::string> engine_from(const std::string& text) {
  auto config = RuntimeConfig::parse(text, "runtime-config.toml");
  if (!config) return std::move(config).error();
  return resolve_engine(*config);
}

std::shared_ptr<const Engine> engine(const std::string& text) {
  auto resolved = engine_from(text);
  EXPECT_TRUE(resolved.ok()) << resolved.error();
  return resolved.ok() ? std::move(resolved).value() : make_local_engine();
}

std::string error_of(const Error& e) {
  const char* kind = e.kind == Error::Kind::kRuntimeError   ? "runtime-error"
                     : e.kind == Error::Kind::kInvalidInput ? "invalid-input"
                                                            : "model-not-supported";
  return std::string(kind) + ": " + e.message;
}

std::string remote_http(const RunningLlmServer& server, const std::string& extra = "") {
  return "[llm_compute]\ntype = \"remote_http\"\nurl = \"" + server.url() +
         "/ignored/path\"\nauth_token = \"t0ken\"\n" + extra;
}

TEST(LlmCloudGpu, InfersWithEveryParameterAtTheUrlsOrigin) {
  RunningLlmServer s;
  ASSERT_NE(s.port(), 0);
  s.server().answer(
      "/infer", 200,
      R"({"text":"Hello there","usage":{"promptTokenCount":4,"generatedTokenCount":2}})");
  auto result = engine(remote_http(s))->infer("llama2-chat", "Say hi", kParams, nullptr);
  ASSERT_TRUE(result.ok()) << error_of(result.error());
  EXPECT_EQ(result->text, "Hello there");
  EXPECT_EQ(result->usage.prompt_token_count, 4u);
  EXPECT_EQ(result->usage.generated_token_count, 2u);

  const auto seen = s.server().requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/infer");  // Spin joins "/infer" to the URL: its path goes
  EXPECT_EQ(seen[0].authorization, "bearer t0ken");
  EXPECT_EQ(seen[0].content_type, "");  // Spin's client sends none
  EXPECT_EQ(json::parse(seen[0].body),
            json::parse(R"({"model":"llama2-chat","prompt":"Say hi","options":{"maxTokens":7,
              "repeatPenalty":1.5,"repeatPenaltyLastNTokenCount":32,"temperature":0.25,
              "topK":3,"topP":0.75}})"));
}

TEST(LlmCloudGpu, SendsF32ParametersAsSpinPrintsThem) {
  RunningLlmServer s;
  s.server().answer("/infer", 200,
                    R"({"text":"","usage":{"promptTokenCount":0,"generatedTokenCount":0}})");
  ASSERT_TRUE(engine(remote_http(s))->infer("m", "p", InferencingParams{}, nullptr).ok());
  EXPECT_EQ(s.server().requests().at(0).body,
            R"({"model":"m","options":{"maxTokens":100,"repeatPenalty":1.1,)"
            R"("repeatPenaltyLastNTokenCount":64,"temperature":0.8,"topK":40,"topP":0.9},)"
            R"("prompt":"p"})");
}

TEST(LlmCloudGpu, GeneratesEmbeddings) {
  RunningLlmServer s;
  s.server().answer("/embed", 200,
                    R"({"embeddings":[[0.5,-1.25],[2]],"usage":{"promptTokenCount":6}})");
  auto result =
      engine(remote_http(s))->generate_embeddings("all-minilm-l6-v2", {"a", "b c"}, nullptr);
  ASSERT_TRUE(result.ok()) << error_of(result.error());
  EXPECT_EQ(result->embeddings, (std::vector<std::vector<float>>{{0.5f, -1.25f}, {2.0f}}));
  EXPECT_EQ(result->usage.prompt_token_count, 6u);
  const auto seen = s.server().requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/embed");
  EXPECT_EQ(seen[0].authorization, "bearer t0ken");
  EXPECT_EQ(seen[0].body, R"({"input":["a","b c"],"model":"all-minilm-l6-v2"})");
}

TEST(LlmCloudGpu, AnswersThatDoNotDeserializeAreRuntimeErrorsInSpinsWords) {
  RunningLlmServer s;
  s.server().answer("/infer", 500, "upstream exploded");
  s.server().answer("/embed", 200, R"({"embeddings":[[1]]})");
  auto e = engine(remote_http(s));
  auto infer = e->infer("m", "p", kParams, nullptr);
  ASSERT_FALSE(infer.ok());
  EXPECT_EQ(error_of(infer.error()),
            "runtime-error: Failed to deserialize response for \"POST  /index\": the server "
            "answered HTTP 500 with a body that is not JSON");
  auto embed = e->generate_embeddings("m", {"x"}, nullptr);
  ASSERT_FALSE(embed.ok());
  EXPECT_EQ(error_of(embed.error()),
            "runtime-error: Failed to deserialize response  for \"POST  /embed\": missing field "
            "`usage`");
  s.server().answer("/infer", 200,
                    R"({"text":"x","usage":{"promptTokenCount":-1,"generatedTokenCount":0}})");
  EXPECT_EQ(error_of(e->infer("m", "p", kParams, nullptr).error()),
            "runtime-error: Failed to deserialize response for \"POST  /index\": invalid value: "
            "-1, expected u32");
}

TEST(LlmCloudGpu, AServerThatIsNotThereIsARequestError) {
  uint16_t port;
  {
    RunningLlmServer gone;
    port = gone.port();
  }
  auto e = engine("[llm_compute]\ntype = \"remote_http\"\nurl = \"http://127.0.0.1:" +
                  std::to_string(port) + "\"\nauth_token = \"t\"\n");
  auto infer = e->infer("m", "p", kParams, nullptr);
  ASSERT_FALSE(infer.ok());
  EXPECT_EQ(error_of(infer.error()).rfind("runtime-error: POST /infer request error: ", 0), 0u)
      << infer.error().message;
  auto embed = e->generate_embeddings("m", {}, nullptr);
  ASSERT_FALSE(embed.ok());
  EXPECT_EQ(error_of(embed.error()).rfind("runtime-error: POST /embed request error: ", 0), 0u);
}

TEST(LlmCloudGpu, ATokenThatCannotBeAHeaderIsARuntimeError) {
  RunningLlmServer s;
  auto e = engine("[llm_compute]\ntype = \"remote_http\"\nurl = \"" + s.url() +
                  "\"\nauth_token = \"two\\nlines\"\n");
  EXPECT_EQ(error_of(e->infer("m", "p", kParams, nullptr).error()),
            "runtime-error: Failed to create authorization header");
  EXPECT_TRUE(s.server().requests().empty());
}

const char* kChatAnswer =
    R"({"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},)"
    R"("finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":"Other"}}],)"
    R"("usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}})";
const char* kEmbeddingsAnswer =
    R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.25,-0.5]},)"
    R"({"object":"embedding","index":1,"embedding":[1,0]}],"model":"text-embedding-3-small",)"
    R"("usage":{"prompt_tokens":5,"total_tokens":5}})";

TEST(LlmOpenAi, RemoteHttpWithTheOpenAiApiTypeUsesTheV1Endpoints) {
  RunningLlmServer s;
  s.server().answer("/v1/chat/completions", 200, kChatAnswer);
  s.server().answer("/v1/embeddings", 200, kEmbeddingsAnswer);
  auto e = engine(remote_http(s, "api_type = \"open_ai\"\n"));
  auto infer = e->infer("gpt-4o-mini", "Say hi", kParams, nullptr);
  ASSERT_TRUE(infer.ok()) << error_of(infer.error());
  EXPECT_EQ(infer->text, "Hi!");  // the first choice
  EXPECT_EQ(infer->usage.prompt_token_count, 9u);
  EXPECT_EQ(infer->usage.generated_token_count, 3u);
  auto embed = e->generate_embeddings("text-embedding-3-small", {"a", "b"}, nullptr);
  ASSERT_TRUE(embed.ok()) << error_of(embed.error());
  EXPECT_EQ(embed->embeddings, (std::vector<std::vector<float>>{{0.25f, -0.5f}, {1.0f, 0.0f}}));
  EXPECT_EQ(embed->usage.prompt_token_count, 5u);

  const auto seen = s.server().requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/v1/chat/completions");
  EXPECT_EQ(seen[0].authorization, "bearer t0ken");
  EXPECT_EQ(seen[0].content_type, "application/json");
  // As Spin maps the params: max-tokens and repeat-penalty only.
  EXPECT_EQ(seen[0].body,
            R"({"messages":[{"role":"user","content":"Say hi"}],"model":"gpt-4o-mini",)"
            R"("max_completion_tokens":7,"frequency_penalty":1.5})");
  EXPECT_EQ(seen[1].target, "/v1/embeddings");
  EXPECT_EQ(seen[1].body, R"({"input":["a","b"],"model":"text-embedding-3-small"})");
}

TEST(LlmOpenAi, TheOpenAiTypeAppendsToItsBaseUrlWithTheApiKey) {
  RunningLlmServer s;
  s.server().answer("/compat/v1/chat/completions", 200, kChatAnswer);
  s.server().answer("/compat/v1/embeddings", 200, kEmbeddingsAnswer);
  auto e = engine("[llm_compute]\ntype = \"open_ai\"\napi_key = \"sk-test\"\nurl = \"" + s.url() +
                  "/compat/v1/\"\n");
  ASSERT_TRUE(e->infer("gpt-4o-mini", "Say hi", kParams, nullptr).ok());
  ASSERT_TRUE(e->generate_embeddings("text-embedding-3-small", {"a"}, nullptr).ok());
  const auto seen = s.server().requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/compat/v1/chat/completions");
  EXPECT_EQ(seen[0].authorization, "bearer sk-test");
  EXPECT_EQ(json::parse(seen[0].body)["max_completion_tokens"], 7);
  EXPECT_EQ(seen[1].target, "/compat/v1/embeddings");
  EXPECT_EQ(seen[1].authorization, "bearer sk-test");
}

TEST(LlmOpenAi, AnErrorAnswerIsARuntimeErrorWithItsMessage) {
  RunningLlmServer s;
  const char* denied =
      R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}})";
  s.server().answer("/v1/chat/completions", 401, denied);
  s.server().answer("/v1/embeddings", 401, denied);
  auto e = engine(remote_http(s, "api_type = \"open_ai\"\n"));
  EXPECT_EQ(error_of(e->infer("m", "p", kParams, nullptr).error()),
            "runtime-error: Incorrect API key provided");
  EXPECT_EQ(error_of(e->generate_embeddings("m", {"x"}, nullptr).error()),
            "runtime-error: Incorrect API key provided");
  s.server().answer("/v1/chat/completions", 200, R"({"choices":[]})");
  EXPECT_EQ(error_of(e->infer("m", "p", kParams, nullptr).error()),
            "runtime-error: Failed to deserialize response for \"POST  /v1/chat/completions\": "
            "data did not match any variant of untagged enum CreateChatCompletionResponseKind");
  s.server().answer("/v1/chat/completions", 200,
                    R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0}})");
  auto empty = e->infer("m", "p", kParams, nullptr);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->text, "");
}

TEST(LlmEngines, WithoutLlmComputeEveryCallNamesTheBackendsThatWork) {
  for (const char* text : {"", "[llm_compute]\ntype = \"spin\"\n"}) {
    auto e = engine(text);
    auto infer = e->infer("llama2-chat", "p", kParams, nullptr);
    ASSERT_FALSE(infer.ok());
    EXPECT_EQ(error_of(infer.error()), std::string("runtime-error: ") + kNoLocalInference);
    EXPECT_NE(infer.error().message.find("type = \"remote_http\""), std::string::npos);
    EXPECT_NE(infer.error().message.find("type = \"open_ai\""), std::string::npos);
    auto embed = e->generate_embeddings("all-minilm-l6-v2", {"x"}, nullptr);
    ASSERT_FALSE(embed.ok());
    EXPECT_EQ(embed.error().message, kNoLocalInference);
  }
}

TEST(LlmEngines, RuntimeConfigErrorsPointAtTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"llm_compute = 3\n",
       "runtime-config.toml:1:15: llm_compute: invalid type: expected a table"},
      {"[llm_compute]\nurl = \"http://x\"\n",
       "runtime-config.toml:1:1: llm_compute: missing field `type`"},
      {"[llm_compute]\ntype = \"local\"\n",
       "runtime-config.toml:2:8: llm_compute.type: unknown variant `local`, expected one of "
       "`spin`, `remote_http`, `open_ai`"},
      {"[llm_compute]\ntype = \"remote_http\"\nauth_token = \"t\"\n",
       "runtime-config.toml:1:1: llm_compute: missing field `url`"},
      {"[llm_compute]\ntype = \"remote_http\"\nurl = \"http://x\"\n",
       "runtime-config.toml:1:1: llm_compute: missing field `auth_token`"},
      {"[llm_compute]\ntype = \"remote_http\"\nurl = \"localhost:80\"\nauth_token = \"t\"\n",
       "runtime-config.toml:3:7: llm_compute.url: invalid value: \"localhost:80\", expected an "
       "http or https URL"},
      {"[llm_compute]\ntype = \"remote_http\"\nurl = \"http://x\"\nauth_token = 1\n",
       "runtime-config.toml:4:14: llm_compute.auth_token: invalid type: expected a string"},
      {"[llm_compute]\ntype = \"remote_http\"\nurl = \"http://x\"\nauth_token = \"t\"\n"
       "api_type = \"anthropic\"\n",
       "runtime-config.toml:5:12: llm_compute.api_type: unknown variant `anthropic`, expected "
       "`open_ai` or `default`"},
      {"[llm_compute]\ntype = \"open_ai\"\n",
       "runtime-config.toml:1:1: llm_compute: missing field `api_key`"},
  };
  for (const auto& [text, expected] : cases) {
    auto resolved = engine_from(text);
    ASSERT_FALSE(resolved.ok()) << text;
    EXPECT_EQ(resolved.error(), expected) << text;
  }
}

TEST(LlmEngines, TheSectionIsTakenSoItIsNotAnUnusedKey) {
  auto config = RuntimeConfig::parse("[llm_compute]\ntype = \"spin\"\n", "rc.toml");
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE(resolve_engine(*config).ok());
  EXPECT_EQ(config->unused_keys_error(), std::nullopt);
}

}  // namespace
}  // namespace gyre::spin::llm
