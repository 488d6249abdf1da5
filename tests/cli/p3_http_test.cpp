// A WASIp3 handler written in C (fixtures/c/p3hello, wit-bindgen's async bindings)
// served by the real `gyre up` over HTTP on 127.0.0.1: found by its wasi:http/handler@0.3.0
// export, its response sent once it returns it, its body read from the stream it writes
// after that, and a request body given to it as a stream.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace {

using gyre::testing::fixture_path;
using gyre::testing::GyreUp;
using gyre::testing::http_request;

// An app folder whose spin.toml routes every path to the p3 component, with `executor`
// (a TOML line, or nothing) in its trigger.
std::filesystem::path p3_app(const std::string& name, const std::string& executor = "") {
  return gyre::testing::make_app("p3-http-" + name, R"(spin_manifest_version = 2

[application]
name = "p3-http"
version = "1.0.0"

[[trigger.http]]
route = "/..."
component = "p3hello"
)" + executor + R"(

[component.p3hello]
source = ")" + fixture_path("c-p3hello") + R"("
)");
}

TEST(P3Http, AGetIsAnsweredFromTheStreamTheGuestWritesAfterReturning) {
  GyreUp gyre(p3_app("get"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto r = http_request(gyre.port(), "GET", "/greet?x=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello from p3 /greet?x=1\n");
  EXPECT_EQ(r.header("content-type"), "text/plain");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(P3Http, ARequestBodyReachesTheGuestAsAStream) {
  GyreUp gyre(p3_app("body"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto big = http_request(gyre.port(), "POST", "/count", std::string(3 << 20, 'x'));
  EXPECT_EQ(big.status, 200);
  EXPECT_EQ(big.body, "read 3145728 bytes\n");
  auto empty = http_request(gyre.port(), "PUT", "/count");
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.body, "read 0 bytes\n");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

// Spin 3.5's opt-in still works, with a warning that it is experimental.
TEST(P3Http, TheWasip3UnstableExecutorServesTheSameComponent) {
  GyreUp gyre(p3_app("unstable", R"(executor = { type = "wasip3-unstable" })"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto r = http_request(gyre.port(), "GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello from p3 /\n");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  EXPECT_NE(gyre.output().find("wasip3-unstable executor is experimental"), std::string::npos)
      << gyre.output();
}

// The same guest built against wasi:http 0.3.0, rc-2026-03-15 (the version Spin 4.0
// serves) and rc-2026-01-06 (Spin 3.6's), side by side in one app.
TEST(P3Http, TheReleaseAndItsCandidatesAreServedSideBySide) {
  GyreUp gyre(gyre::testing::make_app("p3-http-versions", R"(spin_manifest_version = 2

[application]
name = "p3-versions"

[[trigger.http]]
route = "/release/..."
component = "release"

[[trigger.http]]
route = "/candidate/..."
component = "candidate"

[[trigger.http]]
route = "/older/..."
component = "older"

[component.release]
source = ")" + fixture_path("c-p3hello") + R"("

[component.candidate]
source = ")" + fixture_path("c-p3hello-rc-2026-03-15") + R"("

[component.older]
source = ")" + fixture_path("c-p3hello-rc-2026-01-06") + R"("
)"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(http_request(gyre.port(), "GET", "/release/x").body, "hello from p3 /release/x\n");
  EXPECT_EQ(http_request(gyre.port(), "GET", "/candidate/y").body, "hello from p3 /candidate/y\n");
  auto posted = http_request(gyre.port(), "POST", "/candidate/count", "12345");
  EXPECT_EQ(posted.body, "read 5 bytes\n");
  EXPECT_EQ(http_request(gyre.port(), "GET", "/older/z").body, "hello from p3 /older/z\n");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

// wasi:clocks and wasi:random 0.3 from the same guest: a wait of 50 ms that lasts at
// least that long on the monotonic clock, and 8 random bytes, new each time.
TEST(P3Http, AGuestWaitsWithWasiClocksAndDrawsWasiRandom) {
  GyreUp gyre(p3_app("clocks"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto waited = http_request(gyre.port(), "GET", "/wait/50");
  EXPECT_EQ(waited.status, 200);
  ASSERT_TRUE(waited.body.starts_with("waited ")) << waited.body;
  EXPECT_GE(std::stoul(waited.body.substr(7)), 50u) << waited.body;
  auto first = http_request(gyre.port(), "GET", "/random");
  auto second = http_request(gyre.port(), "GET", "/random");
  EXPECT_EQ(first.body.size(), std::string("random 0123456789abcdef\n").size()) << first.body;
  EXPECT_TRUE(first.body.starts_with("random ")) << first.body;
  EXPECT_NE(first.body, second.body);
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

// wasi:cli 0.3's stdout: what the guest writes into the stream it hands over reaches the
// component's log, as 0.2's stdout does.
TEST(P3Http, WhatAGuestWritesToItsStdoutStreamReachesItsLog) {
  const auto dir = p3_app("stdout");
  {
    GyreUp gyre(dir);
    ASSERT_NE(gyre.port(), 0) << gyre.output();
    auto logged = http_request(gyre.port(), "GET", "/log/a-line-from-p3");
    EXPECT_EQ(logged.body, "logged\n");
    EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  }
  std::ifstream log(dir / ".spin" / "logs" / "p3hello_stdout.txt");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("a-line-from-p3\n"), std::string::npos) << text.str();
}

// A p3 guest that traps ends its own request, with a 500 before its response, or a cut
// body after: the server goes on serving.
TEST(P3Http, ATrappingGuestEndsOnlyItsOwnRequest) {
  GyreUp gyre(p3_app("trap"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto trapped = http_request(gyre.port(), "GET", "/trap");
  EXPECT_EQ(trapped.status, 500);
  auto later = http_request(gyre.port(), "GET", "/trap-later");
  EXPECT_NE(later.body, "hello from p3 /trap-later\n");
  auto fine = http_request(gyre.port(), "GET", "/after");
  EXPECT_EQ(fine.status, 200);
  EXPECT_EQ(fine.body, "hello from p3 /after\n");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  EXPECT_NE(gyre.output().find("component p3hello failed"), std::string::npos) << gyre.output();
}

}  // namespace
