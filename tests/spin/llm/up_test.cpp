// The llm interface through `gyre up` as a user runs it: a component the Spin Python SDK
// built (fixtures/python/llm) infers and generates embeddings over real HTTP, against a
// stand-in cloud-gpu server on 127.0.0.1 named by the runtime-config file; models the
// manifest does not grant are refused, and without `[llm_compute]` the app starts and
// each call says which backends to configure.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "llm_server.hpp"
#include "spin/llm/engines.hpp"
#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace {

namespace fs = std::filesystem;
using gyre::spin::llm::testing::RunningLlmServer;
using gyre::testing::GyreUp;
using nlohmann::json;

fs::path llm_app(const std::string& name, const std::string& runtime_config) {
  const fs::path app =
      gyre::testing::make_fixture_app("llm-" + name, "llm", "llm", "python-llm",
                                      "ai_models = [\"llama2-chat\", \"all-minilm-l6-v2\"]\n");
  std::ofstream(app / "runtime-config.toml") << runtime_config;
  return app;
}

GyreUp up(const fs::path& app) {
  return GyreUp(app, {"--runtime-config-file", (app / "runtime-config.toml").string()});
}

std::pair<int, std::string> op(const GyreUp& gyre, const std::string& query) {
  return gyre::testing::get_query(gyre, query);
}

// What the stand-in's /infer answers: the guest shows it as "Hello from the GPU (5+4)".
constexpr const char* kInferred =
    R"({"text":"Hello from the GPU","usage":{"promptTokenCount":5,"generatedTokenCount":4}})";

TEST(LlmUp, ThePythonSdkInfersAndEmbedsThroughTheRuntimeConfigsServer) {
  RunningLlmServer s;
  ASSERT_NE(s.port(), 0);
  s.server().answer("/infer", 200, kInferred);
  s.server().answer("/embed", 200,
                    R"({"embeddings":[[0.5,-2.0],[1.25,0]],"usage":{"promptTokenCount":3}})");
  const fs::path app = llm_app("ops", "[llm_compute]\ntype = \"remote_http\"\nurl = \"" + s.url() +
                                          "\"\nauth_token = \"secret\"\n");
  GyreUp gyre = up(app);
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(op(gyre, "op=infer&model=llama2-chat&prompt=Hi"),
            std::pair(200, std::string("Hello from the GPU (5+4)")));
  EXPECT_EQ(op(gyre,
               "op=infer&model=llama2-chat&prompt=Hi&max_tokens=12&repeat_penalty=1.5&last_n=8"
               "&temperature=0.25&top_k=5&top_p=0.5"),
            std::pair(200, std::string("Hello from the GPU (5+4)")));
  EXPECT_EQ(op(gyre, "op=embed&model=all-minilm-l6-v2&text=one|two"),
            std::pair(200, std::string("0.5,-2.0;1.25,0.0 (3)")));
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();

  const auto seen = s.server().requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].target, "/infer");
  EXPECT_EQ(seen[0].authorization, "bearer secret");
  // The SDK's default params, which are Spin's.
  EXPECT_EQ(json::parse(seen[0].body),
            json::parse(R"({"model":"llama2-chat","prompt":"Hi","options":{"maxTokens":100,
              "repeatPenalty":1.1,"repeatPenaltyLastNTokenCount":64,"temperature":0.8,
              "topK":40,"topP":0.9}})"));
  EXPECT_EQ(json::parse(seen[1].body)["options"],
            json::parse(R"({"maxTokens":12,"repeatPenalty":1.5,"repeatPenaltyLastNTokenCount":8,
              "temperature":0.25,"topK":5,"topP":0.5})"));
  EXPECT_EQ(seen[2].target, "/embed");
  EXPECT_EQ(seen[2].body, R"({"input":["one","two"],"model":"all-minilm-l6-v2"})");
}

// A guest waiting on inferencing holds no thread: more guests than the app has worker
// threads and lanes wait on the server at once (it answers none until all are in), and
// each gets its answer.
TEST(LlmUp, ManyGuestsWaitOnTheServerAtOnce) {
  RunningLlmServer s;
  ASSERT_NE(s.port(), 0);
  s.server().answer("/infer", 200, kInferred);
  const fs::path app = llm_app("waiting", "[llm_compute]\ntype = \"remote_http\"\nurl = \"" +
                                              s.url() + "\"\nauth_token = \"secret\"\n");
  GyreUp gyre = up(app);
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  const int guests = 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) + 8;
  s.server().gate().hold(guests);
  std::vector<std::future<std::pair<int, std::string>>> answers;
  for (int i = 0; i < guests; ++i) {
    answers.push_back(std::async(std::launch::async,
                                 [&] { return op(gyre, "op=infer&model=llama2-chat&prompt=Hi"); }));
  }
  // All of them wait at once, or a minute passes (a hang guard, not a timing).
  EXPECT_TRUE(s.server().gate().all_arrived(std::chrono::seconds(60))) << gyre.output();
  for (auto& answer : answers)
    EXPECT_EQ(answer.get(), std::pair(200, std::string("Hello from the GPU (5+4)")));
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(LlmUp, ModelsTheManifestDoesNotGrantAreRefused) {
  RunningLlmServer s;
  const fs::path app = llm_app("denied", "[llm_compute]\ntype = \"remote_http\"\nurl = \"" +
                                             s.url() + "\"\nauth_token = \"secret\"\n");
  GyreUp gyre = up(app);
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(op(gyre, "op=infer&model=codellama&prompt=Hi"),
            std::pair(409, std::string("err Error_InvalidInput: The component does not have access "
                                       "to use 'codellama'. To give the component access, add "
                                       "'codellama' to the 'ai_models' key for the component in "
                                       "your spin.toml manifest")));
  EXPECT_EQ(op(gyre, "op=embed&model=codellama&text=x").first, 409);
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  EXPECT_TRUE(s.server().requests().empty());
}

TEST(LlmUp, WithoutLlmComputeTheAppStartsAndCallsSayWhatToConfigure) {
  GyreUp gyre = up(llm_app("local", ""));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  const std::string expected =
      std::string("err Error_RuntimeError: ") + gyre::spin::llm::kNoLocalInference;
  EXPECT_EQ(op(gyre, "op=infer&model=llama2-chat&prompt=Hi"), std::pair(409, expected));
  EXPECT_EQ(op(gyre, "op=embed&model=all-minilm-l6-v2&text=x"), std::pair(409, expected));
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(LlmUp, ABadLlmComputeSectionStopsTheApp) {
  GyreUp gyre = up(llm_app("bad", "[llm_compute]\ntype = \"cloud\"\n"));
  EXPECT_EQ(gyre.port(), 0);
  EXPECT_NE(gyre.stop(), 0);
  EXPECT_NE(gyre.output().find("llm_compute.type: unknown variant `cloud`"), std::string::npos)
      << gyre.output();
}

}  // namespace
