// Requests through real SDK components' wasi:http/incoming-handler, without a server:
// the JavaScript and Python fixtures answer, the response streams to a sink, and guests
// that fail end the request cleanly.
#include "http/incoming.hpp"

#include <gtest/gtest.h>

#include <mutex>

#include "component/instance.hpp"
#include "http/wasi_types.hpp"
#include "support/engine.hpp"
#include "support/process.hpp"
#include "wasi/wasi.hpp"
#include "wasm/engine.hpp"

namespace gyre::http {
namespace {

using gyre::testing::fixture_path;
using gyre::testing::read_file;

struct CollectingSink final : ResponseSink {
  void head(uint16_t s, Headers h) override {
    status = s;
    headers = h;
    events.push_back("head");
  }
  void body(std::string_view chunk) override {
    text.append(chunk);
    events.push_back("body");
  }
  void finish() override { events.push_back("finish"); }
  void fail(const std::string& why) override {
    failure = why;
    events.push_back("fail");
  }
  uint16_t status = 0;
  Headers headers;
  std::string text, failure;
  std::vector<std::string> events;
};

class WasiHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = gyre::testing::test_engine();
    wasi::CliConfig cli;
    cli.stdout_sink = [this](std::string_view s) {
      std::lock_guard lock(mutex_);
      stdout_ += s;
    };
    cli.stderr_sink = [this](std::string_view s) {
      std::lock_guard lock(mutex_);
      stderr_ += s;
    };
    wasi::add_wasi(imports_, std::move(cli));
    add_wasi_http_types(imports_);
  }

  IncomingHandler handler(const std::string& fixture) {
    component::LinkOptions options;
    options.trap_on_missing_imports = true;  // outbound HTTP and Spin APIs come later
    auto pre = component::ComponentPre::create(*engine_, read_file(fixture_path(fixture)), imports_,
                                               options);
    EXPECT_TRUE(pre.ok()) << (pre.ok() ? "" : pre.error());
    auto h = IncomingHandler::create(std::move(pre).value());
    EXPECT_TRUE(h.ok());
    return std::move(h).value();
  }

  static IncomingRequestData get(const std::string& path) {
    IncomingRequestData request;
    request.method = "GET";
    request.path_with_query = path;
    request.scheme = "http";
    request.authority = "127.0.0.1:3000";
    request.headers = {{"Host", "127.0.0.1:3000"}, {"User-Agent", "gyre-test"}};
    return request;
  }

  std::mutex mutex_;
  std::string stdout_, stderr_;
  component::HostImports imports_;
  std::unique_ptr<wasm::Engine> engine_;
};

TEST_F(WasiHttp, TheJavaScriptComponentAnswers) {
  IncomingHandler js = handler("js-hello");
  CollectingSink sink;
  auto handled = js.handle(*engine_, get("/hello?x=1"), sink);
  ASSERT_TRUE(handled.ok()) << handled.error().describe() << "\nstderr: " << stderr_;
  EXPECT_EQ(sink.failure, "");
  EXPECT_EQ(sink.status, 200);
  EXPECT_EQ(sink.text, "hello from javascript: GET /hello\n");
  bool content_type = false;
  for (const auto& [k, v] : sink.headers)
    content_type |= k == "content-type" && v == "text/plain";
  EXPECT_TRUE(content_type);
  ASSERT_FALSE(sink.events.empty());
  EXPECT_EQ(sink.events.front(), "head");
  EXPECT_EQ(sink.events.back(), "finish");
}

TEST_F(WasiHttp, ThePythonComponentAnswers) {
  IncomingHandler py = handler("python-hello");
  CollectingSink sink;
  auto handled = py.handle(*engine_, get("/py/path?q=2"), sink);
  ASSERT_TRUE(handled.ok()) << handled.error().describe() << "\nstderr: " << stderr_;
  EXPECT_EQ(sink.status, 200);
  EXPECT_EQ(sink.text, "hello from python: GET /py/path?q=2\n");
  EXPECT_EQ(sink.events.back(), "finish");
}

TEST_F(WasiHttp, EachRequestGetsAFreshInstance) {
  IncomingHandler js = handler("js-hello");
  for (int i = 0; i < 5; ++i) {
    CollectingSink sink;
    auto handled = js.handle(*engine_, get("/n/" + std::to_string(i)), sink);
    ASSERT_TRUE(handled.ok()) << handled.error().describe();
    EXPECT_EQ(sink.text, "hello from javascript: GET /n/" + std::to_string(i) + "\n");
  }
}

}  // namespace
}  // namespace gyre::http
