// `gyre up` as a user runs it: the real binary on an app folder whose components the
// Spin SDKs built, spoken to over real HTTP on 127.0.0.1, stopped with SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace {

using gyre::testing::fixture_path;
using gyre::testing::http_request;

using Gyre = gyre::testing::GyreUp;
using gyre::testing::make_app;

std::string demo_manifest() {
  return R"(spin_manifest_version = 2

[application]
name = "demo"
version = "1.0.0"

[[trigger.http]]
route = "/js/..."
component = "js"

[[trigger.http]]
route = "/py/..."
component = "py"

[[trigger.http]]
route = "/static"
static_response = { status_code = 201, headers = { "content-type" = "text/plain", "x-from" = "gyre" }, body = "made by the host\n" }

[component.js]
source = ")" +
         fixture_path("js-hello") +
         R"("

[component.py]
source = ")" +
         fixture_path("python-hello") +
         R"("
)";
}

TEST(Up, ServesSdkComponentsStaticResponsesAndSpinsOwnPaths) {
  Gyre gyre(make_app("serve", demo_manifest()));
  ASSERT_NE(gyre.port(), 0) << gyre.output();

  auto js = http_request(gyre.port(), "GET", "/js/hello?x=1");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "hello from javascript: GET /js/hello\n");
  EXPECT_EQ(js.header("content-type"), "text/plain");

  auto py = http_request(gyre.port(), "POST", "/py/a/b?q=2", "a request body");
  EXPECT_EQ(py.status, 200);
  EXPECT_EQ(py.body, "hello from python: POST /py/a/b?q=2\n");

  auto fixed = http_request(gyre.port(), "GET", "/static");
  EXPECT_EQ(fixed.status, 201);
  EXPECT_EQ(fixed.body, "made by the host\n");
  EXPECT_EQ(fixed.header("x-from"), "gyre");

  EXPECT_EQ(http_request(gyre.port(), "GET", "/nowhere").status, 404);
  auto health = http_request(gyre.port(), "GET", "/.well-known/spin/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "OK");

  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  // The routes were listed at start-up, and the shutdown was graceful.
  EXPECT_NE(gyre.output().find("js: http://127.0.0.1:"), std::string::npos) << gyre.output();
  EXPECT_NE(gyre.output().find("Shutting down"), std::string::npos) << gyre.output();
}

TEST(Up, ManyConcurrentRequestsAreEachAnsweredCorrectly) {
  Gyre gyre(make_app("concurrent", demo_manifest()));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  std::vector<std::future<bool>> results;
  // 200 connections at once, each its own request: components and static routes mixed.
  for (int i = 0; i < 200; ++i) {
    results.push_back(std::async(std::launch::async, [&, i] {
      if (i % 4 == 3) {
        auto r = http_request(gyre.port(), "GET", "/static");
        return r.status == 201 && r.body == "made by the host\n";
      }
      const std::string path = "/js/n/" + std::to_string(i);
      auto r = http_request(gyre.port(), "GET", path);
      return r.status == 200 && r.body == "hello from javascript: GET " + path + "\n";
    }));
  }
  int correct = 0;
  for (auto& r : results)
    correct += r.get();
  EXPECT_EQ(correct, 200);
  EXPECT_EQ(gyre.stop(), 0);
}

std::string echo_manifest() {
  return R"(spin_manifest_version = 2

[application]
name = "echo"

[[trigger.http]]
route = "/users/:id/..."
component = "echo"

[component.echo]
source = ")" +
         fixture_path("js-echo") +
         R"("
)";
}

TEST(Up, ARequestBodyStreamsIntoTheComponentAndBackByteForByte) {
  Gyre gyre(make_app("echo", echo_manifest()));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  std::string body(10 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>((i * 7919) % 251);
  auto echoed = http_request(gyre.port(), "POST", "/users/42/upload", body);
  EXPECT_EQ(echoed.status, 200);
  EXPECT_EQ(echoed.header("x-received-bytes"), std::to_string(body.size()));
  EXPECT_TRUE(echoed.body == body)
      << "echoed " << echoed.body.size() << " bytes of " << body.size();
  EXPECT_EQ(gyre.stop(), 0);
}

TEST(Up, TheComponentSeesSpinsRequestHeaders) {
  Gyre gyre(make_app("headers", echo_manifest()));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto r = http_request(gyre.port(), "GET", "/users/42/a/headers?x=1");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string host = "127.0.0.1:" + std::to_string(gyre.port());
  for (const std::string& expected :
       {std::string(R"("spin-full-url":"http://)") + host + R"(/users/42/a/headers?x=1")",
        std::string(R"("spin-path-info":"/a/headers")"),
        std::string(R"("spin-matched-route":"/users/:id/...")"),
        std::string(R"("spin-component-route":"/users/:id")"),
        std::string(R"("spin-raw-component-route":"/users/:id/...")"),
        std::string(R"("spin-base-path":"/")"), std::string(R"("spin-path-match-id":"42")"),
        std::string(R"("spin-client-addr":"127.0.0.1:)")}) {
    EXPECT_NE(r.body.find(expected), std::string::npos) << expected << "\nin " << r.body;
  }
  EXPECT_EQ(gyre.stop(), 0);
}

TEST(Up, ADeadlineEndsAGuestStuckInALoopWithA500AndTheServerGoesOn) {
  Gyre gyre(make_app("deadline", echo_manifest()), {"--deadline", "300"});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto stuck = http_request(gyre.port(), "GET", "/users/1/forever");
  EXPECT_EQ(stuck.status, 500);
  auto fine = http_request(gyre.port(), "GET", "/users/1/headers");
  EXPECT_EQ(fine.status, 200);
  EXPECT_EQ(gyre.stop(), 0);
  EXPECT_NE(gyre.output().find("deadline exceeded"), std::string::npos) << gyre.output();
}

TEST(Up, AMalformedManifestNamesFileLineAndKeyAndNothingListens) {
  const auto app = make_app("bad",
                            "spin_manifest_version = 2\n[application]\nname = "
                            "\"x\"\n\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"missing\"\n");
  auto out = gyre::testing::run_command(std::string(GYRE_BINARY) + " up -f '" + app.string() +
                                        "' --listen 127.0.0.1:0");
  EXPECT_NE(out.status, 0);
  EXPECT_NE(out.text.find("spin.toml:"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("missing"), std::string::npos) << out.text;
  EXPECT_EQ(out.text.find("Serving"), std::string::npos) << out.text;
}

TEST(Up, AMissingSourceNamesTheComponentAndThePath) {
  const auto app = make_app(
      "nosource",
      "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\n"
      "route = \"/\"\ncomponent = \"web\"\n\n[component.web]\nsource = \"target/web.wasm\"\n");
  auto out = gyre::testing::run_command(std::string(GYRE_BINARY) + " up -f '" + app.string() +
                                        "' --listen 127.0.0.1:0");
  EXPECT_NE(out.status, 0);
  EXPECT_NE(out.text.find("component `web`"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("target/web.wasm"), std::string::npos) << out.text;
}

TEST(Up, AComponentImportingWhatTheHostLacksFailsAtStartUpNamingEveryImport) {
  // One interface the host has none of, and one it has without one of the functions.
  const auto component = gyre::testing::assemble(R"((component
    (import "gyre:absent/thing@1.0.0" (instance
      (export "one" (func))
      (export "two" (func (param "x" u32) (result u32)))))
    (import "wasi:cli/environment@0.2.0" (instance
      (export "get-arguments" (func (result (list string))))
      (export "made-up" (func))))
  ))");
  const auto app = make_app("strict",
                            "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n"
                            "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n\n"
                            "[component.web]\nsource = \"web.wasm\"\n");
  std::ofstream(app / "web.wasm", std::ios::binary)
      .write(reinterpret_cast<const char*>(component.data()),
             static_cast<std::streamsize>(component.size()));
  auto out = gyre::testing::run_command(std::string(GYRE_BINARY) + " up -f '" + app.string() +
                                        "' --listen 127.0.0.1:0");
  EXPECT_NE(out.status, 0);
  EXPECT_NE(out.text.find("component `web`: the host does not provide 3 of the functions"),
            std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("\n  gyre:absent/thing@1.0.0\n"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("\n  wasi:cli/environment@0.2.0: made-up"), std::string::npos)
      << out.text;
  EXPECT_EQ(out.text.find("get-arguments"), std::string::npos) << out.text;
  EXPECT_EQ(out.text.find("Serving"), std::string::npos) << out.text;
}

}  // namespace

namespace {

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(Up, AComponentReadsItsFilesAtTheirDestinationsAndNothingElse) {
  const auto dir = make_app("files", R"(spin_manifest_version = 2
[application]
name = "files"
[[trigger.http]]
route = "/..."
component = "files"
[component.files]
source = ")" + fixture_path("python-files") +
                                         R"("
files = ["assets/hello.txt", { source = "data", destination = "/data" }, "glob/*.md"]
exclude_files = ["glob/secret.md"]
environment = { GREETING = "hi from the manifest" }
)");
  write(dir / "assets" / "hello.txt", "hello file\n");
  write(dir / "assets" / "other.txt", "not mounted\n");
  write(dir / "data" / "a.txt", "a");
  write(dir / "data" / "sub" / "b.txt", std::string(100000, 'b'));
  write(dir / "glob" / "x.md", "# x\n");
  write(dir / "glob" / "secret.md", "excluded\n");
  write(dir / "secret.txt", "never visible\n");
  Gyre gyre(dir, {"--env", "FROM_FLAG=flag value"});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto get = [&](const std::string& target) { return http_request(gyre.port(), "GET", target); };

  EXPECT_EQ(get("/read?/assets/hello.txt").body, "hello file\n");
  EXPECT_EQ(get("/read?/data/a.txt").body, "a");
  EXPECT_EQ(get("/read?/data/sub/b.txt").body, std::string(100000, 'b'));
  EXPECT_EQ(get("/read?/glob/x.md").body, "# x\n");
  EXPECT_EQ(get("/list?/").body, "assets\ndata\nglob");
  EXPECT_EQ(get("/list?/data").body, "a.txt\nsub");
  EXPECT_EQ(get("/list?/glob").body, "x.md");
  for (const char* hidden :
       {"/read?/glob/secret.md", "/read?/assets/other.txt", "/read?/secret.txt",
        "/read?/../secret.txt", "/read?/data/../../secret.txt", "/read?/etc/passwd"}) {
    auto r = get(hidden);
    EXPECT_EQ(r.status, 404) << hidden << ": " << r.body;
  }
  auto written = get("/write?/data/new.txt");
  EXPECT_EQ(written.status, 404) << written.body;
  EXPECT_FALSE(std::filesystem::exists(dir / "data" / "new.txt"));

  EXPECT_EQ(get("/env?GREETING").body, "hi from the manifest");
  EXPECT_EQ(get("/env?FROM_FLAG").body, "flag value");
  EXPECT_EQ(get("/env?HOME").status, 404);  // the host's environment stays the host's
}

TEST(Up, LogsGoToTheStateDirAndFollowNamesOnlyComponentsOfTheApp) {
  const auto dir = make_app("logs", demo_manifest());
  const auto state = dir / "state";
  {
    Gyre gyre(dir, {"--state-dir", state.string(), "--follow", "py"});
    ASSERT_NE(gyre.port(), 0) << gyre.output();
    EXPECT_EQ(http_request(gyre.port(), "GET", "/js/x").status, 200);
    gyre.stop();
  }
  EXPECT_TRUE(std::filesystem::exists(state / "logs" / "js_stdout.txt"));
  EXPECT_TRUE(std::filesystem::exists(state / "logs" / "py_stderr.txt"));

  auto unknown = gyre::testing::run_command(std::string(GYRE_BINARY) + " up -f " + dir.string() +
                                            " --follow nobody 2>&1");
  EXPECT_NE(unknown.status, 0);
  EXPECT_NE(unknown.text.find("The following component(s) specified in --follow do not exist in "
                              "the application:\n  - nobody\nThe following components exist:\n"
                              "  - js\n  - py"),
            std::string::npos)
      << unknown.text;
}

}  // namespace

namespace {

TEST(Up, WagiModulesAnswerAsCgiWithSpinsVariablesArgvAndStdin) {
  const auto dir = make_app("wagi", R"(spin_manifest_version = 2
[application]
name = "wagi"
[[trigger.http]]
route = "/hello"
component = "hello"
executor = { type = "wagi" }
[[trigger.http]]
route = "/env/..."
component = "env"
executor = { type = "wagi", argv = "${SCRIPT_NAME} first ${ARGS}" }
[component.hello]
source = ")" + fixture_path("wagi-hello") +
                                        R"("
[component.env]
source = ")" + fixture_path("wagi-env") +
                                        R"("
environment = { FROM_MANIFEST = "yes" }
)");
  Gyre gyre(dir);
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto hello = http_request(gyre.port(), "GET", "/hello");
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.header("content-type"), "text/plain");
  EXPECT_EQ(hello.body, "Hello, Wagi!\n");

  auto env = http_request(gyre.port(), "POST", "/env/a/b?x=1&y=2", "the body");
  EXPECT_EQ(env.status, 200) << env.body;
  for (const char* line :
       {"arg /env/a/b\n", "arg first\n", "arg x=1\n", "arg y=2\n", "env FROM_MANIFEST=yes\n",
        "env REQUEST_METHOD=POST\n", "env QUERY_STRING=x=1&y=2\n", "env X_MATCHED_ROUTE=/env/...\n",
        "stdin the body"}) {
    EXPECT_NE(env.body.find(line), std::string::npos) << line << " in\n" << env.body;
  }
  gyre.stop();
  EXPECT_NE(gyre.output().find("hello: serving a request"), std::string::npos);
}

}  // namespace
