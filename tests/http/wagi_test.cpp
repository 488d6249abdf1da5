// The wagi executor over real sockets: the C fixtures in fixtures/wagi (wasm32-wasip1
// command modules) behind Spin's routing and the HTTP server, checked against what Spin
// 3.6 gives a Wagi module and makes of its output. Below them, WASI preview1 itself
// through small hand-written modules: every import links, bad pointers are EFAULT, and
// proc_exit ends a run with its code.
#include "http/wagi.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "http/server.hpp"
#include "support/engine.hpp"
#include "support/http_client.hpp"
#include "support/log_lines.hpp"
#include "support/process.hpp"
#include "wasi/preview1.hpp"
#include "wasm/store.hpp"
#include "wasm/wat.hpp"

namespace gyre::http {
namespace {

using gyre::testing::fixture_path;
using gyre::testing::http_request;
using gyre::testing::HttpResponse;
using gyre::testing::read_file;

// What the env fixture printed: its arguments, its environment in order, its stdin.
struct EnvReport {
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string stdin_data;

  std::optional<std::string> var(const std::string& name) const {
    for (const auto& [k, v] : env)
      if (k == name) return v;
    return std::nullopt;
  }
};

EnvReport parse_report(const std::string& body) {
  EnvReport report;
  size_t pos = 0;
  while (pos < body.size()) {
    if (body.compare(pos, 6, "stdin ") == 0) {
      report.stdin_data = body.substr(pos + 6);
      break;
    }
    const size_t eol = body.find('\n', pos);
    const std::string line = body.substr(pos, eol - pos);
    pos = eol == std::string::npos ? body.size() : eol + 1;
    if (line.starts_with("arg ")) report.args.push_back(line.substr(4));
    if (line.starts_with("env ")) {
      const size_t eq = line.find('=');
      report.env.emplace_back(line.substr(4, eq - 4), line.substr(eq + 1));
    }
  }
  return report;
}

// An app of wagi routes behind Spin's routing, served on 127.0.0.1 with a worker pool.
class WagiApp {
 public:
  struct Route {
    std::string id;
    std::string route;
    std::string fixture;
    WagiOptions options;
  };

  explicit WagiApp(std::vector<Route> routes) : engine_(gyre::testing::test_engine()) {
    std::vector<RouteEntry> entries;
    std::vector<RoutingHandler::Target> targets;
    for (auto& route : routes) {
      entries.push_back({route.id, RouteConfig::route(route.route)});
      route.options.stderr_sink = [this, id = route.id](std::string_view text) {
        std::lock_guard lock(mutex_);
        stderr_[id] += text;
      };
      const auto bytes = read_file(fixture_path(route.fixture));
      auto module = WagiModule::create(*engine_, route.id, bytes, std::move(route.options));
      EXPECT_TRUE(module.ok()) << (module.ok() ? "" : module.error().message);
      if (!module.ok()) return;
      targets.push_back(
          {route.id, std::make_shared<WagiHandler>(route.id, *module, *workers_, log_.logger())});
    }
    auto router = Router::build("/", entries);
    EXPECT_TRUE(router.ok());
    ServerConfig config;
    config.listen = "127.0.0.1:0";
    auto server = Server::start(
        config, std::make_shared<RoutingHandler>(std::move(router).value(), targets, "{}"));
    EXPECT_TRUE(server.ok());
    if (server.ok()) server_ = std::move(server).value();
  }

  uint16_t port() const { return server_ ? server_->local_endpoint().port() : 0; }

  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = "",
                       const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return http_request(port(), method, target, body, headers);
  }

  std::vector<std::string> log() { return log_.lines(); }
  std::string stderr_of(const std::string& id) {
    std::lock_guard lock(mutex_);
    return stderr_[id];
  }

 private:
  // Destroyed bottom-up: the workers finish their guests while the server and engine live.
  std::unique_ptr<wasm::Engine> engine_;
  std::mutex mutex_;
  testing::LogLines log_;
  std::map<std::string, std::string> stderr_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<WorkerPool> workers_ = std::make_unique<WorkerPool>(2);
};

// ---- the fixtures over HTTP -------------------------------------------------------------

TEST(Wagi, HelloAnswersWithItsStatusTypeAndBodyAndLogsItsStderr) {
  WagiApp app({{"hello", "/hello", "wagi-hello", {}}});
  const HttpResponse response = app.request("GET", "/hello");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("content-type"), "text/plain");
  EXPECT_EQ(response.body, "Hello, Wagi!\n");
  EXPECT_EQ(app.stderr_of("hello"), "hello: serving a request\n");
  EXPECT_TRUE(app.log().empty());
}

TEST(Wagi, SetsEveryCgiVariableAndArgvAsSpinDoes) {
  WagiOptions options;
  options.environment = {{"GREETING", "hi there"}};
  WagiApp app({{"env", "/env/:name/...", "wagi-env", options}});
  const std::string port = std::to_string(app.port());
  const HttpResponse response = app.request("GET", "/env/alpha/b%20c/d?x=1&y=two", "",
                                            {{"X-Custom", "yes"},
                                             {"Authorization", "Bearer secret"},
                                             {"Content-Type", "text/plain"},
                                             {"X-Twice", "first"},
                                             {"x-twice", "second"}});
  ASSERT_EQ(response.status, 200) << response.body;
  const EnvReport report = parse_report(response.body);

  EXPECT_EQ(report.args, (std::vector<std::string>{"/env/alpha/b%20c/d", "x=1", "y=two"}));
  // The component's environment comes first.
  ASSERT_FALSE(report.env.empty());
  EXPECT_EQ(report.env.front(), (std::pair<std::string, std::string>{"GREETING", "hi there"}));

  const std::map<std::string, std::string> expected = {
      {"AUTH_TYPE", ""},
      {"CONTENT_LENGTH", "0"},
      {"CONTENT_TYPE", ""},  // Spin reads it from a header named content_type
      {"GATEWAY_INTERFACE", "CGI/1.1"},
      {"PATH_INFO", "/b%20c/d"},
      {"PATH_TRANSLATED", "/b c/d"},
      {"QUERY_STRING", "x=1&y=two"},
      {"REMOTE_ADDR", "127.0.0.1"},
      {"REMOTE_HOST", "127.0.0.1"},
      {"REMOTE_USER", ""},
      {"REQUEST_METHOD", "GET"},
      {"SCRIPT_NAME", "/env/:name"},
      {"SERVER_NAME", "127.0.0.1"},
      {"SERVER_PORT", port},
      {"SERVER_PROTOCOL", "HTTP/1.1"},
      {"SERVER_SOFTWARE", "WAGI/1"},
      {"X_BASE_PATH", "/"},
      {"X_COMPONENT_ROUTE", "/env/:name"},
      {"X_FULL_URL", "http://127.0.0.1:" + port + "/env/alpha/b%20c/d?x=1&y=two"},
      {"X_MATCHED_ROUTE", "/env/:name/..."},
      {"X_PATH_MATCH_NAME", "alpha"},
      {"X_RAW_COMPONENT_ROUTE", "/env/:name/..."},
      {"X_RAW_PATH_INFO", "/b%20c/d"},
      {"HTTP_HOST", "127.0.0.1:" + port},
      {"HTTP_X_CUSTOM", "yes"},
      {"HTTP_CONTENT_TYPE", "text/plain"},
      {"HTTP_CONTENT_LENGTH", "0"},
      {"HTTP_X_TWICE", "second"},
  };
  for (const auto& [name, value] : expected)
    EXPECT_EQ(report.var(name), value) << name;
  EXPECT_TRUE(report.var("X_CLIENT_ADDR").value_or("").starts_with("127.0.0.1:"));
  EXPECT_FALSE(report.var("HTTP_AUTHORIZATION"));
  EXPECT_FALSE(report.var("HTTP_CONNECTION"));
  EXPECT_EQ(report.stdin_data, "");
}

TEST(Wagi, DefaultArgvWithoutAQueryEndsInAnEmptyArgument) {
  WagiApp app({{"env", "/env", "wagi-env", {}}});
  const EnvReport report = parse_report(app.request("GET", "/env").body);
  // "${SCRIPT_NAME} ${ARGS}" with no arguments is "/env ", split at the space.
  EXPECT_EQ(report.args, (std::vector<std::string>{"/env", ""}));
  EXPECT_EQ(report.var("SCRIPT_NAME"), "/env");
  EXPECT_EQ(report.var("PATH_INFO"), "");
  EXPECT_EQ(report.var("QUERY_STRING"), "");
}

TEST(Wagi, ArgvTemplateFromTheExecutor) {
  WagiOptions options;
  options.argv = "prog --path=${SCRIPT_NAME} ${ARGS}";
  WagiApp app({{"env", "/custom/...", "wagi-env", options}});
  const EnvReport report = parse_report(app.request("GET", "/custom/x?a=1&b=2").body);
  EXPECT_EQ(report.args, (std::vector<std::string>{"prog", "--path=/custom/x", "a=1", "b=2"}));
}

TEST(Wagi, TheRequestBodyIsStdin) {
  WagiApp app({{"env", "/env", "wagi-env", {}}});
  std::string body = "first line\nsecond line\n";
  for (int i = 0; i < 20000; ++i)
    body += "0123456789abcdef";  // past one read chunk of the server and of stdio
  const HttpResponse response =
      app.request("POST", "/env", body, {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(response.status, 200);
  const EnvReport report = parse_report(response.body);
  EXPECT_EQ(report.stdin_data, body);
  EXPECT_EQ(report.var("CONTENT_LENGTH"), std::to_string(body.size()));
  EXPECT_EQ(report.var("REQUEST_METHOD"), "POST");
}

TEST(Wagi, ContentTypeQuirkReadsAHeaderNamedContentUnderscoreType) {
  WagiApp app({{"env", "/env", "wagi-env", {}}});
  const EnvReport report =
      parse_report(app.request("GET", "/env", "", {{"Content_Type", "odd/one"}}).body);
  EXPECT_EQ(report.var("CONTENT_TYPE"), "odd/one");
}

class WagiEcho : public ::testing::Test {
 protected:
  static WagiOptions with_deadline() {
    WagiOptions options;
    options.deadline = std::chrono::milliseconds(100);
    return options;
  }
  // The echo fixture prints the request body as its CGI output; /slow is the same module
  // with a deadline.
  WagiApp app_{{{"echo", "/echo", "wagi-echo", {}},
                {"slow", "/slow", "wagi-echo", with_deadline()},
                {"hello", "/hello", "wagi-hello", {}}}};
};

TEST_F(WagiEcho, StatusHeaderSetsTheStatus) {
  const HttpResponse response =
      app_.request("POST", "/echo", "Status: 404 Not Found\nContent-Type: text/plain\n\nmissing");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.header("content-type"), "text/plain");
  EXPECT_EQ(response.body, "missing");
}

TEST_F(WagiEcho, LocationWithoutStatusIsARedirect) {
  const HttpResponse response = app_.request("POST", "/echo", "Location: /elsewhere\n\n");
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.header("location"), "/elsewhere");
  EXPECT_EQ(response.body, "");
}

TEST_F(WagiEcho, StatusWinsOverLocation) {
  const HttpResponse response = app_.request("POST", "/echo", "Location: /moved\nStatus: 301\n\n");
  EXPECT_EQ(response.status, 301);
  EXPECT_EQ(response.header("location"), "/moved");
}

TEST_F(WagiEcho, UnreadableStatusIsABadGateway) {
  const HttpResponse response =
      app_.request("POST", "/echo", "Status: fine\nContent-Type: text/plain\n\nbody");
  EXPECT_EQ(response.status, 502);
  EXPECT_EQ(response.body, "body");
}

TEST_F(WagiEcho, CrlfHeadersOtherHeadersAndTheServersOwnLength) {
  const HttpResponse response = app_.request(
      "POST", "/echo",
      "Content-Type: text/html\r\nX-Extra: one\r\nContent-Length: 999\r\n\r\n<p>hi</p>\r\n");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("content-type"), "text/html");
  EXPECT_EQ(response.header("x-extra"), "one");
  EXPECT_EQ(response.header("content-length"), "11");
  EXPECT_EQ(response.body, "<p>hi</p>\r\n");
}

TEST_F(WagiEcho, OutputWithoutAResponseHeaderIsA500SayingSo) {
  for (const std::string output : {"X-Only: 1\n\nbody", "garbage without any header section"}) {
    const HttpResponse response = app_.request("POST", "/echo", output);
    EXPECT_EQ(response.status, 500) << output;
    EXPECT_EQ(response.body, "Exactly one of 'location' or 'content-type' must be specified");
  }
  EXPECT_EQ(app_.log().size(), 2u);
}

TEST_F(WagiEcho, NoOutputIsA500) {
  const HttpResponse response = app_.request("POST", "/echo", "");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body, "");
  ASSERT_EQ(app_.log().size(), 1u);
  EXPECT_NE(app_.log()[0].find("did not write to stdout"), std::string::npos);
}

TEST_F(WagiEcho, ATrapIsA500AndTheServerGoesOn) {
  const HttpResponse trapped =
      app_.request("POST", "/echo?trap", "Content-Type: text/plain\n\nwritten before the trap");
  EXPECT_EQ(trapped.status, 500);
  EXPECT_EQ(trapped.body, "");
  ASSERT_EQ(app_.log().size(), 1u);
  EXPECT_NE(app_.log()[0].find("component echo failed"), std::string::npos);
  EXPECT_EQ(app_.request("GET", "/hello").status, 200);
  EXPECT_EQ(app_.request("POST", "/echo", "Content-Type: text/plain\n\nagain").body, "again");
}

TEST_F(WagiEcho, ExitZeroIsSuccessAnyOtherCodeA500) {
  const std::string output = "Content-Type: text/plain\n\nexited";
  const HttpResponse clean = app_.request("POST", "/echo?exit=0", output);
  EXPECT_EQ(clean.status, 200);
  EXPECT_EQ(clean.body, "exited");
  const HttpResponse failed = app_.request("POST", "/echo?exit=3", output);
  EXPECT_EQ(failed.status, 500);
  ASSERT_EQ(app_.log().size(), 1u);
  EXPECT_NE(app_.log()[0].find("status 3"), std::string::npos);
}

TEST_F(WagiEcho, AGuestPastItsDeadlineIsA500) {
  const HttpResponse response = app_.request("POST", "/slow?loop", "Content-Type: text/plain\n\n");
  EXPECT_EQ(response.status, 500);
  ASSERT_EQ(app_.log().size(), 1u);
  EXPECT_NE(app_.log()[0].find("component slow failed"), std::string::npos);
  EXPECT_EQ(app_.request("GET", "/hello").status, 200);
}

// ---- mounted files ----------------------------------------------------------------------

class WagiFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        std::filesystem::temp_directory_path() / ("gyre-wagi-files-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "sub");
    std::ofstream(root_ / "a.txt") << "alpha";
    std::ofstream(root_ / "sub" / "b.txt") << "beta";
    // A link planted in the mounted folder that leads out of it.
    outside_ = root_.string() + "-outside.txt";
    std::ofstream(outside_) << "secret";
    std::filesystem::create_symlink(outside_, root_ / "escape.txt");
  }
  void TearDown() override {
    std::filesystem::remove_all(root_);
    std::filesystem::remove(outside_);
  }

  WagiOptions mounted() const {
    WagiOptions options;
    options.files = {{"/static/a.txt", root_ / "a.txt", root_},
                     {"/static/sub/b.txt", root_ / "sub" / "b.txt", root_},
                     {"/static/escape.txt", root_ / "escape.txt", root_},
                     {"/empty", {}, {}}};
    return options;
  }

  std::filesystem::path root_;
  std::filesystem::path outside_;
};

TEST_F(WagiFiles, FilesAreReadOnlyAtTheirGuestPaths) {
  WagiApp app({{"cat", "/cat", "wagi-cat", mounted()}});
  EXPECT_EQ(app.request("GET", "/cat?/static/a.txt").body, "alpha");
  EXPECT_EQ(app.request("GET", "/cat?/static/sub/../sub/b.txt").body, "beta");

  const HttpResponse listing = app.request("GET", "/cat?/static");
  EXPECT_EQ(listing.status, 200);
  EXPECT_EQ(listing.body, "./\n../\na.txt\nescape.txt\nsub/\n");
  EXPECT_EQ(app.request("GET", "/cat?/").body, "./\n../\nempty/\nstatic/\n");

  const HttpResponse missing = app.request("GET", "/cat?/static/nope.txt");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("No such file or directory"), std::string::npos) << missing.body;

  const HttpResponse escape = app.request("GET", "/cat?/static/escape.txt");
  EXPECT_EQ(escape.status, 404);
  EXPECT_EQ(escape.body.find("secret"), std::string::npos);

  const HttpResponse write = app.request("GET", "/cat?write=/static/new.txt");
  EXPECT_EQ(write.status, 404);
  EXPECT_FALSE(std::filesystem::exists(root_ / "new.txt"));
}

TEST_F(WagiFiles, WithoutFilesNothingIsMounted) {
  WagiApp app({{"cat", "/cat", "wagi-cat", {}}});
  EXPECT_EQ(app.request("GET", "/cat?/static/a.txt").status, 404);
  EXPECT_EQ(app.request("GET", "/cat?/").status, 404);
}

// ---- what WagiModule refuses, as Spin refuses to start ----------------------------------

TEST(WagiModule, RefusesWhatSpinRefuses) {
  auto engine = gyre::testing::test_engine();
  const auto hello = read_file(fixture_path("wagi-hello"));
  WagiOptions other_entrypoint;
  other_entrypoint.entrypoint = "main";
  auto refused = WagiModule::create(*engine, "hello", hello, other_entrypoint);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "Wagi component 'hello' cannot use deprecated 'entrypoint' field");

  auto component =
      WagiModule::create(*engine, "c", read_file(fixture_path("c-hello")), WagiOptions{});
  ASSERT_FALSE(component.ok());
  EXPECT_NE(component.error().message.find("not a core module"), std::string::npos);

  auto no_start = WagiModule::create(
      *engine, "lib", wasm::wat_to_binary("(module (func (export \"run\")))").value(), {});
  ASSERT_FALSE(no_start.ok());
  EXPECT_NE(no_start.error().message.find("failed to find wasi command interface"),
            std::string::npos);

  auto foreign = WagiModule::create(
      *engine, "foreign",
      wasm::wat_to_binary(R"((module (import "wasi_snapshot_preview1" "no_such" (func))
                                      (func (export "_start"))))")
          .value(),
      {});
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message.find("no_such"), std::string::npos);
}

// ---- the CGI pieces on their own --------------------------------------------------------

TEST(WagiCgi, ArgumentsSplitAtEverySpace) {
  EXPECT_EQ(wagi_arguments("${SCRIPT_NAME} ${ARGS}", "/a", "x&y=1&&z"),
            (std::vector<std::string>{"/a", "x", "y=1", "", "z"}));
  EXPECT_EQ(wagi_arguments("${ARGS}", "/a", ""), (std::vector<std::string>{""}));
}

TEST(WagiCgi, HeaderSectionThatIsNotUtf8IsAnError) {
  EXPECT_FALSE(parse_cgi_response("Content-Type: text/\xff\n\nbody").ok());
  auto body_bytes = parse_cgi_response("Content-Type: text/plain\n\n\xff\xfe");
  ASSERT_TRUE(body_bytes.ok());
  EXPECT_EQ(body_bytes->body, "\xff\xfe");
}

TEST(WagiCgi, CorruptLinesAndInvalidNamesAreSkipped) {
  auto response = parse_cgi_response(
      "Content-Type: text/plain\nno colon here\nBad Name: x\nX-Good:  spaced  \n\n");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->head.status, 200);
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& header : response->head.headers)
    headers.emplace_back(header.name, header.value);
  EXPECT_EQ(headers, (std::vector<std::pair<std::string, std::string>>{
                         {"content-type", "text/plain"}, {"x-good", "spaced"}}));
  EXPECT_FALSE(response->invalid);
}

// ---- preview1 through hand-written modules ----------------------------------------------

// Every preview1 function with its signature ('i' i32, 'I' i64; all return an i32 but
// proc_exit): the witx of wasi_snapshot_preview1.
constexpr std::pair<const char*, const char*> kPreview1[] = {
    {"args_get", "ii"},
    {"args_sizes_get", "ii"},
    {"environ_get", "ii"},
    {"environ_sizes_get", "ii"},
    {"clock_res_get", "ii"},
    {"clock_time_get", "iIi"},
    {"fd_advise", "iIIi"},
    {"fd_allocate", "iII"},
    {"fd_close", "i"},
    {"fd_datasync", "i"},
    {"fd_fdstat_get", "ii"},
    {"fd_fdstat_set_flags", "ii"},
    {"fd_fdstat_set_rights", "iII"},
    {"fd_filestat_get", "ii"},
    {"fd_filestat_set_size", "iI"},
    {"fd_filestat_set_times", "iIIi"},
    {"fd_pread", "iiiIi"},
    {"fd_prestat_get", "ii"},
    {"fd_prestat_dir_name", "iii"},
    {"fd_pwrite", "iiiIi"},
    {"fd_read", "iiii"},
    {"fd_readdir", "iiiIi"},
    {"fd_renumber", "ii"},
    {"fd_seek", "iIii"},
    {"fd_sync", "i"},
    {"fd_tell", "ii"},
    {"fd_write", "iiii"},
    {"path_create_directory", "iii"},
    {"path_filestat_get", "iiiii"},
    {"path_filestat_set_times", "iiiiIIi"},
    {"path_link", "iiiiiii"},
    {"path_open", "iiiiiIIii"},
    {"path_readlink", "iiiiii"},
    {"path_remove_directory", "iii"},
    {"path_rename", "iiiiii"},
    {"path_symlink", "iiiii"},
    {"path_unlink_file", "iii"},
    {"poll_oneoff", "iiii"},
    {"proc_exit", "i"},
    {"proc_raise", "i"},
    {"sched_yield", ""},
    {"random_get", "ii"},
    {"sock_accept", "iii"},
    {"sock_recv", "iiiiii"},
    {"sock_send", "iiiii"},
    {"sock_shutdown", "ii"},
};

std::string preview1_imports() {
  std::string wat;
  for (const auto& [name, params] : kPreview1) {
    wat += std::string("(import \"wasi_snapshot_preview1\" \"") + name + "\" (func $" + name +
           " (param";
    for (const char* p = params; *p; ++p)
      wat += *p == 'I' ? " i64" : " i32";
    wat += ")";
    if (std::string_view(name) != "proc_exit") wat += " (result i32)";
    wat += "))\n";
  }
  return wat;
}

// A run of a module importing all of preview1, with a 1-page memory whose first bytes
// are `data`, calling exports that return an i32.
class Preview1Run {
 public:
  Preview1Run(const std::string& functions, wasi::Preview1Config config,
              const std::string& data = "")
      : engine_(gyre::testing::test_engine(4)),
        linker_(*engine_),
        ctx_(std::move(config)),
        store_(*engine_, &ctx_) {
    EXPECT_TRUE(wasi::add_preview1(linker_).ok());
    std::string escaped;
    for (unsigned char c : data) {
      static constexpr char kHex[] = "0123456789abcdef";
      escaped += '\\';
      escaped += kHex[c >> 4];
      escaped += kHex[c & 15];
    }
    const std::string wat = "(module\n" + preview1_imports() +
                            "(memory (export \"memory\") 1)\n(data (i32.const 0) \"" + escaped +
                            "\")\n" + functions + ")";
    auto binary = wasm::wat_to_binary(wat);
    EXPECT_TRUE(binary.ok()) << (binary.ok() ? "" : binary.error().describe());
    auto module = engine_->compile(binary.value());
    EXPECT_TRUE(module.ok()) << (module.ok() ? "" : module.error().describe());
    auto pre = linker_.prepare(*module);
    EXPECT_TRUE(pre.ok()) << (pre.ok() ? "" : pre.error().describe());
    auto instance = pre->instantiate(store_);
    EXPECT_TRUE(instance.ok());
    instance_.emplace(*instance);
  }

  wasm::Result<std::vector<wasm::Value>> call(const std::string& name) {
    return instance_->func(store_.context(), name)->call(store_.context(), {});
  }
  int32_t errno_of(const std::string& name) {
    auto result = call(name);
    EXPECT_TRUE(result.ok()) << name;
    return result.ok() ? std::get<int32_t>(result.value()[0]) : -1;
  }
  uint64_t u64_at(uint32_t at) {
    uint64_t value;
    std::memcpy(&value,
                instance_->memory(store_.context(), "memory")->data(store_.context()).data() + at,
                sizeof value);
    return value;
  }
  wasi::Preview1Ctx& ctx() { return ctx_; }

 private:
  std::unique_ptr<wasm::Engine> engine_;
  wasm::Linker linker_;
  wasi::Preview1Ctx ctx_;
  wasm::Store store_;
  std::optional<wasm::Instance> instance_;
};

constexpr int32_t kEsuccess = 0, kEbadf = 8, kEfault = 21, kEspipe = 70, kEnotsup = 58,
                  kEnosys = 52;

TEST(Preview1, BadPointersAreEfaultNeverAHostCrash) {
  wasi::Preview1Config config;
  config.arguments = {"prog", "arg"};
  std::string written;
  config.stdout_sink = [&](std::string_view text) { written += text; };
  // An iovec at 0 for 5 bytes at 16 ("hello"), and one at 8 reaching past the memory.
  std::string data("\x10\0\0\0\x05\0\0\0\x60\xea\0\0\x10\x27\0\0hello", 21);
  Preview1Run run(R"(
    (func (export "iovec_list_outside") (result i32)
      (call $fd_write (i32.const 1) (i32.const 65530) (i32.const 1) (i32.const 100)))
    (func (export "buffer_outside") (result i32)
      (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 100)))
    (func (export "result_outside") (result i32)
      (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 65534)))
    (func (export "huge_count") (result i32)
      (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0x7fffffff) (i32.const 100)))
    (func (export "args_outside") (result i32)
      (call $args_get (i32.const 0xfffffff0) (i32.const 200)))
    (func (export "random_outside") (result i32)
      (call $random_get (i32.const 65000) (i32.const 1000)))
    (func (export "write") (result i32)
      (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 100)))
  )",
                  std::move(config), data);
  EXPECT_EQ(run.errno_of("iovec_list_outside"), kEfault);
  EXPECT_EQ(run.errno_of("buffer_outside"), kEfault);
  EXPECT_EQ(run.errno_of("result_outside"), kEfault);
  EXPECT_EQ(run.errno_of("huge_count"), kEfault);
  EXPECT_EQ(run.errno_of("args_outside"), kEfault);
  EXPECT_EQ(run.errno_of("random_outside"), kEfault);
  EXPECT_EQ(run.errno_of("write"), kEsuccess);
  EXPECT_EQ(written, "hello");
  EXPECT_EQ(run.u64_at(100) & 0xffffffff, 5u);
}

TEST(Preview1, StdioDoesNotSeekAndNothingIsPreopenedWithoutFiles) {
  Preview1Run run(R"(
    (func (export "seek_stdout") (result i32)
      (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 200)))
    (func (export "tell_stdin") (result i32) (call $fd_tell (i32.const 0) (i32.const 200)))
    (func (export "prestat_3") (result i32) (call $fd_prestat_get (i32.const 3) (i32.const 200)))
    (func (export "open_on_3") (result i32)
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0)
                       (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
    (func (export "write_stdin") (result i32)
      (call $fd_write (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 200)))
    (func (export "socket") (result i32)
      (call $sock_shutdown (i32.const 1) (i32.const 0)))
    (func (export "raise") (result i32) (call $proc_raise (i32.const 1)))
    (func (export "close_twice") (result i32)
      (drop (call $fd_close (i32.const 2))) (call $fd_close (i32.const 2)))
  )",
                  {});
  EXPECT_EQ(run.errno_of("seek_stdout"), kEspipe);
  EXPECT_EQ(run.errno_of("tell_stdin"), kEspipe);
  EXPECT_EQ(run.errno_of("prestat_3"), kEbadf);
  EXPECT_EQ(run.errno_of("open_on_3"), kEbadf);
  EXPECT_EQ(run.errno_of("write_stdin"), kEbadf);
  EXPECT_EQ(run.errno_of("socket"), kEnotsup);
  EXPECT_EQ(run.errno_of("raise"), kEnosys);
  EXPECT_EQ(run.errno_of("close_twice"), kEbadf);
}

// A clock that stands still at one instant.
class FixedClock final : public wasi::Clock {
 public:
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(5'000));
  }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  }
};

TEST(Preview1, ClocksReadTheGivenClockAndAZeroSleepReturnsItsEvent) {
  wasi::Preview1Config config;
  config.clock = std::make_shared<FixedClock>();
  // A relative clock subscription (userdata 42, monotonic, timeout 0) at 0.
  std::string subscription(48, '\0');
  subscription[0] = 42;
  subscription[16] = 1;
  Preview1Run run(R"(
    (func (export "wall") (result i32)
      (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 200)))
    (func (export "monotonic") (result i32)
      (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 208)))
    (func (export "poll") (result i32)
      (call $poll_oneoff (i32.const 0) (i32.const 300) (i32.const 1) (i32.const 216)))
  )",
                  std::move(config), subscription);
  EXPECT_EQ(run.errno_of("wall"), kEsuccess);
  EXPECT_EQ(run.u64_at(200), 1'700'000'000'000'000'000ull);
  EXPECT_EQ(run.errno_of("monotonic"), kEsuccess);
  EXPECT_EQ(run.u64_at(208), 5'000u);
  EXPECT_EQ(run.errno_of("poll"), kEsuccess);
  EXPECT_EQ(run.u64_at(216) & 0xffffffff, 1u);  // one event
  EXPECT_EQ(run.u64_at(300), 42u);              // its userdata
}

TEST(Preview1, ProcExitEndsTheRunWithItsCode) {
  Preview1Run run(R"(
    (func (export "exit") (result i32) (call $proc_exit (i32.const 7)) (i32.const 0))
  )",
                  {});
  auto result = run.call("exit");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(run.ctx().exit_code(), 7u);
}

}  // namespace
}  // namespace gyre::http
