// A wasi:http handler written in C (fixtures/c/http) served by the real `gyre up`, spoken
// to over HTTP on 127.0.0.1: what the request carries reaches the C code, and what the C
// code writes reaches the client.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace {

using gyre::testing::fixture_path;
using gyre::testing::GyreUp;
using gyre::testing::http_request;

// An app folder whose spin.toml routes every path to the C component.
std::filesystem::path c_app(const std::string& name) {
  return gyre::testing::make_app("c-http-" + name, R"(spin_manifest_version = 2

[application]
name = "c-http"
version = "1.0.0"

[[trigger.http]]
route = "/..."
component = "c-http"

[component.c-http]
source = ")" + fixture_path("c-http") + R"("
)");
}

TEST(CHttp, GetRootAnswersHelloAsPlainText) {
  GyreUp gyre(c_app("hello"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto r = http_request(gyre.port(), "GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello, Fermyon!\n");
  EXPECT_EQ(r.header("content-type"), "text/plain");
  auto missing = http_request(gyre.port(), "GET", "/nowhere");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "not found\n");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(CHttp, TheMethodPathQueryAndHeadersReachTheCCode) {
  GyreUp gyre(c_app("echo"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto get = http_request(gyre.port(), "GET", "/echo/a/b?x=1&y=%20z", "",
                          {{"X-Gyre-Test", "first value"}});
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "GET /echo/a/b?x=1&y=%20z\nx-gyre-test: first value\n");
  auto put = http_request(gyre.port(), "PUT", "/echo", "ignored",
                          {{"x-gyre-test", "one"}, {"x-gyre-test", "two"}});
  EXPECT_EQ(put.status, 200);
  EXPECT_EQ(put.body, "PUT /echo\nx-gyre-test: one,two\n");
  auto none = http_request(gyre.port(), "DELETE", "/echo/none");
  EXPECT_EQ(none.body, "DELETE /echo/none\nx-gyre-test: \n");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(CHttp, AMegabyteBodyStreamsThroughTheCCodeByteForByte) {
  GyreUp gyre(c_app("stream"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  std::string body(1 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>((i * 7919) % 251);
  auto r = http_request(gyre.port(), "POST", "/stream", body);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/octet-stream");
  EXPECT_TRUE(r.body == body) << "echoed " << r.body.size() << " bytes of " << body.size();
  auto empty = http_request(gyre.port(), "POST", "/stream");
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.body, "");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(CHttp, SixtyFourConcurrentRequestsEachGetTheirOwnAnswer) {
  GyreUp gyre(c_app("concurrent"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  std::vector<std::future<bool>> results;
  for (int i = 0; i < 64; ++i) {
    results.push_back(std::async(std::launch::async, [&, i] {
      if (i % 2 == 0) {
        auto r = http_request(gyre.port(), "GET", "/");
        return r.status == 200 && r.body == "Hello, Fermyon!\n";
      }
      const std::string path = "/echo/n/" + std::to_string(i);
      const std::string tag = "request " + std::to_string(i);
      auto r = http_request(gyre.port(), "GET", path, "", {{"x-gyre-test", tag}});
      return r.status == 200 && r.body == "GET " + path + "\nx-gyre-test: " + tag + "\n";
    }));
  }
  int correct = 0;
  for (auto& r : results)
    correct += r.get();
  EXPECT_EQ(correct, 64);
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

}  // namespace
